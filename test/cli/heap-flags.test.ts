// The daemon's V8 flags (src/cli/heap-flags.ts): a smaller young generation on Node ≥ 24 only, never over the
// user's own choice, and applied by restarting the same process (the pid a supervisor knows stays the daemon's).
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { heapFlags, SEMI_SPACE_MB } from '../../src/cli/heap-flags.ts'
import { tilekiln } from '../helpers/cli.ts'

const FLAG = `--max-semi-space-size=${SEMI_SPACE_MB}`

test('heapFlags: the semi-space flag from Node 24 on, unless the command line or NODE_OPTIONS sets it', () => {
  assert.deepEqual(heapFlags([], '20.20.2', ''), [])
  assert.deepEqual(heapFlags([], '22.22.0', ''), [])
  assert.deepEqual(heapFlags([], '24.21.0', ''), [FLAG])
  assert.deepEqual(heapFlags(['--expose-gc'], '25.1.0', '--enable-source-maps'), [FLAG])
  assert.deepEqual(heapFlags(['--max-semi-space-size=32'], '24.21.0', ''), [])
  assert.deepEqual(heapFlags([], '24.21.0', '--trace-gc --max-semi-space-size=2'), [])
})

test('tilekiln restarts itself with the flag on Node ≥ 24 (same pid), and runs as started below', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-heap-flags-'))
  try {
    // Loaded before the CLI in every incarnation of the process; only the last one exits and writes.
    const preload = join(dir, 'report.cjs')
    const out = join(dir, 'report.json')
    writeFileSync(preload, `process.on('exit', () => require('fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify({ pid: process.pid, ppid: process.ppid, execArgv: process.execArgv })))\n`)
    const r = await tilekiln(['--help'], { NODE_OPTIONS: `-r ${preload}` }, 60_000)
    assert.equal(r.code, 0, r.stderr)
    const seen = JSON.parse(readFileSync(out, 'utf8')) as { pid: number, ppid: number, execArgv: string[] }
    assert.equal(seen.ppid, process.pid, 'the tilekiln process is the one this test started, not a child of it')
    if (Number(process.versions.node.split('.')[0]) >= 24) assert.ok(seen.execArgv.includes(FLAG), `execArgv ${JSON.stringify(seen.execArgv)}`)
    else assert.ok(!seen.execArgv.some(a => a.startsWith('--max-semi-space-size')), `execArgv ${JSON.stringify(seen.execArgv)}`)
    // The user's own setting stands.
    const mine = await tilekiln(['--help'], { NODE_OPTIONS: `-r ${preload} --max-semi-space-size=32` }, 60_000)
    assert.equal(mine.code, 0, mine.stderr)
    assert.ok(!(JSON.parse(readFileSync(out, 'utf8')) as { execArgv: string[] }).execArgv.includes(FLAG))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
