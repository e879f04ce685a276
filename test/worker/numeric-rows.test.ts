// The worker's numeric path (src/worker/numeric-rows.ts): GroupBys whose every input is a plain numeric column are
// folded from numbers read straight out of the record, not from a decoded object and the query's row. It must not
// change anything but the cost: the same tiles and the same dead letters as the general path, on random records
// with nulls (null keys and null times too), out-of-order and late events, keys seen in two partitions, and damaged
// records of every kind; and the features read back must be the brute-force oracle's.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type StructType, T } from '../../src/api/data-type.ts'
import { asStruct, fromAvroSchema } from '../../src/codec/input-schema.ts'
import { createDecoder } from '../../src/codec/record.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { bindGroupBy } from '../../src/config/bind.ts'
import { queryCompiler } from '../../src/expr/index.ts'
import { M } from '../../src/metrics/metrics.ts'
import type { RecordPusher, Source } from '../../src/source/source.ts'
import { Random } from '../../src/source/generator.ts'
import { numericRows } from '../../src/worker/numeric-rows.ts'
import type { TileState } from '../../src/worker/tile-state.ts'
import { naiveColumns, runEngine } from '../helpers/engine.ts'
import { storeLines } from '../helpers/store-dump.ts'
import { naiveFeatures, type NaiveEvent, tiledMode } from '../reference/naive.ts'
import { matchesNaive } from '../reference/naive-ops.ts'

const H = { length: 1, timeUnit: 0 }
const D = { length: 1, timeUnit: 1 }
const T0 = 1_700_000_000_000

// `note` (a string) and `big` (a long) are not selected: the numeric path skips them, yet must refuse a record whose
// `big` no number can hold, as the decoder does.
const AVRO = {
  type: 'record',
  name: 'Purchase',
  fields: [
    { name: 'user_id', type: ['null', 'long'] },
    { name: 'note', type: 'string' },
    { name: 'ts', type: ['null', 'long'] },
    { name: 'amount', type: ['null', 'double'] },
    { name: 'qty', type: 'int' },
    { name: 'big', type: 'long' }
  ]
}
const SCHEMA: StructType = asStruct(fromAvroSchema(AVRO), 'test schema')

function groupBy (query: Record<string, unknown> = { selects: { user_id: 'user_id', amount: 'amount', qty: 'qty' }, timeColumn: 'ts' }, extra: unknown[] = []): unknown {
  return {
    metaData: { name: 'test.numeric_rows.v1' },
    sources: [{ events: { table: 'test.purchases', topic: 'purchases', query } }],
    keyColumns: ['user_id'],
    aggregations: [
      { inputColumn: 'amount', operation: 7, windows: [H, D] }, // SUM
      { inputColumn: 'amount', operation: 6, windows: [H] }, // COUNT
      { inputColumn: 'qty', operation: 8, windows: [D] }, // AVERAGE
      { inputColumn: 'qty', operation: 9, windows: [D] }, // VARIANCE
      { inputColumn: 'amount', operation: 0, windows: [D] }, // MIN
      { inputColumn: 'amount', operation: 1, windows: [D] }, // MAX
      { inputColumn: 'qty', operation: 2, windows: [D] }, // FIRST
      { inputColumn: 'amount', operation: 3, windows: [D] }, // LAST
      { inputColumn: 'user_id', operation: 6 }, // every event of a key, unwindowed
      ...extra
    ]
  }
}

/** Zig-zag varint of an integer given as a bigint (so that longs no double holds can be written). */
function varint (out: number[], v: bigint): void {
  let z = v >= 0n ? v << 1n : ((-v) << 1n) - 1n
  while (z > 0x7fn) { out.push(Number(z & 0x7fn) | 0x80); z >>= 7n }
  out.push(Number(z))
}

interface Made { bytes: Uint8Array, partition: number, event: NaiveEvent | null, key: number | null }

/** Random records of AVRO, written by hand so that they can be damaged in every way the decoder refuses. */
function records (seed: number, n: number): Made[] {
  const r = new Random(seed)
  const out: Made[] = []
  let clock = T0
  for (let i = 0; i < n; i++) {
    clock += r.int(4000)
    const key = r.next() < 0.03 ? null : Math.floor(r.next() ** 2 * 300) // skewed keys, some null
    let ts: number | null = clock - r.int(120_000) // out of order within two minutes
    if (r.next() < 0.02) ts = clock - 4 * 3_600_000 - r.int(3_600_000) // late
    if (r.next() < 0.01) ts = null
    const amount = r.next() < 0.1 ? null : r.next() < 0.02 ? -0 : Math.round((r.next() - 0.3) * 1e5) / 100
    const qty = r.int(2001) - 1000
    const b: number[] = []
    if (key === null) b.push(0); else { b.push(2); varint(b, BigInt(key)) }
    const note = ['', 'a', 'héllo', 'x'.repeat(r.int(40))][r.int(4)]!
    const nb = Buffer.from(note)
    varint(b, BigInt(nb.length)); b.push(...nb)
    if (ts === null) b.push(0); else { b.push(2); varint(b, BigInt(ts)) }
    if (amount === null) b.push(0); else { b.push(2); const d = Buffer.alloc(8); d.writeDoubleLE(amount); b.push(...d) }
    varint(b, BigInt(qty))
    let big = BigInt(r.int(1e9))
    let damaged = false
    const kind = r.next() < 0.06 ? r.int(5) : -1
    if (kind === 0) { big = 2n ** 60n; damaged = true } // a long no double holds, in a field nobody selected
    varint(b, big)
    let bytes = Uint8Array.from(b)
    if (kind === 1) { bytes = bytes.subarray(0, r.int(bytes.length)); damaged = true } // cut short
    if (kind === 2) { bytes = Uint8Array.from([...bytes, 1]); damaged = true } // a trailing byte
    if (kind === 3) { bytes = Uint8Array.from(bytes); bytes[0] = 6; damaged = true } // union index 3 of 2
    if (kind === 4) { bytes = Uint8Array.from(bytes); bytes[bytes.length - 1] = 0xff; damaged = true } // a varint past the end
    // Keyed by the entity, as a topic is for tilekiln: key state then never depends on when its entries close. A few
    // records come from the other partition: a key seen in two partitions, counted and logged the same either way.
    const partition = (key === null ? 0 : key % 2) ^ (i > 2000 && r.next() < 0.01 ? 1 : 0)
    const event = damaged || ts === null ? null : { ts, row: { user_id: key, amount, qty } }
    out.push({ bytes, partition, event, key })
  }
  return out
}

function source (made: readonly Made[]): Source {
  return {
    description: 'test records',
    format: { kind: 'avro', schema: SCHEMA, avroSchema: AVRO, framing: 'raw' },
    bounded: true,
    watermarks: 'event',
    partitions: [0, 1],
    checkpointName: 'test',
    positionName: 'sequence',
    async run (pusher: RecordPusher) {
      await pusher.assigned([0, 1])
      for (let i = 0; i < made.length; i++) {
        const p = pusher.push(made[i]!.bytes, made[i]!.partition, i)
        if (p !== undefined) await p
      }
      await pusher.flush()
    }
  }
}

for (const workers of [1, 2]) {
  test(`numeric rows: the same tiles and dead letters as the general path, and the oracle's features (${workers} worker${workers > 1 ? 's' : ''})`, async () => {
    const made = records(20261207 + workers, 30_000)
    const gb = groupBy()
    const options = { workers, ring: { maxRecords: 512 }, outOfOrdernessMillis: 180_000 }
    const logs: string[][] = [[], []]
    const crossingLog = (i: number) => (m: unknown) => { if (/more than one partition/.test(String(m))) logs[i]!.push(String(m)) }
    const numeric = await runEngine(gb, source(made), { ...options, log: crossingLog(0) })
    const general = await runEngine(gb, source(made), { ...options, numericRows: false, log: crossingLog(1) })
    try {
      const counts = (run: typeof numeric): unknown => {
        const s = run.summary
        return { records: s.records, rows: s.rows, deadLetters: s.deadLetters, late: s.lateEvents, keys: s.liveKeys, entries: s.liveEntries, crossings: run.metrics.counter(M.crossPartitionRows) }
      }
      assert.deepEqual(counts(numeric), counts(general))
      // Keyed partitions (as a keyed topic is), but for a few records from the other one.
      const crossings = numeric.metrics.counter(M.crossPartitionRows)
      assert.ok(crossings > 50 && crossings < 1000, `${crossings} rows of keys homed in the other partition`)
      assert.equal(logs[0]!.length, 1)
      assert.match(logs[0]![0]!, /\(key \[(\d+|null)\] lives in partition [01], row from partition [01]\)/)
      // With several workers the example is whichever worker reported first.
      if (workers === 1) assert.deepEqual(logs[0], logs[1], 'the same example of a key seen in two partitions')
      const letters = (run: typeof numeric): string[] => run.deadLetters.records.map(d => `${d.position} ${d.code} ${d.reason}`).sort()
      const dead = letters(numeric)
      assert.deepEqual(dead, letters(general))
      const codes = new Map<string, number>()
      for (const d of numeric.deadLetters.records) codes.set(d.code, (codes.get(d.code) ?? 0) + 1)
      assert.ok((codes.get('TK_DECODE') ?? 0) > 500 && (codes.get('TK_LATE') ?? 0) > 100 && (codes.get('TK_INPUT') ?? 0) > 100, JSON.stringify([...codes]))
      assert.ok(dead.some(d => /precision loss/.test(d)) && dead.some(d => /missing timestamp/.test(d)), 'every kind of refusal is seen')
      const tiles = await storeLines(numeric.store)
      assert.ok(tiles.length > 1000)
      assert.deepEqual(tiles, await storeLines(general.store))
      assert.equal(numeric.summary.records, made.length)

      // The oracle: every record neither damaged nor dead-lettered, by key (null keys included).
      const deadAt = new Set(numeric.deadLetters.records.map(d => d.position))
      const byKey = new Map<number | null, NaiveEvent[]>()
      made.forEach((m, i) => {
        if (deadAt.has(i)) return
        assert.ok(m.event !== null, `record ${i} is damaged or has no time, yet it was aggregated`)
        byKey.set(m.key, [...(byKey.get(m.key) ?? []), m.event])
      })
      assert.ok(byKey.has(null), 'some null keys are aggregated')
      const plan = compilePlan(gb)
      const columns = naiveColumns(plan, SCHEMA)
      const end = made.length * 2000 + T0
      let compared = 0
      for (const [key, events] of byKey) {
        for (const q of [T0 + 3_600_000, T0 + 9 * 3_600_000 + 1234, end + 600_000]) {
          const actual = await numeric.fetch([key], q, 'start')
          const expected = naiveFeatures(events, columns, q, plan.tileSizeMillis, tiledMode('start'))
          for (const c of columns) {
            assert.ok(matchesNaive(actual[c.name], expected[c.name]), `key ${key} at ${q}: ${c.name} = ${JSON.stringify(actual[c.name])}, oracle ${JSON.stringify(expected[c.name])}`)
            compared++
          }
        }
      }
      assert.ok(compared > 5000, `${compared} features compared`)
    } finally {
      await numeric.cleanup()
      await general.cleanup()
    }
  })
}

test('the numeric path applies to plain numeric columns only', () => {
  const decoder = createDecoder({ kind: 'avro', schema: SCHEMA, avroSchema: AVRO, framing: 'raw' })
  const kernelOnly = { numericRows: true, kernelInputs: [1, 2] } as unknown as TileState
  const plan = (gb: unknown): { applies: boolean } => {
    const p = compilePlan(gb)
    const bound = bindGroupBy(p, SCHEMA, queryCompiler('spark'))
    const n = numericRows(bound.query, p.source, SCHEMA, decoder, kernelOnly, bound.keyIndices, bound.tsIndex, false)
    return { applies: n !== null }
  }
  assert.deepEqual(plan(groupBy()), { applies: true })
  assert.deepEqual(plan(groupBy({ selects: { user_id: 'user_id', amount: 'amount', qty: 'qty' }, timeColumn: 'ts', wheres: ['qty > 0'] })), { applies: false })
  assert.deepEqual(plan(groupBy({ selects: { user_id: 'user_id', amount: 'amount * 2', qty: 'qty' }, timeColumn: 'ts' })), { applies: false })
  assert.deepEqual(plan(groupBy({ selects: { user_id: 'user_id', amount: 'amount', qty: 'qty' }, timeColumn: 'ts + 1' })), { applies: false })
  assert.deepEqual(plan(groupBy({ selects: { user_id: 'user_id', amount: 'amount', qty: 'qty', note: 'note' }, timeColumn: 'ts' }, [{ inputColumn: 'note', operation: 6 }])), { applies: false })
  // with renamed columns it applies: a plain reference is a plain reference
  assert.deepEqual(plan(groupBy({ selects: { user_id: 'user_id', amount: 'amount', qty: 'big' }, timeColumn: 'ts' })), { applies: true })
  const p = compilePlan(groupBy())
  const bound = bindGroupBy(p, SCHEMA, queryCompiler('spark'))
  assert.equal(numericRows(bound.query, p.source, SCHEMA, decoder, kernelOnly, bound.keyIndices, bound.tsIndex, true), null, 'records fanned out to several workers')
  assert.equal(numericRows(bound.query, p.source, SCHEMA, decoder, { numericRows: false, kernelInputs: [] } as unknown as TileState, bound.keyIndices, bound.tsIndex, false), null, 'JS aggregations')
  assert.equal(numericRows(bound.query, p.source, SCHEMA, createDecoder({ kind: 'json', schema: SCHEMA }), kernelOnly, bound.keyIndices, bound.tsIndex, false), null, 'JSON input')
  // A time field that is not an int or a long is converted to epoch milliseconds on the way (a double is truncated,
  // microseconds divided): the general path's.
  for (const [type, applies] of [['int', true], ['long', true], ['double', false], ['float', false], [{ type: 'long', logicalType: 'timestamp-micros' }, false]] as const) {
    const avro = { ...AVRO, fields: AVRO.fields.map(f => (f.name === 'ts' ? { name: 'ts', type } : f)) }
    const schema = asStruct(fromAvroSchema(avro), 'test schema')
    const gb = compilePlan(groupBy())
    const b = bindGroupBy(gb, schema, queryCompiler('spark'))
    const d = createDecoder({ kind: 'avro', schema, avroSchema: avro, framing: 'raw' })
    assert.equal(numericRows(b.query, gb.source, schema, d, kernelOnly, b.keyIndices, b.tsIndex, false) !== null, applies, `time field ${JSON.stringify(type)}`)
  }
  // The generator writes a TIMESTAMP field as a plain Avro long of microseconds: the schema's type decides, not Avro's.
  const micros: StructType = { ...SCHEMA, fields: SCHEMA.fields.map(f => (f.name === 'ts' ? { ...f, type: T.timestamp } : f)) }
  const b = bindGroupBy(p, micros, queryCompiler('spark'))
  assert.equal(numericRows(b.query, p.source, micros, createDecoder({ kind: 'avro', schema: micros, avroSchema: AVRO, framing: 'raw' }), kernelOnly, b.keyIndices, b.tsIndex, false), null, 'a TIMESTAMP time field')
})
