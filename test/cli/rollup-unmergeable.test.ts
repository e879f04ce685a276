// `tilekiln run --rollups 1h,1d` over an element-wise SUM whose list length changes between two fine tiles of one
// hour (Chronon refuses to merge such tiles: "Tensor dimensions must match for merge"). The run must finish (it used
// to fail in close(), and every later close of the partition again), write every fine tile, withdraw the key's hour
// and day tiles (an empty tile not marked complete: also over the complete ones an earlier run over clean data left),
// count them (rollup_unmergeable_tiles) and log where they are; reads with and without rolled-up tiles must agree.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { listeningUrl, logMessages, startTilekiln, tilekiln } from '../helpers/cli.ts'

const T0 = Date.UTC(2023, 10, 14)
const FIVE_MIN = 5 * 60_000
const AT = String(T0 + 86_400_000)
const GROUP_BY = {
  metaData: { name: 'tests.unmergeable.v1' },
  sources: [{ events: { table: 't', query: { selects: { user_id: 'user_id', v: 'v', n: 'n' }, timeColumn: 'ts' } } }],
  keyColumns: ['user_id'],
  aggregations: [
    { inputColumn: 'v', operation: 7, elementWise: true, windows: [{ length: 1, timeUnit: 0 }, { length: 30, timeUnit: 1 }] },
    { inputColumn: 'n', operation: 6, windows: [{ length: 1, timeUnit: 0 }, { length: 30, timeUnit: 1 }] }
  ]
}

/** User 1's second list has `second` (3 elements in the clean data, 2 in the bad); user 2's lists are all of 2. */
function events (second: number[]): string {
  return [
    { ts: T0 + 1000, user_id: 1, v: [1, 2, 3], n: 1 },
    { ts: T0 + FIVE_MIN + 1000, user_id: 1, v: second, n: 1 },
    { ts: T0 + 1000, user_id: 2, v: [1, 1], n: 1 },
    { ts: T0 + FIVE_MIN + 1000, user_id: 2, v: [2, 2], n: 1 }
  ].map(e => JSON.stringify(e)).join('\n') + '\n'
}

test('run --rollups: a list length that changes within an hour leaves the fine tiles, withdraws the hour and day tiles, is counted and logged, and the run goes on; reads agree with and without rolled-up tiles', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-unmergeable-'))
  try {
    const gb = join(dir, 'gb.json')
    writeFileSync(gb, JSON.stringify(GROUP_BY))
    writeFileSync(join(dir, 'clean.jsonl'), events([4, 5, 6]))
    writeFileSync(join(dir, 'bad.jsonl'), events([4, 5]))
    const store = `embedded:${join(dir, 'store')}`
    const run = async (input: string): Promise<Record<string, number>> => {
      const r = await tilekiln(['run', '--group-by', gb, '--source', `file:${join(dir, input)}`, '--store', store, '--rollups', '1h,1d', '--dead-letter', join(dir, 'dlq.jsonl'), '--progress', '0', '--json'], {}, 90_000)
      assert.equal(r.code, 0, r.stderr)
      const metrics = (JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { metrics: Record<string, number> }).metrics
      if (input === 'bad.jsonl') {
        const log = logMessages(r.stderr)
        for (const size of [3_600_000, 86_400_000]) {
          assert.ok(log.includes(`[groupBy=tests.unmergeable.v1, key={"user_id":1}, partition=0, tileStart=${T0}, tileSizeMillis=${size}, fineTileStart=${T0 + FIVE_MIN}]`), log)
        }
        assert.match(log, /Tensor dimensions must match for merge: left=3, right=2/)
      }
      return metrics
    }
    const clean = await run('clean.jsonl')
    assert.equal(clean.rollup_unmergeable_tiles, 0)
    const bad = await run('bad.jsonl')
    assert.equal(bad.rollup_unmergeable_tiles, 2, 'user 1\'s hour and day')
    assert.equal(bad.dead_letters, 0, 'every record is in its fine tile')
    assert.equal(bad.rows_aggregated, 4)

    const dump = await tilekiln(['dump', '--group-by', gb, '--store', store, '--json'], {}, 60_000)
    assert.equal(dump.code, 0, dump.stderr)
    const tiles = dump.stdout.trim().split('\n').map(l => JSON.parse(l) as { key?: { user_id: number }, tileSizeMillis: number, isComplete: boolean, irs: Record<string, unknown> })
    const of = (user: number, size: number): typeof tiles => tiles.filter(t => t.key?.user_id === user && t.tileSizeMillis === size)
    assert.deepEqual(of(1, FIVE_MIN).map(t => [t.isComplete, t.irs.v_sum]), [[true, [1, 2, 3]], [true, [4, 5]]], 'the fine tiles, as written')
    for (const size of [3_600_000, 86_400_000]) {
      // the complete tile of the clean run is overwritten: an empty one, not complete, that no reader takes
      assert.deepEqual(of(1, size).map(t => [t.isComplete, t.irs]), [[false, { v_sum: null, n_count: null }]], `user 1, ${size} ms`)
      assert.deepEqual(of(2, size).map(t => [t.isComplete, t.irs]), [[true, { v_sum: [3, 3], n_count: 2 }]], `user 2, ${size} ms`)
    }

    // Reads: with rolled-up tiles (auto) and without (none) the same answer. For user 1 that is the fine-tile read's
    // own: its merge refuses the two lengths (TK_INPUT, exit code 1), as Chronon's fetcher does.
    for (const user of [1, 2]) {
      const read = async (rollups: string): Promise<{ code: number, stdout: string, error: string }> => {
        const r = await tilekiln(['fetch', '--group-by', gb, '--store', store, '--key', `user_id=${user}`, '--at', AT, '--json', '--rollups', rollups], {}, 60_000)
        return { code: r.code, stdout: r.stdout, error: (/the stored tiles of key .*? cannot be merged into [^:]+: Tensor dimensions must match for merge: left=\d, right=\d/.exec(logMessages(r.stderr))?.[0] ?? '').trim() }
      }
      const auto = await read('auto')
      assert.deepEqual(auto, await read('none'), `user ${user}`)
      // The error names the key and the column (the first output that merges the two lengths), not just Chronon's text.
      if (user === 1) assert.deepEqual([auto.code, auto.error], [1, 'the stored tiles of key {"user_id":1} cannot be merged into v_sum_30d: Tensor dimensions must match for merge: left=3, right=2'])
      else assert.deepEqual([auto.code, JSON.parse(auto.stdout)], [0, { v_sum_1h: null, v_sum_30d: [3, 3], n_count_1h: null, n_count_30d: 2 }])
    }

    // serve: the same data problem is the key's (422, TK_INPUT, with the key and column), not the server's (500);
    // the other key is served.
    const server = startTilekiln(['serve', '--group-by', gb, '--store', store, '--port', '0'], {}, 120_000)
    try {
      const url = await listeningUrl(server)
      const bad = await fetch(`${url}/v1/features/tests.unmergeable.v1?user_id=1&at=${AT}`)
      const body = await bad.json() as { error: string, code: string }
      assert.deepEqual([bad.status, body.code], [422, 'TK_INPUT'], body.error)
      assert.match(body.error, /key \{"user_id":1\} cannot be merged into v_sum_30d/)
      assert.match(body.error, /groupBy=tests\.unmergeable\.v1/)
      const good = await fetch(`${url}/v1/features/tests.unmergeable.v1?user_id=2&at=${AT}`)
      assert.equal(good.status, 200)
      assert.deepEqual((await good.json() as { features: unknown }).features, { v_sum_1h: null, v_sum_30d: [3, 3], n_count_1h: null, n_count_30d: 2 })
    } finally {
      server.child.kill('SIGTERM')
      await server.done
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
