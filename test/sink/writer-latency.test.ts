// The writer under the load that livelocked it (issue 12, item 6), scaled down: JSONL events over 2 days, 2 workers,
// and a 1 ms writer timeout. The old writer re-issued each timed-out batch on top of the live one and never finished
// (killed after 60 s here); now the run ends, and its store is byte for byte the store of a run that never timed out.
//
// Two runs of it. Through the CLI into the embedded store (300,000 events, --kv-timeout 1 against 600000): the
// command ends and writes the same bytes; whether LMDB was slow there depends on the disk's moment (a commit takes
// milliseconds, its flush alone), so that run does not ask for a slow report. In process against a store that is
// slow for real: the memory store holds every 4th request 1 s, the first included, and applies requests in call
// order; like Redis, it drops the requests not yet applied when the writer asks it to reset its connection, and the
// writer re-issues them. The writer must see the slow requests, report them, and still write exactly what a run
// without timeouts writes. The first request is judged by the 1 ms timeout itself (the writer has not seen the
// store's pace yet; later deadlines follow it, and on a loaded machine grew past a 150 ms hold: a CI dry run saw no
// slow request). The writer judges a deadline only after the event loop read the I/O that came, so a store whose
// answer was merely not read yet is not slow (kv-writer.test.ts) — a test that wants a slow store has to have one.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { MemoryDeadLetters } from '../../src/engine/dead-letter.ts'
import { Engine } from '../../src/engine/engine.ts'
import { MemoryStore } from '../../src/sink/memory-store.ts'
import { openFileSource } from '../../src/source/file.ts'
import { tilekiln } from '../helpers/cli.ts'
import { repoRoot } from '../helpers/reference.ts'
import { dumpLines, storeLines } from '../helpers/store-dump.ts'

const CLICKS = join(repoRoot, 'examples/group_bys/clicks.v1.json')

function jsonl (path: string, events: number, keys: number): void {
  let seed = 42
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x80000000 }
  const t0 = Date.UTC(2024, 0, 1)
  const lines: string[] = []
  for (let i = 0; i < events; i++) lines.push(`{"user_id":${Math.floor(rnd() * keys)},"ts":${t0 + Math.floor(i * 172_800_000 / events)},"price":${(rnd() * 100).toFixed(2)}}`)
  writeFileSync(path, lines.join('\n') + '\n')
}

test('300,000 events with --kv-timeout 1: the run ends and writes what a run without timeouts writes', { timeout: 300_000 }, async (t) => {
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
    t.diagnostic(`--kv-timeout 1: ${tight.ms} ms (${/the store is slow/.test(tight.stderr) ? 'a slow store reported' : 'no request outlived its deadline'}); --kv-timeout 600000: ${loose.ms} ms`)
    assert.doesNotMatch(tight.stderr, /store write failed/)
    const [a, b] = [await dumpLines(join(dir, 'tight')), await dumpLines(join(dir, 'loose'))]
    assert.ok(a.length > 200_000, `${a.length} entries`)
    assert.deepEqual(a, b)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a store that is slow for real, with a 1 ms writer timeout: the slow requests are reported, waited for, and the tiles are those of a run without timeouts', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-writer-latency-'))
  try {
    const input = join(dir, 'events.jsonl')
    jsonl(input, 60_000, 4_000)
    const groupBy = JSON.parse(readFileSync(CLICKS, 'utf8')) as unknown
    const run = async (slow: boolean): Promise<{ lines: string[], timeouts: number, store: MemoryStore }> => {
      const store = new MemoryStore(slow ? { faults: { latencyMillis: n => n % 4 === 1 ? 1000 : 0 } } : {})
      const lines: string[] = []
      const engine = new Engine({
        groupBy,
        source: await openFileSource({ path: input }),
        store,
        deadLetters: new MemoryDeadLetters(),
        workers: 2,
        writer: slow ? { timeoutMillis: 1, slowReportMillis: 0 } : { timeoutMillis: 600_000 },
        log: line => lines.push(line)
      })
      await engine.run()
      // Each report counts every request that outlived its deadline so far: '(N in all)'.
      const timeouts = Math.max(0, ...lines.map(l => Number(/\((\d+) in all\)/.exec(l)?.[1] ?? 0)))
      return { lines, timeouts, store }
    }
    const tight = await run(true)
    const loose = await run(false)
    const slowLines = tight.lines.filter(l => /^the store is slow: \d+ request\(s\) outlived their deadline/.test(l))
    t.diagnostic(`slow store: ${tight.store.requests} requests, ${tight.timeouts} outlived their deadline, ${slowLines.length} report(s)`)
    assert.ok(tight.timeouts > 0, 'no request of a store that holds every 4th, the first included, for 1 s outlived a 1 ms timeout')
    assert.ok(slowLines.length > 0, tight.lines.join('\n'))
    const [a, b] = [await storeLines(tight.store), await storeLines(loose.store)]
    assert.ok(a.length > 20_000, `${a.length} entries`)
    assert.deepEqual(a, b)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
