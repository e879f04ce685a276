// The flat-record Avro reader (src/codec/flat-avro.ts) against avsc, its reference: random flat schemas (primitives
// and unions of them), random values, and records damaged every way (cut short, extended, bytes flipped, garbage),
// each read in place from a buffer with other bytes around it, as records lie in a ring slot. Every record must give
// the same values as avsc, or the same refusal with the same message. The main thread's reading of a few fields
// (skipping the others) must give what the full decode gives whenever that accepts the record.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import avro from 'avsc'
import type { StructType } from '../../src/api/data-type.ts'
import { fieldExtractor } from '../../src/codec/field-extract.ts'
import { flatReader } from '../../src/codec/flat-avro.ts'
import { avroReaderType, createDecoder, type RecordDecoder } from '../../src/codec/record.ts'
import { Random } from '../../src/source/generator.ts'
import { damage, randomRecord, randomSchema } from '../helpers/random-avro.ts'

const NO_FIELDS: StructType = { kind: 'struct', name: 'R', fields: [] }

type Outcome = { ok: true, value: [string, unknown][] } | { ok: false, code: string, message: string }

function outcome (f: () => Record<string, unknown>): Outcome {
  try {
    // Copied at once: the flat reader reuses its record object.
    return { ok: true, value: Object.entries(f()) }
  } catch (e) {
    const err = e as { code?: string, message: string }
    return { ok: false, code: err.code ?? 'plain', message: err.message }
  }
}

/** Reads `bytes` in place, with random bytes before and after it, as a record lies in a ring slot. */
function inPlace (r: Random, d: RecordDecoder, bytes: Uint8Array): Record<string, unknown> {
  const before = r.int(8)
  const after = r.int(8)
  const data = new Uint8Array(new SharedArrayBuffer(before + bytes.length + after))
  for (let i = 0; i < data.length; i++) data[i] = r.int(256)
  data.set(bytes, before)
  return d.decodeAt(data, before, before + bytes.length)
}

test('flat Avro records read in place give exactly what avsc gives, damaged ones the same refusals', () => {
  const r = new Random(20261206)
  let schemas = 0
  let flat = 0
  let records = 0
  let refused = 0
  for (let s = 0; s < 300; s++) {
    const schema = randomSchema(r, 1 + r.int(8))
    schemas++
    if (flatReader(avroReaderType(schema)) === null) continue // an ambiguous union: avsc wraps it, and reads it
    flat++
    for (const framing of ['raw', 'confluent'] as const) {
      const d = createDecoder({ kind: 'avro', schema: NO_FIELDS, avroSchema: schema, framing })
      const type = avroReaderType(schema)
      for (let i = 0; i < 40; i++) {
        const body = new Uint8Array(type.toBuffer(randomRecord(r, schema)))
        const good = framing === 'raw' ? body : Uint8Array.from([0, 0, 0, 0, 7, ...body])
        const bytes = i < 10 ? good : damage(r, good)
        // decode() is avsc's reading (the reference); decodeAt() the flat reader's.
        const want = outcome(() => d.decode(bytes))
        const got = outcome(() => inPlace(r, d, bytes))
        assert.deepEqual(got, want, `schema ${JSON.stringify(schema)}, ${framing}, bytes [${[...bytes].join(',')}]`)
        records++
        if (!want.ok) refused++
      }
    }
  }
  assert.ok(flat > 200, `${flat} of ${schemas} schemas were flat`)
  assert.ok(refused > 1000 && refused < records - 1000, `${refused} of ${records} records refused: both kinds must be common`)
})

test('a nested, wrapped or logical-typed schema stays with avsc', () => {
  const reject = [
    { type: 'record', name: 'N', fields: [{ name: 'a', type: { type: 'record', name: 'In', fields: [{ name: 'x', type: 'int' }] } }] },
    { type: 'record', name: 'N', fields: [{ name: 'a', type: { type: 'array', items: 'int' } }] },
    { type: 'record', name: 'N', fields: [{ name: 'a', type: ['int', 'long'] }] }, // ambiguous: avsc wraps it
    { type: 'record', name: 'N', fields: [{ name: 'a', type: { type: 'long', logicalType: 'timestamp-millis' } }] },
    { type: 'record', name: 'N', fields: [{ name: 'a', type: 'bytes' }] },
    { type: 'record', name: 'N', fields: [{ name: '__proto__', type: 'int' }] }
  ]
  for (const s of reject) assert.equal(flatReader(avroReaderType(s)), null, JSON.stringify(s))
  assert.notEqual(flatReader(avroReaderType({ type: 'record', name: 'F', fields: [{ name: 'a', type: ['null', 'long'] }, { name: 'b', type: 'string' }] })), null)
  assert.ok(avro.Type.forSchema({ type: 'record', name: 'X', fields: [] }) instanceof avro.types.RecordType)
})

// The main thread routes a record by the key fields it reads with fieldExtractor (the flat reader skipping the other
// fields); the worker aggregates it under the key its full decode gives. Whenever the worker accepts a record, both
// must agree, or a key's events would be split between workers.
test('key fields read by skipping the others are what the full decode gives, whenever it accepts the record', () => {
  const r = new Random(6122026)
  let compared = 0
  for (let s = 0; s < 200; s++) {
    const schema = randomSchema(r, 1 + r.int(8))
    if (flatReader(avroReaderType(schema)) === null) continue
    const names = schema.fields.map(f => f.name)
    const wanted = names.filter(() => r.int(3) === 0)
    if (r.int(4) === 0) wanted.push('absent_field')
    for (const framing of ['raw', 'confluent'] as const) {
      const format = { kind: 'avro' as const, schema: NO_FIELDS, avroSchema: schema, framing }
      const extractor = fieldExtractor(format, wanted)
      assert.ok(extractor !== null)
      const d = createDecoder(format)
      const type = avroReaderType(schema)
      const out: unknown[] = new Array(wanted.length)
      for (let i = 0; i < 40; i++) {
        const body = new Uint8Array(type.toBuffer(randomRecord(r, schema)))
        const good = framing === 'raw' ? body : Uint8Array.from([0, 0, 0, 0, 7, ...body])
        const bytes = i < 20 ? good : damage(r, good)
        const full = outcome(() => d.decode(bytes))
        if (!full.ok) continue
        // Kafka hands over Buffers, the generator and files Uint8Arrays.
        const ok = extractor.extract(i % 2 === 0 ? Buffer.from(bytes) : bytes, out)
        assert.ok(ok, `schema ${JSON.stringify(schema)}, ${framing}, bytes [${[...bytes].join(',')}]: not read, yet the full decode accepts it`)
        const value = Object.fromEntries(full.value)
        assert.deepEqual(out, wanted.map(f => (f === 'absent_field' ? null : value[f] ?? null)), `schema ${JSON.stringify(schema)}, fields ${wanted.join(',')}`)
        compared++
      }
    }
  }
  assert.ok(compared > 5000, `${compared} records compared`)
})

// The worker's numeric path (worker/numeric-rows.ts) reads a record's numeric fields with numbersAt instead of
// decodeAt: for every record, good or damaged, it must refuse what decodeAt refuses with the same error, and
// otherwise give each kept field's value exactly (−0, NaN and nulls included).
test('numbers read by numbersAt are what decodeAt gives, and damaged records the same refusals', () => {
  const r = new Random(20261207)
  let compared = 0
  let refused = 0
  for (let s = 0; s < 300; s++) {
    const schema = randomSchema(r, 1 + r.int(8))
    if (flatReader(avroReaderType(schema)) === null) continue
    for (const framing of ['raw', 'confluent'] as const) {
      const d = createDecoder({ kind: 'avro', schema: NO_FIELDS, avroSchema: schema, framing })
      assert.ok(d.numbersAt !== undefined && d.numericFields !== undefined && d.fieldNames !== undefined)
      assert.deepEqual(d.fieldNames, schema.fields.map(f => f.name))
      const numeric = d.numericFields
      // A field is numeric when every branch of it is null or a number, and it is not null alone.
      schema.fields.forEach((f, i) => {
        const kinds = Array.isArray(f.type) ? f.type as string[] : [f.type as string]
        const expected = kinds.every(k => ['null', 'int', 'long', 'float', 'double'].includes(k)) && kinds.some(k => k !== 'null')
        assert.equal(numeric[i], expected ? 1 : 0, `field ${JSON.stringify(f)}`)
      })
      const want = Uint8Array.from(numeric, n => (n === 1 && r.int(3) !== 0 ? 1 : 0))
      const type = avroReaderType(schema)
      const vals = new Float64Array(schema.fields.length)
      const valid = new Uint8Array(schema.fields.length)
      for (let i = 0; i < 40; i++) {
        const body = new Uint8Array(type.toBuffer(randomRecord(r, schema)))
        const good = framing === 'raw' ? body : Uint8Array.from([0, 0, 0, 0, 7, ...body])
        const bytes = i < 10 ? good : damage(r, good)
        const before = r.int(8)
        const data = new Uint8Array(new SharedArrayBuffer(before + bytes.length + r.int(8)))
        for (let j = 0; j < data.length; j++) data[j] = r.int(256)
        data.set(bytes, before)
        const full = outcome(() => d.decodeAt(data, before, before + bytes.length))
        vals.fill(12345)
        valid.fill(7)
        const got = outcome(() => {
          d.numbersAt!(data, before, before + bytes.length, want, vals, valid)
          const o: Record<string, unknown> = {}
          schema.fields.forEach((f, j) => { if (want[j] === 1) o[f.name] = valid[j] === 1 ? vals[j] : null })
          return o
        })
        const expected: Outcome = full.ok
          ? { ok: true, value: full.value.filter(([name]) => want[schema.fields.findIndex(f => f.name === name)] === 1) }
          : full
        assert.deepEqual(got, expected, `schema ${JSON.stringify(schema)}, ${framing}, want [${[...want].join(',')}], bytes [${[...bytes].join(',')}]`)
        compared++
        if (!full.ok) refused++
      }
    }
  }
  assert.ok(compared > 10000 && refused > 1000, `${compared} records compared, ${refused} refused`)
})
