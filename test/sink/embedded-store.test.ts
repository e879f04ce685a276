// The embedded LMDB store: the TileStore contract (conformance suite), and what is its own — epochs shared by
// several processes on one directory, a fence per partition that bites as soon as a newer epoch exists, its key
// limit computed from LMDB's, a read-only store from before the scale-out databases, and a full disk (a real 20 MB
// tmpfs) as a fatal TK_STORE_FULL with every acknowledged write still there.
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { open } from 'lmdb'
import { toHex } from '../../src/codec/bytes.ts'
import { isTilekilnError } from '../../src/errors.ts'
import { EMBEDDED_MAX_KEY_BYTES, EmbeddedStore, LMDB_MAX_KEY_BYTES, LMDB_PAGE_BYTES, MAX_DATASET_BYTES } from '../../src/sink/embedded-store.ts'
import { EventPuts, EventPutsWriter } from '../../src/sink/event-puts.ts'
import { KvWriter, writeTilesTo } from '../../src/sink/kv-writer.ts'
import type { TilePuts } from '../../src/sink/tile-puts.ts'
import { tilekiln } from '../helpers/cli.ts'
import { storeConformance, tiles } from './store-conformance.ts'

const dirs: string[] = []
function tempDir (name: string): string {
  const d = mkdtempSync(join(tmpdir(), `tilekiln-embedded-${name}-`))
  dirs.push(d)
  return d
}
process.on('exit', () => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })

storeConformance('embedded store (LMDB)', { open: async () => new EmbeddedStore(join(tempDir('conformance'), 'store')) })
// --store-sync checkpoint: commits are not flushed, flushed() syncs; the contract is the same.
storeConformance('embedded store (LMDB), synced at checkpoints', { open: async () => new EmbeddedStore(join(tempDir('conformance-nosync'), 'store'), { sync: 'checkpoint' }) })

const DS = 'TEST_EMBEDDED_STREAMING'
const TILE = 300_000
const SCOPE = 'TEST_EMBEDDED_STREAMING/events'
const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'embedded-epoch-child.js')
const K = new Uint8Array([0x02, 0x11])

async function child (args: string[]): Promise<unknown> {
  return await new Promise((resolve, reject) => {
    execFile(process.execPath, [CHILD, ...args], { timeout: 30_000 }, (e, stdout, stderr) => {
      if (e !== null) reject(new Error(`child ${args.join(' ')} failed: ${e.message}\n${stderr}`))
      else resolve(JSON.parse(stdout))
    })
  })
}

describe('embedded store', { timeout: 120_000 }, () => {
  test('two processes on one directory: epochs strictly increasing across both; the newer owner fences the older one', async () => {
    const dir = join(tempDir('processes'), 'store')
    const store = new EmbeddedStore(dir)
    try {
      // Both acquire at once.
      const [mine, theirs] = await Promise.all([
        (async () => { const out: number[] = []; for (let i = 0; i < 40; i++) out.push(await store.acquireEpoch(SCOPE, 0)); return out })(),
        child([dir, 'epochs', SCOPE, '0', '40']) as Promise<number[]>
      ])
      for (const list of [mine, theirs]) assert.ok(list.every((e, i) => i === 0 || e > list[i - 1]!), `increasing within a process: ${JSON.stringify(list)}`)
      assert.deepEqual([...mine, ...theirs].sort((a, b) => a - b), Array.from({ length: 80 }, (_, i) => i + 1))

      // This process owns partition 3 and writes; the child takes it over (new epoch, a write, a checkpoint).
      const e = await store.acquireEpoch(SCOPE, 3)
      assert.deepEqual(await store.writeTiles(DS, TILE, tiles([[K, 0, 'first owner']], [3]), { scope: SCOPE, epochs: new Map([[3, e]]) }), { fenced: [] })
      const taken = await child([dir, 'own', SCOPE, '3', toHex(K), 'second owner']) as { epoch: number, outcome: { fenced: number[] }, checkpoint: boolean }
      assert.deepEqual(taken, { epoch: e + 1, outcome: { fenced: [] }, checkpoint: true })
      // Our writes under the old epoch are refused from now on, the checkpoint too.
      assert.deepEqual(await store.writeTiles(DS, TILE, tiles([[K, 0, 'zombie']], [3]), { scope: SCOPE, epochs: new Map([[3, e]]) }), { fenced: [3] })
      assert.equal(await store.writeCheckpoint(SCOPE, 3, e, Buffer.from('zombie')), false)
      assert.equal(Buffer.from((await store.readTiles(DS, K, TILE, 0, 1))[0]!.value).toString(), 'second owner')
      assert.deepEqual(await store.readCheckpoint(SCOPE, 3), { epoch: e + 1, bytes: new Uint8Array(Buffer.from('child')) })
    } finally {
      await store.close()
    }
  })

  test('the fence is per partition: once a newer epoch exists, every write of the older one is refused, whichever key', async () => {
    const store = new EmbeddedStore(join(tempDir('strict'), 'store'))
    try {
      const e1 = await store.acquireEpoch(SCOPE, 1)
      await store.acquireEpoch(SCOPE, 1)
      // The new owner has written nothing yet; the stronger fence refuses the old owner all the same, whole.
      const other = new Uint8Array([0x02, 0x22])
      assert.deepEqual(await store.writeTiles(DS, TILE, tiles([[K, 0, 'x'], [other, 0, 'y'], [other, TILE, 'z']], [1, 1, 1]), { scope: SCOPE, epochs: new Map([[1, e1]]) }), { fenced: [1] })
      assert.deepEqual(await store.readTiles(DS, other, TILE, -Infinity, Infinity), [])
      assert.deepEqual(await store.readTiles(DS, K, TILE, -Infinity, Infinity), [])
    } finally {
      await store.close()
    }
  })

  test('key limit: 1,978 bytes of LMDB minus our longest head and tail; the longest dataset and key fit exactly', async () => {
    assert.equal(LMDB_MAX_KEY_BYTES, 1978)
    assert.equal(EMBEDDED_MAX_KEY_BYTES, 1978 - 255 - 3 - 24)
    const store = new EmbeddedStore(join(tempDir('limits'), 'store'))
    try {
      assert.equal(store.maxKeyBytes, 1696)
      const longestDataset = 'D'.repeat(MAX_DATASET_BYTES - '_STREAMING'.length) + '_STREAMING'
      const key = new Uint8Array(store.maxKeyBytes).fill(0x41)
      // An event's physical key: 255 + 1 + 2 + 1,696 + 8 + 16 = 1,978 bytes, LMDB's limit exactly.
      const w = new EventPutsWriter()
      w.begin()
      const bw = w.beginPut()
      bw.raw(key)
      w.keyEnd(1000, 0, 1, 0)
      bw.raw(Buffer.from('v'))
      w.endValue()
      await store.appendEvents(longestDataset, new EventPuts(w.finish()))
      assert.equal((await store.readEvents(longestDataset, key, 0, 2000)).length, 1)
      await store.writeTiles(longestDataset, TILE, tiles([[key, 0, 't']]))
      assert.equal((await store.readTiles(longestDataset, key, TILE, 0, 1)).length, 1)
      await assert.rejects(store.writeTiles('X' + longestDataset, TILE, tiles([[K, 0, 't']])), (e: unknown) =>
        isTilekilnError(e) && e.code === 'TK_STORE' && e.context.fatal === true && /is 256 bytes; the embedded store takes at most 255/.test(e.message))
    } finally {
      await store.close()
    }
  })

  test('the layout mark: a store of bare tile records or of an unknown layout is refused; a new store is marked', async () => {
    const tileKey = Buffer.concat([Buffer.from(`${DS}\u0000`), Buffer.from([0, 2]), Buffer.from(K), Buffer.alloc(16)])
    const make = async (value: Buffer, mark?: string): Promise<string> => {
      const dir = join(tempDir('layout'), 'store')
      const env = open({ path: dir, maxDbs: 8, compression: false })
      await env.openDB({ name: 'tiles', keyEncoding: 'binary', encoding: 'binary' }).put(tileKey, value)
      if (mark !== undefined) await env.openDB({ name: 'format', encoding: 'string' }).put('layout', mark)
      await env.close()
      return dir
    }
    const refused = (re: RegExp) => (e: unknown) => isTilekilnError(e) && e.code === 'TK_STORE' && re.test(e.message)
    // An earlier version's value: the Avro tile record alone (IR bytes of length 3, isComplete true).
    const bare = Buffer.from([0x06, 0x02, 0x04, 0x06, 0x01])
    for (const readOnly of [false, true]) {
      const old = await make(bare)
      assert.throws(() => new EmbeddedStore(old, { readOnly }), refused(/written by an earlier tilekiln .*new directory/))
      const other = await make(Buffer.concat([Buffer.alloc(8), bare]), '1')
      assert.throws(() => new EmbeddedStore(other, { readOnly }), refused(/has layout 1, this tilekiln reads layout 3/))
      const later = await make(Buffer.concat([Buffer.alloc(8), bare]), '4')
      assert.throws(() => new EmbeddedStore(later, { readOnly }), refused(/has layout 4, this tilekiln reads layout 3/))
    }
    // A new store is marked at once, so a reader in another process checks it too.
    const fresh = join(tempDir('layout'), 'store')
    await new EmbeddedStore(fresh).close()
    const env2 = open({ path: fresh, maxDbs: 8, compression: false })
    assert.equal(env2.openDB({ name: 'format', encoding: 'string' }).get('layout'), '3')
    await env2.close()
  })

  // Layout 2 (keys headed by the dataset's name) → 3 (by its id). A layout-2 store is made by hand here, as the
  // previous version wrote it: two datasets, tiles of two sizes, events, more entries than one upgrade transaction
  // moves (RENUMBER_CHUNK, 10,000), and marked or unmarked (stores from before the mark).
  for (const marked of [true, false]) {
    test(`a layout-2 store (${marked ? 'marked' : 'unmarked'}) reads as it is read-only, and a writer upgrades it in place to dataset ids: every entry and read the same`, async () => {
      const dir = join(tempDir('upgrade'), 'store')
      const OTHER = 'OTHER_GROUP_BY_V2_STREAMING'
      const env = open({ path: dir, maxDbs: 16, compression: false, pageSize: LMDB_PAGE_BYTES })
      const tilesDb = env.openDB({ name: 'tiles', keyEncoding: 'binary', encoding: 'binary' })
      const eventsDb = env.openDB({ name: 'events', keyEncoding: 'binary', encoding: 'binary' })
      env.openDB({ name: 'meta', encoding: 'string' })
      if (marked) await env.openDB({ name: 'format', encoding: 'string' }).put('layout', '2')
      const keyOf = (i: number): Buffer => Buffer.from([0x02, ...Buffer.from(`k${i}`)])
      const v2Tile = (ds: string, key: Buffer, size: number, start: number): Buffer => {
        const k = Buffer.concat([Buffer.from(`${ds}\u0000`), Buffer.from([key.length >> 8, key.length & 0xff]), key, Buffer.alloc(16)])
        k.writeBigUInt64BE(BigInt(size), k.length - 16)
        k.writeBigUInt64BE(BigInt(start) ^ (1n << 63n), k.length - 8)
        return k
      }
      const value = (latest: number, text: string): Buffer => { const v = Buffer.alloc(8 + text.length); v.writeBigInt64BE(BigInt(latest)); v.write(text, 8); return v }
      await env.transaction(() => {
        for (let i = 0; i < 12_000; i++) tilesDb.put(v2Tile(DS, keyOf(i), TILE, (i % 7) * TILE), value(1_701_475_200_000 + i, `t${i}`))
        for (let i = 0; i < 300; i++) tilesDb.put(v2Tile(OTHER, keyOf(i), 3_600_000, 0), value(1_701_475_200_000, `h${i}`))
        for (let i = 0; i < 50; i++) {
          const k = keyOf(i)
          const ev = Buffer.concat([Buffer.from(`${DS}\u0000`), Buffer.from([0, k.length]), k, Buffer.alloc(8), Buffer.alloc(16, i)])
          ev.writeBigUInt64BE(BigInt(1_701_475_200_000 + i) ^ (1n << 63n), 3 + DS.length + k.length)
          eventsDb.put(ev, Buffer.from(`e${i}`))
        }
      })
      await env.close()
      const snapshot = async (store: EmbeddedStore): Promise<{ entries: string[], reads: string }> => {
        const entries: string[] = []
        for await (const [k, v] of store.entries()) entries.push(`${toHex(k)} ${toHex(v)}`)
        const reads = JSON.stringify([
          (await store.readTiles(DS, keyOf(5), TILE, 0, 7 * TILE)).map(t => [t.tileStartMillis, t.latestMillis, Buffer.from(t.value).toString()]),
          (await store.readTiles(OTHER, keyOf(299), 3_600_000, 0, 3_600_000)).map(t => Buffer.from(t.value).toString()),
          (await store.readEvents(DS, keyOf(7), 0, 2e12)).map(e => [e.tsMillis, Buffer.from(e.value).toString()]),
          (await store.readTiles('NEVER_WRITTEN_STREAMING', keyOf(5), TILE, 0, 7 * TILE)).length
        ])
        return { entries, reads }
      }
      const reader = new EmbeddedStore(dir, { readOnly: true })
      const before = await snapshot(reader)
      await reader.close()
      assert.equal(before.entries.length, 12_000 + 300 + 50)
      assert.equal(before.reads, JSON.stringify([[[5 * TILE, 1_701_475_200_005, 't5']], ['h299'], [[1_701_475_200_007, 'e7']], 0]))

      const writer = new EmbeddedStore(dir)
      const after = await snapshot(writer)
      assert.deepEqual(after, before)
      // It writes on in layout 3: a new tile of the dataset, and one of a third dataset.
      await writer.writeTiles(DS, TILE, tiles([[keyOf(5), 7 * TILE, 'new']]))
      await writer.writeTiles('THIRD_STREAMING', TILE, tiles([[keyOf(1), 0, 'third']]))
      assert.deepEqual((await writer.readTiles(DS, keyOf(5), TILE, 6 * TILE, 8 * TILE)).map(t => Buffer.from(t.value).toString()), ['new'])
      await writer.close()

      const raw = open({ path: dir, maxDbs: 16, compression: false, readOnly: true })
      assert.equal(raw.openDB({ name: 'format', encoding: 'string' }).get('layout'), '3')
      const ids = new Map<string, number>()
      for (const { key, value: v } of raw.openDB({ name: 'datasets', keyEncoding: 'binary', encoding: 'binary' }).getRange({})) ids.set((key as Buffer).toString(), (v as Buffer).readUInt32BE(0))
      assert.deepEqual([...ids.values()].sort(), [1, 2, 3])
      assert.equal(ids.get('THIRD_STREAMING'), 3, 'a new dataset takes the next id')
      for (const name of ['tiles', 'events']) {
        for (const { key } of raw.openDB({ name, keyEncoding: 'binary', encoding: 'binary' }).getRange({})) {
          assert.ok([1, 2, 3].includes((key as Buffer).readUInt32BE(0)), `${name}: a key not headed by a dataset id: ${(key as Buffer).toString('hex')}`)
        }
      }
      await raw.close()
    })
  }

  test('an upgrade a crash interrupted: readers refuse the store until a writer has finished it', async () => {
    const dir = join(tempDir('upgrade-crash'), 'store')
    const env = open({ path: dir, maxDbs: 16, compression: false, pageSize: LMDB_PAGE_BYTES })
    const tilesDb = env.openDB({ name: 'tiles', keyEncoding: 'binary', encoding: 'binary' })
    const latest = Buffer.alloc(8)
    latest.writeBigInt64BE(1_701_475_200_000n)
    // One entry moved (id 1), one not yet.
    await env.openDB({ name: 'datasets', keyEncoding: 'binary', encoding: 'binary' }).put(Buffer.from(DS), Buffer.from([0, 0, 0, 1]))
    const tail = Buffer.concat([Buffer.from([0, 2]), Buffer.from(K), Buffer.alloc(16)])
    tail.writeBigUInt64BE(BigInt(TILE), tail.length - 16)
    const moved = Buffer.concat([Buffer.from([0, 0, 0, 1]), tail])
    moved.writeBigUInt64BE(1n << 63n, moved.length - 8)
    const notYet = Buffer.concat([Buffer.from(`${DS}\u0000`), tail])
    notYet.writeBigUInt64BE((1n << 63n) + BigInt(TILE), notYet.length - 8)
    await tilesDb.put(moved, Buffer.concat([latest, Buffer.from('a')]))
    await tilesDb.put(notYet, Buffer.concat([latest, Buffer.from('b')]))
    await env.openDB({ name: 'format', encoding: 'string' }).put('layout', 'migrating:3')
    await env.close()
    assert.throws(() => new EmbeddedStore(dir, { readOnly: true }), (e: unknown) => isTilekilnError(e) && /being upgraded to layout 3/.test(e.message))
    await new EmbeddedStore(dir).close()
    const reader = new EmbeddedStore(dir, { readOnly: true })
    assert.deepEqual((await reader.readTiles(DS, K, TILE, 0, 2 * TILE)).map(t => Buffer.from(t.value).toString()), ['a', 'b'])
    await reader.close()
  })

  test('page size: a new store has 16 KiB pages; a store made with 4 KiB pages keeps them, and reads and writes as before', async () => {
    const pageOf = async (dir: string): Promise<number> => {
      const env = open({ path: dir, maxDbs: 16, compression: false, readOnly: true })
      const size = (env.getStats() as { pageSize: number }).pageSize
      await env.close()
      return size
    }
    const fresh = join(tempDir('page'), 'store')
    const a = new EmbeddedStore(fresh)
    await a.writeTiles(DS, TILE, tiles([[K, 0, 'new']]))
    await a.close()
    assert.equal(await pageOf(fresh), LMDB_PAGE_BYTES)
    assert.equal(LMDB_PAGE_BYTES, 16384)
    // A store of an earlier version: 4 KiB pages (LMDB's default here), one tile in this layout.
    const old = join(tempDir('page'), 'store')
    const env = open({ path: old, maxDbs: 16, compression: false })
    const latest = Buffer.alloc(8)
    latest.writeBigInt64BE(1_701_475_200_000n)
    const tileKey = Buffer.concat([Buffer.from(`${DS}\u0000`), Buffer.from([0, 2]), Buffer.from(K), Buffer.alloc(8), Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0])])
    tileKey.writeBigUInt64BE(BigInt(TILE), tileKey.length - 16)
    await env.openDB({ name: 'tiles', keyEncoding: 'binary', encoding: 'binary' }).put(tileKey, Buffer.concat([latest, Buffer.from('old')]))
    await env.close()
    assert.equal(await pageOf(old), 4096)
    const b = new EmbeddedStore(old)
    await b.writeTiles(DS, TILE, tiles([[K, TILE, 'next']]))
    const read = await b.readTiles(DS, K, TILE, 0, 2 * TILE)
    assert.deepEqual(read.map(t => [t.tileStartMillis, Buffer.from(t.value).toString()]), [[0, 'old'], [TILE, 'next']])
    await b.close()
    assert.equal(await pageOf(old), 4096)
  })

  test('a store written before the scale-out databases opens read-only: no checkpoints, and a clear refusal to write', async () => {
    const dir = join(tempDir('old'), 'store')
    const env = open({ path: dir, maxDbs: 4, compression: false })
    env.openDB({ name: 'tiles', keyEncoding: 'binary', encoding: 'binary' })
    env.openDB({ name: 'meta', encoding: 'string' })
    await env.put('x', 'y')
    await env.close()
    const store = new EmbeddedStore(dir, { readOnly: true })
    try {
      assert.equal(await store.readCheckpoint(SCOPE, 0), null)
      assert.deepEqual(await store.checkpointPartitions(SCOPE), [])
      await assert.rejects(store.acquireEpoch(SCOPE, 0), (e: unknown) => isTilekilnError(e) && e.context.fatal === true && /read-only/.test(e.message))
      await assert.rejects(store.writeTiles(DS, TILE, tiles([[K, 0, 'x']])), /read-only/)
    } finally {
      await store.close()
    }
  })

  const mountSkip = ((): string | false => {
    if (process.platform !== 'linux') return 'needs Linux tmpfs'
    if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs (CI runs as root)'
    return false
  })()

  /** A fresh 20 MB tmpfs, or null (the test is skipped) when it cannot be mounted. */
  const mountSmall = (t: { skip: (why: string) => void }): string | null => {
    const mnt = tempDir('full')
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=20m', 'tmpfs', mnt], { encoding: 'utf8', timeout: 10_000 })
    if (r.status !== 0) { t.skip(`cannot mount a tmpfs here: ${r.stderr}`); return null }
    return mnt
  }

  test('a full disk (20 MB tmpfs) is a fatal TK_STORE_FULL naming the directory; every acknowledged write is still there', { skip: mountSkip }, async (t) => {
    const mnt = mountSmall(t)
    if (mnt === null) return
    try {
      const dir = join(mnt, 'store')
      mkdirSync(dir)
      const store = new EmbeddedStore(dir)
      const durable: TilePuts[] = []
      const fatal: unknown[] = []
      const writer = new KvWriter<TilePuts>(writeTilesTo(store, DS, TILE), {
        onDurable: b => durable.push(b.meta),
        onError: () => {},
        onFatal: e => fatal.push(e)
      }, { maxQueuedPuts: 20_000 })
      let enqueued = 0
      let failure: unknown = null
      try {
        // 100-byte tiles, 2,000 a batch: the disk fills after some 70 batches.
        for (let b = 0; b < 400 && failure === null; b++) {
          await writer.ready()
          const batch = tiles(Array.from({ length: 2000 }, (_, i) => [new Uint8Array([0x02, b & 0xff, b >> 8, i & 0xff, i >> 8]), 0, `batch ${b} `.padEnd(100, '.')] as const))
          writer.enqueue(batch, batch)
          enqueued++
        }
        await writer.drain()
      } catch (e) {
        failure = e
      }
      assert.ok(failure !== null, `the writer stopped (${enqueued} batches enqueued)`)
      assert.ok(isTilekilnError(failure), String(failure))
      assert.equal(failure.code, 'TK_STORE_FULL')
      assert.match(failure.message, new RegExp(`^the disk holding the embedded store at ${dir} is full \\(\\d[\\d,]* bytes free; LMDB: .*\\): the tile write of 2000 entries was not committed, everything acknowledged before it is in the store`))
      assert.equal(failure.context.store, `embedded:${dir}`)
      assert.deepEqual(fatal, [failure])
      assert.ok(durable.length > 10, `${durable.length} batches acknowledged before the disk was full`)
      t.diagnostic(`${durable.length} of ${enqueued} batches acknowledged; then: ${failure.message}`)
      await store.close().catch(() => {})
      // Reopened: every acknowledged tile is there with its bytes.
      const after = new EmbeddedStore(dir, { readOnly: true })
      try {
        for (const b of durable) {
          for (let i = 0; i < b.count; i += 97) {
            const got = await after.readTiles(DS, b.key(i), TILE, 0, 1)
            assert.equal(got.length, 1)
            assert.deepEqual(got[0]!.value, b.value(i))
          }
        }
      } finally {
        await after.close()
      }
    } finally {
      spawnSync('umount', ['-l', mnt], { timeout: 10_000 })
    }
  })

  test('tilekiln run onto a full disk: exit 1 in seconds with TK_STORE_FULL and the directory, no stack trace', { skip: mountSkip }, async (t) => {
    const mnt = mountSmall(t)
    if (mnt === null) return
    try {
      const input = join(tempDir('full-input'), 'events.jsonl')
      const lines: string[] = []
      for (let i = 0; i < 200_000; i++) lines.push(`{"user_id":${(i * 7919) % 50_000},"ts":${Date.UTC(2024, 0, 1) + i * 800},"price":${i % 100}}`)
      writeFileSync(input, lines.join('\n') + '\n')
      const store = join(mnt, 'store')
      const started = Date.now()
      const r = await tilekiln(['run', '--group-by', 'examples/group_bys/clicks.v1.json', '--source', `file:${input}`, '--store', `embedded:${store}`, '--until-end', '--progress', '0'], {}, 120_000)
      const took = Date.now() - started
      assert.equal(r.code, 1, r.stderr)
      assert.ok(took < 60_000, `took ${took} ms`)
      assert.match(r.stderr, new RegExp(`tilekiln run: the disk holding the embedded store at ${store} is full .*Free space there \\(or use another --store\\) and restart .*\\[TK_STORE_FULL\\]`))
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
      t.diagnostic(r.stderr.trim().split('\n').at(-1)!)
    } finally {
      spawnSync('umount', ['-l', mnt], { timeout: 10_000 })
    }
  })
})
