// The generator source draws events of plain-number schemas (the benchmarks' clicks events) in its numbers mode:
// values kept in a Float64Array and written straight as Avro. Its records must be, byte for byte and in order, what
// the general path writes — generateEvents' values through the compiled Avro encoder, which tests replay as their
// oracle and bench:flink's Java generator reproduces — for every option that changes the draws (Zipf keys, nulls,
// late and disordered events, partitions) and every number type it takes.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { compileEncoder } from '../../src/codec/avro.ts'
import { ByteWriter, toHex } from '../../src/codec/bytes.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { generateEvents, generatorSchema, numbersOnly, openGeneratorSource, parseGeneratorOptions } from '../../src/source/generator.ts'
import type { RecordPusher } from '../../src/source/source.ts'
import { repoRoot } from '../helpers/reference.ts'

const plan = compilePlan(JSON.parse(readFileSync(join(repoRoot, 'examples/group_bys/clicks.v1.json'), 'utf8')))

const nullable = (type: unknown): unknown => ['null', type]
const WIDE = {
  type: 'record',
  name: 'Wide',
  fields: [
    { name: 'flag', type: nullable('boolean') },
    { name: 'user_id', type: nullable('int') },
    { name: 'score', type: nullable('float') },
    { name: 'price', type: nullable('double') },
    { name: 'n', type: nullable('long') },
    { name: 'ts', type: nullable({ type: 'long', logicalType: 'timestamp-micros' }) }
  ]
}

/** Every record the source pushes, as hex. */
async function sourceRecords (spec: string, given?: unknown): Promise<string[]> {
  const source = openGeneratorSource(plan, parseGeneratorOptions(spec), given)
  const out: string[] = []
  const pusher = {
    assigned: async (ps: readonly number[]) => new Map(ps.map(p => [p, 0])),
    pushKeyed: (_k: readonly unknown[], _t: number, data: Uint8Array, start: number, end: number) => { out.push(toHex(data.subarray(start, end))); return undefined },
    push: (bytes: Uint8Array) => { out.push(toHex(bytes)); return undefined },
    flush: async () => {}
  } as unknown as RecordPusher
  await source.run(pusher, new AbortController().signal)
  return out
}

/** The same records through generateEvents' values and the compiled encoder. */
function generalRecords (spec: string, given?: unknown): string[] {
  const opts = parseGeneratorOptions(spec)
  const { schema, roles } = generatorSchema(plan, opts, given)
  const encode = compileEncoder(schema)
  const w = new ByteWriter(64)
  const out: string[] = []
  for (const ev of generateEvents(plan, opts, schema, roles)) {
    w.reset()
    encode(w, ev.values)
    out.push(toHex(w.buf.subarray(0, w.pos)))
  }
  return out
}

test('numbers mode: the source writes the bytes of the general path, for every option that changes the draws', async () => {
  const specs = [
    'keys=100000,count=20000,seed=7,start=1700000000000,step=1',
    'keys=100000,zipf=1.1,count=20000,seed=7,start=1700000000000,step=1',
    'keys=50,count=20000,seed=3,start=1700000000000,step=3,disorder=60000,late=0.05,lateBy=600000,nulls=0.2,partitions=4',
    'keys=1000,zipf=0.8,count=20000,seed=11,start=-5000000,step=1,nulls=0.5'
  ]
  for (const given of [undefined, WIDE]) {
    const opts = parseGeneratorOptions(specs[0]!)
    const { schema, roles } = generatorSchema(plan, opts, given)
    assert.ok(numbersOnly(schema, roles), `${schema.fields.map(f => `${f.name}:${f.type.kind}`).join(', ')} is drawn in the numbers mode`)
    for (const spec of specs) {
      const [a, b] = [await sourceRecords(spec, given), generalRecords(spec, given)]
      assert.equal(a.length, b.length)
      for (let i = 0; i < a.length; i++) assert.equal(a[i], b[i], `${spec}${given === undefined ? '' : ' (wide schema)'}: record ${i}`)
    }
  }
})

test('numbers mode is only for plain numbers: a string key or a string field takes the general path', () => {
  const opts = parseGeneratorOptions('keys=10,count=10,keyType=string')
  const { schema, roles } = generatorSchema(plan, opts)
  assert.equal(numbersOnly(schema, roles), false)
  const withString = { ...WIDE, fields: [...WIDE.fields, { name: 'note', type: nullable('string') }] }
  const s2 = generatorSchema(plan, parseGeneratorOptions('keys=10,count=10'), withString)
  assert.equal(numbersOnly(s2.schema, s2.roles), false)
})
