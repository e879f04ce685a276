// `tilekiln dump` in bounded memory: the external merge sort gives exactly the sorted, repeat-free lines of the
// store however small its runs, and a 300,000-tile store is dumped by a process whose heap is capped at 96 MB (the
// dump is ~80 MB of text; the old dump held all of it, sorted, and ran out of memory on 1.5M tiles).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { writeSortedDump } from '../../src/sink/dump.ts'
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'
import { MemoryStore } from '../../src/sink/memory-store.ts'
import type { TileStore } from '../../src/sink/store.ts'
import { TilePuts, TilePutsWriter } from '../../src/sink/tile-puts.ts'
import { repoRoot } from '../helpers/reference.ts'
import { storeLines } from '../helpers/store-dump.ts'

const DS = 'TEST_DUMP_STREAMING'
const TILE = 300_000

function batch (from: number, count: number, valueBytes: number): TilePuts {
  const w = new TilePutsWriter()
  w.begin()
  const value = Buffer.alloc(valueBytes)
  for (let i = from; i < from + count; i++) {
    value.writeUInt32BE(i, 0)
    w.beginPut(new Uint8Array([0x02, i & 0x7f, (i >> 7) & 0x7f, i >> 14]), (i % 97) * TILE).raw(value)
    w.endValue()
  }
  return new TilePuts(w.finish())
}

class Collect extends Writable {
  text = ''
  override _write (chunk: Buffer, _enc: string, done: () => void): void { this.text += chunk.toString(); done() }
}

test('the external sort: any run size gives the sorted lines, each once; runs are spilled and removed', async () => {
  const store = new MemoryStore()
  await store.putMetadata('g.v1', '{}')
  for (let b = 0; b < 3; b++) await store.writeTiles(DS, TILE, batch(b * 1000, 1000, 20))
  const expected = (await storeLines(store)).join('\n') + '\n'
  const tmp = mkdtempSync(join(tmpdir(), 'tilekiln-dump-test-'))
  try {
    for (const runChars of [undefined, 1_000_000, 10_000, 100]) {
      const out = new Collect()
      const n = await writeSortedDump(store, out, { runChars, tmpDir: tmp })
      assert.equal(n, 3001)
      assert.equal(out.text, expected, `runChars ${String(runChars)}`)
      assert.deepEqual(readdirSync(tmp), [], 'no run left behind')
    }
    // Repeats (Redis's SCAN may report a key twice) are printed once, across runs too.
    const twice: TileStore = Object.assign(Object.create(store) as TileStore, {
      async * entries () { for await (const e of store.entries()) { yield e; yield e } }
    })
    const out = new Collect()
    assert.equal(await writeSortedDump(twice, out, { runChars: 5_000, tmpDir: tmp }), 3001)
    assert.equal(out.text, expected)
    const empty = new Collect()
    assert.equal(await writeSortedDump(new MemoryStore(), empty), 0)
    assert.equal(empty.text, '')
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
})

test('tilekiln dump of a 300,000-tile store in a 96 MB heap prints exactly the sorted lines', { timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-dump-big-'))
  try {
    const path = join(dir, 'store')
    const store = new EmbeddedStore(path)
    for (let b = 0; b < 30; b++) await store.writeTiles(DS, TILE, batch(b * 10_000, 10_000, 100))
    const lines = await storeLines(store)
    await store.close()
    assert.equal(lines.length, 300_000)
    const expected = createHash('sha256')
    let chars = 0
    for (const l of lines) { expected.update(l + '\n'); chars += l.length + 1 }
    lines.length = 0
    const got = createHash('sha256')
    const started = Date.now()
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(process.execPath, ['--max-old-space-size=96', join(repoRoot, 'bin', 'tilekiln.js'), 'dump', '--store', `embedded:${path}`], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
      let stderr = ''
      const timer = setTimeout(() => child.kill('SIGKILL'), 150_000)
      child.stdout.on('data', (d: Buffer) => got.update(d))
      child.stderr.on('data', (d: Buffer) => { stderr += String(d) })
      child.on('error', reject)
      child.on('exit', c => { clearTimeout(timer); if (c !== 0) process.stderr.write(stderr); resolve(c ?? 1) })
    })
    assert.equal(code, 0)
    assert.equal(got.digest('hex'), expected.digest('hex'))
    t.diagnostic(`${(chars / 1e6).toFixed(0)} MB of dump text in ${Date.now() - started} ms with a 96 MB heap`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
