// Chronon's Flink integration tests, replayed through tilekiln (golden vectors of chronon-semantics §5.4 and §8).
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { T } from '../../src/api/data-type.ts'
import { toHex } from '../../src/codec/bytes.ts'
import { KeyCodec } from '../../src/codec/key.ts'
import { encodeTileKey } from '../../src/codec/tile-key.ts'
import { openFileSource } from '../../src/source/file.ts'
import { runEngine } from '../helpers/engine.ts'
import { goldenCase, groupByPath } from '../helpers/reference.ts'

function jsonl (rows: object[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-golden-'))
  const path = join(dir, 'events.jsonl')
  writeFileSync(path, rows.map(r => JSON.stringify(r)).join('\n') + '\n')
  return path
}

test('§5.4 entity keys: Avro key records byte for byte', () => {
  const k1 = new KeyCodec([{ name: 'id', type: T.string }])
  assert.equal(toHex(k1.encode(['id1'])), '0206696431')
  const k2 = new KeyCodec([{ name: 'user', type: T.string }, { name: 'n', type: T.long }])
  assert.equal(toHex(k2.encode(['abc', 4242])), '0206616263' + '02a442')
  assert.equal(toHex(k2.encode(['abc', null])), '0206616263' + '00')
})

for (const workers of [1, 2]) {
  test(`flink_tiled_job_end_to_end: latest tile per key is id1 → 4.0, id2 → 10.0, with Chronon's bytes (${workers} worker(s))`, async () => {
    const g = goldenCase('flink_tiled_job_end_to_end')
    const groupBy = JSON.parse(readFileSync(groupByPath('derived-from-scala-tests/flink_e2e_sum_1d.json'), 'utf8'))
    const source = await openFileSource({
      path: jsonl(g.events),
      schema: { type: 'record', name: 'E', fields: [{ name: 'id', type: 'string' }, { name: 'int_val', type: 'int' }, { name: 'double_val', type: 'double' }, { name: 'created', type: 'long' }] }
    })
    const run = await runEngine(groupBy, source, { workers, evaluator: 'column-refs' })
    try {
      assert.equal(run.deadLetters.records.length, 0)
      const entries = new Map<string, string>()
      for await (const [k, v] of run.store.entries()) entries.set(toHex(k), toHex(v))
      const tileKey = (id: string): string => toHex(encodeTileKey({ dataset: 'E2E_COUNT_STREAMING', keyBytes: new KeyCodec([{ name: 'id', type: T.string }]).encode([id]), tileSizeMillis: 3_600_000, tileStartMillis: 0 }))
      // 1 h tiles (smallest tail hop of a 1 d window); both events of id1 are in the tile starting at 0.
      assert.equal(entries.get(tileKey('id1')), '0202' + '0000000000001040' + '0201', 'id1: SUM 4.0, complete')
      assert.equal(entries.get(tileKey('id2')), '0202' + '0000000000002440' + '0201', 'id2: SUM 10.0, complete')
      assert.equal(tileKey('id1'), '1813' + Buffer.from('E2E_COUNT_STREAMING').toString('hex') + '1953' + '0206696431' + '1680bab703' + '1600' + '00')
      assert.deepEqual(await run.fetch(['id1'], 3_600_000), { double_val_sum_1d: 4.0 })
      assert.deepEqual(await run.fetch(['id2'], 3_600_000), { double_val_sum_1d: 10.0 })
      // Each tile keeps the time of its last event: the airbnb job's PutRequest.tsMillis of its last put (putTsMillis).
      const latestOf = async (id: string): Promise<number[]> => (await run.store.readTiles('E2E_COUNT_STREAMING', new KeyCodec([{ name: 'id', type: T.string }]).encode([id]), 3_600_000, 0, 3_600_000)).map(t => t.latestMillis)
      assert.deepEqual([await latestOf('id1'), await latestOf('id2')], [[g.expected.putTsMillis[1]], [g.expected.putTsMillis[2]]])
      // The tile holding the query time is read whole (§3.4) under Zipline's rule: at Q = 2 ms both id1 events are
      // in. Under airbnb's (this GroupBy's default), only once its last event (at 2 ms) is before Q.
      assert.deepEqual(await run.fetch(['id1'], 2, 'start'), { double_val_sum_1d: 4.0 })
      assert.deepEqual(await run.fetch(['id1'], 2), { double_val_sum_1d: null })
      assert.deepEqual(await run.fetch(['id1'], 3), { double_val_sum_1d: 4.0 })
    } finally {
      await run.cleanup()
    }
  })
}

test('flink_watermark_after_expression_eval: event time comes from the evaluated time column, so nothing is late', async () => {
  const g = goldenCase('flink_watermark_after_expression_eval')
  const groupBy = JSON.parse(readFileSync(groupByPath('derived-from-scala-tests/flink_e2e_sum_1h.json'), 'utf8'))
  const rows = (g.events as { id: string, double_val: number, created: number }[]).map(e => ({ id: e.id, int_val: 1, double_val: e.double_val, created: e.created }))
  const source = await openFileSource({
    path: jsonl(rows),
    watermarks: 'event',
    schema: { type: 'record', name: 'E', fields: [{ name: 'id', type: 'string' }, { name: 'int_val', type: 'int' }, { name: 'double_val', type: 'double' }, { name: 'created', type: 'long' }] }
  })
  const run = await runEngine(groupBy, source, { evaluator: 'column-refs' })
  try {
    assert.equal(run.deadLetters.records.length, 0)
    // Both events are in the 12:55 five-minute tile; the 1 h window at 13:00 holds both.
    assert.deepEqual(await run.fetch(['id1'], Date.parse('2025-07-20T13:00:00Z')), { double_val_sum_1h: g.expected['maxTileSumAmongPutsWhoseTsFallsIn[12:00,13:00)'] })
  } finally {
    await run.cleanup()
  }
})
