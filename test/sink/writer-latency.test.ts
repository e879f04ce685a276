// The writer under the load that livelocked it (issue 12, item 6), scaled down: 300,000 JSONL events, 20,000 keys,
// 2 workers, the embedded store, and a 1 ms --kv-timeout. The old writer re-issued each timed-out batch on top of the
// live one and never finished (killed after 60 s here); now the run ends, and its store is byte for byte the store
// of a run that never timed out (--kv-timeout 600000). The timeout is 1 ms, not 50: the writer's deadlines follow
// the store's observed speed, so only the first requests are held to the timeout itself, and on a quiet moment of
// this disk LMDB committed those within 50 ms — no request was slow and the test failed (a clean-clone CI run).
// A commit here takes milliseconds (its flush alone).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { tilekiln } from '../helpers/cli.ts'
import { dumpLines } from '../helpers/store-dump.ts'

function jsonl (path: string, events: number, keys: number): void {
  let seed = 42
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x80000000 }
  const t0 = Date.UTC(2024, 0, 1)
  const lines: string[] = []
  for (let i = 0; i < events; i++) lines.push(`{"user_id":${Math.floor(rnd() * keys)},"ts":${t0 + Math.floor(i * 172_800_000 / events)},"price":${(rnd() * 100).toFixed(2)}}`)
  writeFileSync(path, lines.join('\n') + '\n')
}

test('300,000 events with --kv-timeout 1: the run ends, reports the slow store, and writes what a run without timeouts writes', { timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-writer-latency-'))
  try {
    const input = join(dir, 'events.jsonl')
    jsonl(input, 300_000, 20_000)
    const run = async (name: string, timeout: string): Promise<{ ms: number, stderr: string }> => {
      const t0 = Date.now()
      const r = await tilekiln(['run', '--group-by', 'examples/group_bys/clicks.v1.json', '--source', `file:${input}`, '--store', `embedded:${join(dir, name)}`,
        '--workers', '2', '--until-end', '--progress', '0', '--kv-timeout', timeout], {}, 120_000)
      assert.equal(r.code, 0, r.stderr)
      return { ms: Date.now() - t0, stderr: r.stderr }
    }
    const tight = await run('tight', '1')
    const loose = await run('loose', '600000')
    t.diagnostic(`--kv-timeout 1: ${tight.ms} ms; --kv-timeout 600000: ${loose.ms} ms`)
    assert.match(tight.stderr, /the store is slow: \d+ request\(s\) outlived their deadline/)
    assert.doesNotMatch(tight.stderr, /store write failed/)
    const [a, b] = [await dumpLines(join(dir, 'tight')), await dumpLines(join(dir, 'loose'))]
    assert.ok(a.length > 200_000, `${a.length} entries`)
    assert.deepEqual(a, b)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
