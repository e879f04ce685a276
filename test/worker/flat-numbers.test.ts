// The numeric path's WASM reader (src/worker/flat-numbers.ts, assembly/kernels.ts decodeNumbers) against the JS
// reader it stands in for (numbersAt): random flat schemas, random and damaged records, both framings, laid out
// in a slot with gaps between them. Whatever record the WASM reader takes must have exactly the values and nulls
// numbersAt gives (and be one numbersAt accepts); what it leaves, numbersAt reads. Regular records must be taken:
// the point of the reader.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { StructType } from '../../src/api/data-type.ts'
import { flatReader } from '../../src/codec/flat-avro.ts'
import { avroReaderType, createDecoder } from '../../src/codec/record.ts'
import type { SlotView } from '../../src/route/ring.ts'
import { Random } from '../../src/source/generator.ts'
import { CHUNK_BYTES, CHUNK_RECORDS, FlatNumbers, flatNumbersBytes } from '../../src/worker/flat-numbers.ts'
import { damage, randomRecord, randomSchema } from '../helpers/random-avro.ts'

const NO_FIELDS: StructType = { kind: 'struct', name: 'R', fields: [] }
const SCRATCH = 64 * 1024

interface Laid { slot: SlotView, count: number }

/** Records back to back in one shared buffer, a random gap (random bytes) before each, as SlotView shows them. */
function lay (r: Random, records: readonly Uint8Array[]): Laid {
  const gaps = records.map(() => r.int(3))
  const total = records.reduce((n, b, i) => n + b.length + gaps[i]!, 0)
  const data = new Uint8Array(new SharedArrayBuffer(total + 8))
  for (let i = 0; i < data.length; i++) data[i] = r.int(256)
  const starts = new Int32Array(records.length)
  const ends = new Int32Array(records.length)
  let at = 0
  records.forEach((b, i) => {
    at += gaps[i]!
    data.set(b, at)
    starts[i] = at
    ends[i] = at + b.length
    at += b.length
  })
  return { slot: { data, starts, ends } as unknown as SlotView, count: records.length }
}

function memory (): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: 64, maximum: 1024, shared: true })
}

test('records the WASM reader takes have exactly numbersAt\'s values; it takes every regular record', () => {
  const r = new Random(20261207)
  let taken = 0
  let left = 0
  let regularLeft = 0
  let refused = 0
  for (let s = 0; s < 300; s++) {
    const schema = randomSchema(r, 1 + r.int(8))
    if (flatReader(avroReaderType(schema)) === null) continue
    for (const framing of ['raw', 'confluent'] as const) {
      const d = createDecoder({ kind: 'avro', schema: NO_FIELDS, avroSchema: schema, framing })
      const want = Uint8Array.from(d.numericFields!, n => (n === 1 && r.int(3) !== 0 ? 1 : 0))
      const layout = d.flatLayout!
      const reader = new FlatNumbers(memory(), SCRATCH, layout, want)
      assert.ok(flatNumbersBytes(layout) > CHUNK_BYTES)
      const type = avroReaderType(schema)
      const values: Record<string, unknown>[] = []
      const records = Array.from({ length: 60 }, (_, i) => {
        const v = randomRecord(r, schema)
        values.push(v)
        const body = new Uint8Array(type.toBuffer(v))
        const good = framing === 'raw' ? body : Uint8Array.from([0, 0, 0, 0, 7, ...body])
        return i % 3 === 0 ? damage(r, good) : good
      })
      const { slot, count } = lay(r, records)
      const n = schema.fields.length
      const jsVals = new Float64Array(n)
      const jsValid = new Uint8Array(n)
      const wVals = new Float64Array(n)
      const wValid = new Uint8Array(n)
      let i = 0
      while (i < count) {
        const end = reader.read(slot, i, count)
        assert.ok(end > i, 'small records always fit a chunk')
        for (; i < end; i++) {
          jsVals.fill(12345); jsValid.fill(7); wVals.fill(12345); wValid.fill(7)
          let jsError: string | null = null
          try {
            d.numbersAt!(slot.data, slot.starts[i]!, slot.ends[i]!, want, jsVals, jsValid)
          } catch (e) {
            jsError = (e as Error).message
          }
          if (jsError !== null) refused++
          const what = `schema ${JSON.stringify(schema)}, ${framing}, want [${[...want].join(',')}], bytes [${[...records[i]!].join(',')}]`
          if (reader.take(i, wVals, wValid)) {
            taken++
            assert.equal(jsError, null, `taken by WASM, refused by numbersAt (${jsError}): ${what}`)
            for (let f = 0; f < n; f++) {
              if (want[f] !== 1) continue
              assert.equal(wValid[f], jsValid[f], `field ${f} validity: ${what}`)
              if (jsValid[f] === 1) assert.ok(Object.is(wVals[f], jsVals[f]), `field ${f}: WASM ${wVals[f]}, JS ${jsVals[f]}: ${what}`)
            }
          } else {
            left++
            // An undamaged record without a NaN or a long of 2^52 or more is regular: the WASM reader must take it.
            const v = values[i]!
            const irregular = Object.values(v).some(x => (typeof x === 'number' && (Number.isNaN(x) || Math.abs(x) >= 2 ** 52)))
            if (i % 3 !== 0 && !irregular) regularLeft++
          }
        }
      }
    }
  }
  assert.equal(regularLeft, 0, `${regularLeft} regular records left to the JS reader`)
  assert.ok(taken > 5000 && left > 1000 && refused > 500, `${taken} taken, ${left} left, ${refused} refused by numbersAt`)
})

test('chunks: at most CHUNK_RECORDS records and CHUNK_BYTES bytes a read; a record larger than a chunk is left to JS', () => {
  const schema = { type: 'record', name: 'Click', fields: [{ name: 'user_id', type: 'long' }, { name: 'note', type: ['null', 'string'] }, { name: 'price', type: ['null', 'double'] }, { name: 'ts', type: 'long' }] }
  const d = createDecoder({ kind: 'avro', schema: NO_FIELDS, avroSchema: schema, framing: 'raw' })
  const type = avroReaderType(schema)
  const want = Uint8Array.from([1, 0, 1, 1])
  const reader = new FlatNumbers(memory(), SCRATCH, d.flatLayout!, want)
  const r = new Random(5)
  const make = (i: number, note: string | null): Uint8Array => new Uint8Array(type.toBuffer({ user_id: i * 7919 - 5000, note, price: i % 5 === 0 ? null : i / 8, ts: 1_765_000_000_000 + i }))
  const records: Uint8Array[] = []
  for (let i = 0; i < 3000; i++) records.push(make(i, i === 1500 ? 'x'.repeat(CHUNK_BYTES) : i % 7 === 0 ? 'note' : null))
  const { slot, count } = lay(r, records)
  const vals = new Float64Array(4)
  const valid = new Uint8Array(4)
  let i = 0
  const reads: number[] = []
  while (i < count) {
    const end = reader.read(slot, i, count)
    reads.push(end - i)
    if (end === i) {
      assert.equal(i, 1500, 'only the large record is left whole')
      i++
      continue
    }
    assert.ok(end - i <= CHUNK_RECORDS)
    assert.ok(slot.ends[end - 1]! - slot.starts[i]! <= CHUNK_BYTES)
    for (; i < end; i++) {
      assert.ok(reader.take(i, vals, valid), `record ${i}`)
      assert.deepEqual([vals[0], valid[2] === 1 ? vals[2] : null, vals[3]], [i * 7919 - 5000, i % 5 === 0 ? null : i / 8, 1_765_000_000_000 + i])
    }
  }
  assert.deepEqual(reads, [1024, 476, 0, 1024, 475], 'chunks of 1,024 records, cut before and after the large one')
})
