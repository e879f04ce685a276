// One body of tests every TileStore must pass (store.ts is the contract): the in-memory store, the embedded LMDB
// store, Redis and Redis Cluster run it (test/sink/memory-store.test.ts, embedded-store.test.ts,
// test/integration/redis-conformance.test.ts). What differs between stores (layout, TTL, their key limit, how
// early a fence bites) is tested beside each store; here only what the contract promises.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { T } from '../../src/api/data-type.ts'
import { toHex } from '../../src/codec/bytes.ts'
import { encodeEventKey, IDENTITY_BYTES, writeIdentity } from '../../src/codec/event-key.ts'
import { KeyCodec } from '../../src/codec/key.ts'
import { encodeTileKey } from '../../src/codec/tile-key.ts'
import { isTilekilnError } from '../../src/errors.ts'
import { EventPuts, EventPutsWriter } from '../../src/sink/event-puts.ts'
import { MAX_KEY_BYTES, METADATA_PREFIX, type Fence, type TileStore } from '../../src/sink/store.ts'
import { TilePuts, TilePutsWriter } from '../../src/sink/tile-puts.ts'

const DS = 'TEST_CONFORMANCE_STREAMING'
const OTHER_DS = 'TEST_OTHER_STREAMING'
const TILE = 300_000
const DAY = 86_400_000
const T0 = Date.UTC(2024, 0, 10, 23, 50) // tiles from here cross midnight (two Redis day buckets)
const strings = new KeyCodec([{ name: 'id', type: T.string }])
const longs = new KeyCodec([{ name: 'id', type: T.long }])
const A = strings.encode(['a'])
const B = strings.encode(['bee'])
const utf8 = new TextEncoder()

type Put = readonly [key: Uint8Array, tileStart: number, value: string]

export function tiles (puts: readonly Put[], partitions?: readonly number[]): TilePuts {
  const w = new TilePutsWriter()
  w.begin()
  for (const [key, start, value] of puts) { w.beginPut(key, start).raw(Buffer.from(value)); w.endValue() }
  return new TilePuts(w.finish(), partitions === undefined ? undefined : Int32Array.from(partitions))
}

type Ev = readonly [key: Uint8Array, ts: number, partition: number, position: number, value: string]

function events (list: readonly Ev[]): EventPuts {
  const w = new EventPutsWriter()
  w.begin()
  for (const [key, ts, p, pos, value] of list) {
    const bw = w.beginPut()
    bw.raw(key)
    w.keyEnd(ts, p, pos, 0)
    bw.raw(Buffer.from(value))
    w.endValue()
  }
  return new EventPuts(w.finish())
}

function identity (partition: number, position: number): Uint8Array {
  const id = new Uint8Array(IDENTITY_BYTES)
  writeIdentity(id, 0, partition, position, 0)
  return id
}

const text = (v: Uint8Array): string => Buffer.from(v).toString()

async function tileText (store: TileStore, key: Uint8Array, start: number, dataset = DS): Promise<string | undefined> {
  const t = await store.readTiles(dataset, key, TILE, start, start + 1)
  return t.length === 0 ? undefined : text(t[0]!.value)
}

/** entries() as sorted `key value` hex lines, repeated lines dropped (Redis's SCAN may report a key twice). */
async function lines (store: TileStore): Promise<string[]> {
  const out: string[] = []
  for await (const [k, v] of store.entries()) out.push(`${toHex(k)} ${toHex(v)}`)
  return [...new Set(out)].sort()
}

const tileLine = (dataset: string, key: Uint8Array, start: number, value: string): string =>
  `${toHex(encodeTileKey({ dataset, keyBytes: key, tileSizeMillis: TILE, tileStartMillis: start }))} ${toHex(Buffer.from(value))}`

function fence (scope: string, epochs: Record<number, number>): Fence {
  return { scope, epochs: new Map(Object.entries(epochs).map(([p, e]) => [Number(p), e])) }
}

export interface ConformanceOptions {
  readonly skip?: string | false
  /** Opens a fresh, empty store (its own directory or key prefix). */
  readonly open: () => Promise<TileStore>
}

export function storeConformance (name: string, o: ConformanceOptions): void {
  describe(`${name}: the TileStore contract`, { skip: o.skip ?? false, timeout: 120_000 }, () => {
    const withStore = async (fn: (store: TileStore) => Promise<void>): Promise<void> => {
      const store = await o.open()
      try { await fn(store) } finally { await store.close() }
    }

    test('tiles: upserts, whole-tile overwrites, [from, to) ranges across days, other keys, sizes and datasets apart', () => withStore(async store => {
      const starts = [0, 1, 2, 3, 4].map(i => T0 + i * TILE)
      await store.writeTiles(DS, TILE, tiles(starts.map((s, i) => [A, s, `v${i}`])))
      await store.writeTiles(DS, TILE, tiles([[A, starts[1]!, 'v1-new'], [A, starts[3]!, 'v3-new'], [B, starts[0]!, 'b0']]))
      const show = async (from: number, to: number, key = A): Promise<[number, string][]> =>
        (await store.readTiles(DS, key, TILE, from, to)).map(t => [t.tileStartMillis, text(t.value)])
      assert.deepEqual(await show(starts[0]!, starts[4]! + TILE), [[starts[0], 'v0'], [starts[1], 'v1-new'], [starts[2], 'v2'], [starts[3], 'v3-new'], [starts[4], 'v4']])
      assert.deepEqual(await show(starts[1]!, starts[3]!), [[starts[1], 'v1-new'], [starts[2], 'v2']])
      assert.deepEqual(await show(starts[1]! + 1, starts[3]! + 1), [[starts[2], 'v2'], [starts[3], 'v3-new']])
      assert.deepEqual(await show(starts[2]!, starts[2]!), [])
      assert.deepEqual(await show(-Infinity, Infinity, B), [[starts[0], 'b0']])
      assert.deepEqual(await store.readTiles(DS, A, 3_600_000, -Infinity, Infinity), [])
      assert.deepEqual(await store.readTiles(OTHER_DS, A, TILE, -Infinity, Infinity), [])
      // Negative starts, far-apart days, unbounded on either side.
      const far = [-DAY - TILE, -TILE, 0, 40 * DAY]
      await store.writeTiles(DS, TILE, tiles(far.map(s => [B, s, `t${s}`])))
      assert.deepEqual((await show(-Infinity, T0, B)).map(([s]) => s), far)
      assert.deepEqual((await show(0, Infinity, B)).map(([s]) => s), [0, 40 * DAY, starts[0]])
      // Re-writing the same batch leaves the same state.
      const again = tiles([[A, starts[0]!, 'v0']])
      await store.writeTiles(DS, TILE, again)
      await store.writeTiles(DS, TILE, again)
      assert.equal(await tileText(store, A, starts[0]!), 'v0')
    }))

    test('one batch of many keys in random order, some tiles put several times, fenced or not: the last put of each tile wins', () => withStore(async store => {
      // Stores may reorder a batch's puts (the embedded store issues them in key order): never two puts of one tile.
      let seed = 12345
      const rand = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n }
      // Keys of 1 to 300 bytes, many sharing their first bytes, so that key order and batch order differ.
      const keys = Array.from({ length: 60 }, (_, k) => {
        const b = new Uint8Array(1 + (k % 7 === 0 ? 250 + k : rand(12)))
        for (let i = 0; i < b.length; i++) b[i] = i < 2 ? k % 3 : rand(256)
        return b
      })
      const scope = `order-${Math.random()}`
      const epoch = await store.acquireEpoch(scope, 1)
      for (const fenced of [false, true]) {
        const puts: Put[] = []
        const last = new Map<string, string>()
        for (let n = 0; n < 2000; n++) {
          const key = keys[rand(keys.length)]!
          const start = T0 + rand(4) * TILE
          const value = `${fenced ? 'f' : 'p'}${n}`
          puts.push([key, start, value])
          last.set(`${Buffer.from(key).toString('hex')}@${start}`, value)
        }
        const parts = puts.map((_, i) => (fenced ? 1 + (i % 2) : 0))
        await store.writeTiles(DS, TILE, tiles(puts, parts), fenced ? fence(scope, { 1: epoch }) : undefined)
        for (const [id, value] of last) {
          const [hex, start] = id.split('@')
          assert.equal(await tileText(store, Buffer.from(hex!, 'hex'), Number(start)), value, `${fenced ? 'fenced' : 'plain'} ${id}`)
        }
      }
    }))

    test('readTileRanges: many ranges of many keys (and sizes, days, open ends) in one call equal readTiles per range', () => withStore(async store => {
      // 24 keys: on a cluster they fall on every master, so one call spans several pipelines.
      const keys = Array.from({ length: 24 }, (_, k) => longs.encode([k * 7919]))
      const HOUR = 3_600_000
      const puts: Put[] = []
      for (let k = 0; k < keys.length; k++) {
        for (let i = -3; i < 40; i += 1 + (k % 3)) puts.push([keys[k]!, T0 + i * TILE, `f${k}/${i}`])
      }
      await store.writeTiles(DS, TILE, tiles(puts))
      await store.writeTiles(DS, HOUR, tiles(keys.map((key, k) => [key, T0 - 50 * 60_000 + HOUR, `h${k}`]))) // the hour after T0's
      await store.writeTiles(DS, DAY, tiles(keys.filter((_, k) => k % 2 === 0).map(key => [key, T0 - 23 * HOUR - 50 * 60_000, 'd'])))
      const ranges: [number, number, number][] = [
        [TILE, T0, T0 + 10 * TILE], // across midnight: two day buckets
        [TILE, -Infinity, T0 + 2 * TILE], // open start: the day index
        [TILE, T0 + 5 * TILE + 0.5, Infinity], // open end, a fractional start
        [HOUR, T0 - DAY, T0 + DAY],
        [DAY, -Infinity, Infinity],
        [TILE, T0 + 3 * TILE, T0 + 3 * TILE], // empty
        [TILE, T0 + 7 * TILE, T0 + 2 * TILE], // inverted: empty
        [TILE, T0, T0 + 10 * TILE], // the first again
        [TILE, T0 - 2 * DAY, T0 + DAY] // room for 864 tiles: Redis reads such ranges with a pipeline, not its script
      ]
      const r = (k: number, n: number): [number, number, number][] => Array.from({ length: n }, (_, i) => ranges[(k + i) % ranges.length]!)
      const reads = keys.map((keyBytes, k) => ({ keyBytes, ranges: r(k, 1 + (k % ranges.length)).map(([tileSizeMillis, fromMillis, toMillis]) => ({ tileSizeMillis, fromMillis, toMillis })) }))
      // a key without ranges, and a key without tiles
      reads.push({ keyBytes: A, ranges: [] }, { keyBytes: strings.encode(['nobody']), ranges: [{ tileSizeMillis: TILE, fromMillis: -Infinity, toMillis: Infinity }] })
      const show = (ts: readonly { tileStartMillis: number, latestMillis: number, value: Uint8Array }[]): [number, number, string][] => ts.map(t => [t.tileStartMillis, t.latestMillis, text(t.value)])
      // What was written, by key and size (a batch without latest times stores the tile start as the latest).
      const written = new Map<string, [number, number, string][]>()
      const add = (key: Uint8Array, size: number, start: number, value: string): void => {
        const id = `${toHex(key)}/${size}`
        written.set(id, [...(written.get(id) ?? []), [start, start, value]])
      }
      for (const [key, start, value] of puts) add(key, TILE, start, value)
      keys.forEach((key, k) => add(key, HOUR, T0 - 50 * 60_000 + HOUR, `h${k}`))
      keys.forEach((key, k) => { if (k % 2 === 0) add(key, DAY, T0 - 23 * HOUR - 50 * 60_000, 'd') })
      const got = await store.readTileRanges(DS, reads)
      assert.equal(got.length, reads.length)
      let tilesSeen = 0
      for (let i = 0; i < reads.length; i++) {
        assert.equal(got[i]!.length, reads[i]!.ranges.length)
        for (let j = 0; j < reads[i]!.ranges.length; j++) {
          const g = reads[i]!.ranges[j]!
          const expected = (written.get(`${toHex(reads[i]!.keyBytes)}/${g.tileSizeMillis}`) ?? []).filter(([s]) => s >= g.fromMillis && s < g.toMillis).sort((a, b) => a[0] - b[0])
          assert.deepEqual(show(got[i]![j]!), expected, `key ${i}, range ${j}`)
          assert.deepEqual(show(await store.readTiles(DS, reads[i]!.keyBytes, g.tileSizeMillis, g.fromMillis, g.toMillis)), expected, `key ${i}, range ${j} (readTiles)`)
          tilesSeen += expected.length
        }
      }
      assert.ok(tilesSeen > 200, `${tilesSeen} tiles`)
      assert.deepEqual(await store.readTileRanges(DS, []), [])
      assert.deepEqual(await store.readTileRanges(OTHER_DS, reads.slice(0, 2)), reads.slice(0, 2).map(x => x.ranges.map(() => [])))
    }))

    test('tiles keep their latest event time (negative and far ones too); a batch without one stores the tile start', () => withStore(async store => {
      const w = new TilePutsWriter()
      w.begin()
      const starts = [T0, T0 + TILE, -TILE]
      const latest = [T0 + 17, T0 + TILE + TILE - 1, -TILE + 5]
      for (const s of starts) { w.beginPut(A, s).raw(Buffer.from(`x${s}`)); w.endValue() }
      await store.writeTiles(DS, TILE, new TilePuts(w.finish(), undefined, Float64Array.from(latest)))
      const read = await store.readTiles(DS, A, TILE, -Infinity, Infinity)
      assert.deepEqual(read.map(t => [t.tileStartMillis, t.latestMillis, text(t.value)]), [[-TILE, -TILE + 5, `x${-TILE}`], [T0, T0 + 17, `x${T0}`], [T0 + TILE, T0 + 2 * TILE - 1, `x${T0 + TILE}`]])
      // a rewrite replaces the time with the value
      await store.writeTiles(DS, TILE, tiles([[A, T0, 'y']]))
      assert.deepEqual((await store.readTiles(DS, A, TILE, T0, T0 + 1)).map(t => [t.latestMillis, text(t.value)]), [[T0, 'y']])
      // entries() reports the tile record alone
      for await (const [, v] of store.entries()) assert.ok(!text(v).includes('\u0000'), 'no time prefix in entries()')
    }))

    test('events: appended once per identity, read by (ts, identity) within [from, to), other keys apart', () => withStore(async store => {
      const t = T0
      await store.appendEvents(DS, events([[A, t + 5, 0, 10, 'x'], [A, t, 1, 3, 'y'], [A, t, 0, 7, 'z'], [B, t, 0, 1, 'other key'], [A, t + DAY, 0, 11, 'next day']]))
      // A replay adds nothing; the same identity with other bytes replaces its event.
      await store.appendEvents(DS, events([[A, t + 5, 0, 10, 'x'], [A, t, 0, 7, 'z2']]))
      const read = await store.readEvents(DS, A, t, t + DAY + 1)
      assert.deepEqual(read.map(e => [e.tsMillis, toHex(e.identity), text(e.value)]), [
        [t, toHex(identity(0, 7)), 'z2'], [t, toHex(identity(1, 3)), 'y'], [t + 5, toHex(identity(0, 10)), 'x'], [t + DAY, toHex(identity(0, 11)), 'next day']
      ])
      assert.deepEqual((await store.readEvents(DS, A, t + 1, t + DAY)).map(e => e.tsMillis), [t + 5])
      assert.deepEqual((await store.readEvents(DS, A, -Infinity, t + 5)).map(e => e.tsMillis), [t, t])
      assert.deepEqual((await store.readEvents(DS, B, -Infinity, Infinity)).map(e => text(e.value)), ['other key'])
      assert.deepEqual(await store.readEvents(OTHER_DS, A, -Infinity, Infinity), [])
    }))

    test('metadata: put, overwrite, read; missing is undefined', () => withStore(async store => {
      assert.equal(await store.getMetadata('g.v1'), undefined)
      await store.putMetadata('g.v1', '{"a":1}')
      await store.putMetadata('g.v1', '{"a":"é"}')
      await store.putMetadata('other', 'x')
      assert.equal(await store.getMetadata('g.v1'), '{"a":"é"}')
      assert.equal(await store.getMetadata('other'), 'x')
    }))

    test('entries(): exactly the tiles (TileKey), events (event key) and metadata written — never epochs, checkpoints or fences', () => withStore(async store => {
      await store.putMetadata('g.v1', '{"serving":true}')
      const scope = 'TEST_CONFORMANCE_STREAMING/events'
      const e = await store.acquireEpoch(scope, 2)
      // Enough keys to land on every master of a cluster.
      const puts: Put[] = []
      for (let i = 0; i < 120; i++) puts.push([longs.encode([i]), T0 + (i % 4) * TILE, `tile ${i}`])
      await store.writeTiles(DS, TILE, tiles(puts, puts.map(() => 2)), fence(scope, { 2: e }))
      await store.writeTiles(OTHER_DS, TILE, tiles([[A, T0, 'other dataset']]))
      await store.appendEvents(DS, events([[A, T0 + 1, 0, 4, 'event']]))
      assert.equal(await store.writeCheckpoint(scope, 2, e, new Uint8Array([1, 2, 3])), true)
      const expected = [
        `${toHex(utf8.encode(METADATA_PREFIX + 'g.v1'))} ${toHex(utf8.encode('{"serving":true}'))}`,
        ...puts.map(([k, s, v]) => tileLine(DS, k, s, v)),
        tileLine(OTHER_DS, A, T0, 'other dataset'),
        `${toHex(encodeEventKey({ dataset: DS, keyBytes: A, tsMillis: T0 + 1, identity: identity(0, 4) }))} ${toHex(Buffer.from('event'))}`
      ].sort()
      assert.deepEqual(await lines(store), expected)
    }))

    test('key size: a key of maxKeyBytes is stored and read back; a longer one is refused, fatal, and nothing of its batch written', () => withStore(async store => {
      assert.ok(Number.isInteger(store.maxKeyBytes) && store.maxKeyBytes > 256 && store.maxKeyBytes <= MAX_KEY_BYTES, `maxKeyBytes ${store.maxKeyBytes}`)
      const longest = new Uint8Array(store.maxKeyBytes).fill(0x61)
      longest[0] = 0x02
      await store.writeTiles(DS, TILE, tiles([[longest, T0, 'longest']]))
      assert.equal(await tileText(store, longest, T0), 'longest')
      await store.appendEvents(DS, events([[longest, T0, 0, 1, 'longest event']]))
      assert.deepEqual((await store.readEvents(DS, longest, T0, T0 + 1)).map(e => text(e.value)), ['longest event'])
      if (store.maxKeyBytes < MAX_KEY_BYTES) {
        const tooLong = new Uint8Array(store.maxKeyBytes + 1).fill(0x62)
        for (const write of [
          () => store.writeTiles(DS, TILE, tiles([[B, T0, 'before it'], [tooLong, T0, 'x']])),
          () => store.appendEvents(DS, events([[B, T0, 0, 9, 'before it'], [tooLong, T0, 0, 2, 'x']]))
        ]) {
          await assert.rejects(write(), (e: unknown) => {
            assert.ok(isTilekilnError(e), String(e))
            assert.equal(e.code, 'TK_STORE')
            assert.equal(e.context.fatal, true)
            assert.match(e.message, new RegExp(`entity key of ${store.maxKeyBytes + 1} bytes cannot be stored.*up to ${store.maxKeyBytes} bytes`))
            return true
          })
        }
        assert.equal(await tileText(store, B, T0), undefined, 'the batch was refused whole')
        assert.deepEqual(await store.readEvents(DS, B, -Infinity, Infinity), [])
      }
    }))

    test('epochs: strictly increasing per (scope, partition), independent across partitions and scopes of any text', () => withStore(async store => {
      const scopes = ['TEST_CONFORMANCE_STREAMING/events', 'TEST_CONFORMANCE_STREAMING/events2', 'with {braces}: and * ? [x] \\ and é 😀', 'nul\0inside', '']
      for (const s of scopes) {
        assert.equal(await store.acquireEpoch(s, 0), 1, JSON.stringify(s))
        assert.equal(await store.acquireEpoch(s, 0), 2)
        assert.equal(await store.acquireEpoch(s, 7), 1)
      }
      const concurrent = await Promise.all(Array.from({ length: 20 }, async () => await store.acquireEpoch(scopes[0]!, 3)))
      assert.deepEqual([...concurrent].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1))
      await assert.rejects(store.acquireEpoch(scopes[0]!, -1), /partition/)
    }))

    test('checkpoints: written only under the current epoch, read back with it, listed per scope', () => withStore(async store => {
      const s = 'TEST_CONFORMANCE_STREAMING/events'
      const prefixOfS = 'TEST_CONFORMANCE_STREAMING/even'
      assert.equal(await store.readCheckpoint(s, 0), null)
      assert.deepEqual(await store.checkpointPartitions(s), [])
      const e1 = await store.acquireEpoch(s, 0)
      assert.equal(await store.writeCheckpoint(s, 0, e1, new Uint8Array([1, 2, 3])), true)
      assert.deepEqual(await store.readCheckpoint(s, 0), { epoch: e1, bytes: new Uint8Array([1, 2, 3]) })
      const e2 = await store.acquireEpoch(s, 0)
      // The old owner's checkpoint is refused, whole.
      assert.equal(await store.writeCheckpoint(s, 0, e1, new Uint8Array([9, 9])), false)
      assert.deepEqual(await store.readCheckpoint(s, 0), { epoch: e1, bytes: new Uint8Array([1, 2, 3]) })
      assert.equal(await store.writeCheckpoint(s, 0, e2, new Uint8Array(0)), true)
      assert.deepEqual(await store.readCheckpoint(s, 0), { epoch: e2, bytes: new Uint8Array(0) })
      // An epoch never handed out (too new) is not the current one either.
      assert.equal(await store.writeCheckpoint(s, 0, e2 + 1, new Uint8Array([5])), false)
      // A partition without an epoch has no current one.
      assert.equal(await store.writeCheckpoint(s, 5, 1, new Uint8Array([5])), false)
      const big = new Uint8Array(300_000).map((_, i) => i * 7)
      for (const p of [11, 3]) assert.equal(await store.writeCheckpoint(s, p, await store.acquireEpoch(s, p), big), true)
      await store.writeCheckpoint(prefixOfS, 4, await store.acquireEpoch(prefixOfS, 4), new Uint8Array([4]))
      await store.acquireEpoch(s, 8) // an epoch alone is no checkpoint
      assert.deepEqual(await store.checkpointPartitions(s), [0, 3, 11])
      assert.deepEqual(await store.checkpointPartitions(prefixOfS), [4])
      assert.deepEqual((await store.readCheckpoint(s, 11))!.bytes, big)
    }))

    test('fencing: after the new owner wrote a key under epoch e2, writes of an older epoch leave its tiles alone; other partitions are written', () => withStore(async store => {
      const s = 'TEST_CONFORMANCE_STREAMING/events'
      const e1 = await store.acquireEpoch(s, 1)
      const q = await store.acquireEpoch(s, 2)
      // The first owner writes key A (two tiles) under e1.
      assert.deepEqual(await store.writeTiles(DS, TILE, tiles([[A, T0, 'owner 1'], [A, T0 + TILE, 'owner 1']], [1, 1]), fence(s, { 1: e1 })), { fenced: [] })
      // Partition 1 moves: e2; the new owner writes key A.
      const e2 = await store.acquireEpoch(s, 1)
      assert.ok(e2 > e1)
      assert.deepEqual(await store.writeTiles(DS, TILE, tiles([[A, T0, 'owner 2']], [1]), fence(s, { 1: e2 })), { fenced: [] })
      // The old owner wakes up: its tiles of A are refused — both, although the new owner rewrote only one —
      // while a tile of partition 2 in the same call is written.
      const outcome = await store.writeTiles(DS, TILE, tiles([[A, T0, 'zombie'], [B, T0, 'partition 2'], [A, T0 + TILE, 'zombie']], [1, 2, 1]), fence(s, { 1: e1, 2: q }))
      assert.deepEqual(outcome, { fenced: [1] })
      assert.equal(await tileText(store, A, T0), 'owner 2')
      assert.equal(await tileText(store, A, T0 + TILE), 'owner 1')
      assert.equal(await tileText(store, B, T0), 'partition 2')
      // Still refused later, and the new owner still writes.
      assert.deepEqual(await store.writeTiles(DS, TILE, tiles([[A, T0 + 2 * TILE, 'zombie']], [1]), fence(s, { 1: e1 })), { fenced: [1] })
      assert.deepEqual(await store.readTiles(DS, A, TILE, T0 + 2 * TILE, T0 + 3 * TILE), [])
      assert.deepEqual(await store.writeTiles(DS, TILE, tiles([[A, T0 + TILE, 'owner 2']], [1]), fence(s, { 1: e2 })), { fenced: [] })
      assert.equal(await tileText(store, A, T0 + TILE), 'owner 2')
      // Another scope's epochs of the same partition number are another matter.
      const other = await store.acquireEpoch('OTHER_SCOPE', 1)
      assert.deepEqual(await store.writeTiles(DS, TILE, tiles([[A, T0 + 3 * TILE, 'other scope']], [1]), fence('OTHER_SCOPE', { 1: other })), { fenced: [] })
    }))

    test('fencing: one entity written from two partitions is not stale; unfenced puts and calls are written', () => withStore(async store => {
      const s = 'TEST_CONFORMANCE_STREAMING/unkeyed'
      const p0 = await store.acquireEpoch(s, 0)
      await store.acquireEpoch(s, 1)
      const p1 = await store.acquireEpoch(s, 1) // partition 1 is at epoch 2, partition 0 at 1
      assert.deepEqual(await store.writeTiles(DS, TILE, tiles([[A, T0, 'from 1']], [1]), fence(s, { 1: p1 })), { fenced: [] })
      assert.deepEqual(await store.writeTiles(DS, TILE, tiles([[A, T0 + TILE, 'from 0']], [0]), fence(s, { 0: p0 })), { fenced: [] })
      assert.deepEqual(await store.writeTiles(DS, TILE, tiles([[A, T0, 'from 1 again'], [A, T0 + TILE, 'from 0 again']], [1, 0]), fence(s, { 0: p0, 1: p1 })), { fenced: [] })
      assert.equal(await tileText(store, A, T0), 'from 1 again')
      assert.equal(await tileText(store, A, T0 + TILE), 'from 0 again')
      // A partition the fence does not list, a call without fence, an empty fence: written as ever.
      assert.deepEqual(await store.writeTiles(DS, TILE, tiles([[A, T0, 'partition 9']], [9]), fence(s, { 0: p0 })), { fenced: [] })
      await store.writeTiles(DS, TILE, tiles([[A, T0 + TILE, 'no fence']], [1]))
      const empty = await store.writeTiles(DS, TILE, tiles([[B, T0, 'empty fence']]), fence(s, {}))
      assert.deepEqual(empty ?? { fenced: [] }, { fenced: [] })
      assert.equal(await tileText(store, A, T0), 'partition 9')
      assert.equal(await tileText(store, A, T0 + TILE), 'no fence')
      assert.equal(await tileText(store, B, T0), 'empty fence')
    }))

    test('fencing at scale: a stale writer racing the new owner over 200 keys never changes a key after the new owner wrote it', () => withStore(async store => {
      const s = 'TEST_CONFORMANCE_STREAMING/race'
      const e1 = await store.acquireEpoch(s, 4)
      const keys = Array.from({ length: 200 }, (_, i) => longs.encode([1000 + i]))
      await store.writeTiles(DS, TILE, tiles(keys.map(k => [k, T0, 'e1 first']), keys.map(() => 4)), fence(s, { 4: e1 }))
      const e2 = await store.acquireEpoch(s, 4)
      // The new owner writes the even keys; then the stale owner writes every key; then we look.
      const even = keys.filter((_, i) => i % 2 === 0)
      await store.writeTiles(DS, TILE, tiles(even.map(k => [k, T0, 'e2']), even.map(() => 4)), fence(s, { 4: e2 }))
      const stale = await store.writeTiles(DS, TILE, tiles(keys.map(k => [k, T0, 'e1 late']), keys.map(() => 4)), fence(s, { 4: e1 }))
      assert.deepEqual(stale, { fenced: [4] })
      for (let i = 0; i < keys.length; i += 2) assert.equal(await tileText(store, keys[i]!, T0), 'e2', `key ${i}`)
      // The odd keys: the contract allows either (the new owner had not written them); never anything else.
      for (let i = 1; i < keys.length; i += 2) assert.ok(['e1 first', 'e1 late'].includes((await tileText(store, keys[i]!, T0))!), `key ${i}`)
    }))
  })
}
