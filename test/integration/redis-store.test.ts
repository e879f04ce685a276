// The Redis tile store against a real redis-server (started by scripts/test.mjs via test/services/index.ts; the
// outage tests start private ones they can kill). No mocks: every assertion is about what Redis holds or returned.
// Each test writes under its own key prefix and deletes it afterwards, so tests share the server safely.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { type StructType, T } from '../../src/api/data-type.ts'
import { avroSchemaOf } from '../../src/codec/avro.ts'
import { toHex } from '../../src/codec/bytes.ts'
import { KeyCodec } from '../../src/codec/key.ts'
import { encodeTileKey } from '../../src/codec/tile-key.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { isTilekilnError, type TilekilnError } from '../../src/errors.ts'
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'
import { DAY_MILLIS, dayOf, DEFAULT_REDIS_TTL_SECONDS, parseRedisClusterSpec, parseRedisSpec, RedisStore } from '../../src/sink/redis-store.ts'
import type { StoredTile, TileStore } from '../../src/sink/store.ts'
import { TilePuts, TilePutsWriter } from '../../src/sink/tile-puts.ts'
import { openGeneratorSource, parseGeneratorOptions } from '../../src/source/generator.ts'
import { tilekiln } from '../helpers/cli.ts'
import { runEngine } from '../helpers/engine.ts'
import { redisTestBed } from '../helpers/redis.ts'
import { storeLines } from '../helpers/store-dump.ts'
import { groupByPath, referencePath } from '../helpers/reference.ts'
import { freePort, sleep } from '../services/process.ts'
import { startRedis } from '../services/redis.ts'
import { tcpFault } from '../helpers/tcp-fault.ts'

const server = redisTestBed('npm test / node scripts/test.mjs redis-store')
const clusterBed = redisTestBed('npm test / node scripts/test.mjs redis-store', 'cluster')
const BEDS = [['Redis', server], ['Redis Cluster', clusterBed]] as const

const TILE = 300_000
const DS = 'TEST_REDIS_STORE_STREAMING'
const KEY_A = new KeyCodec([{ name: 'id', type: T.string }]).encode(['a'])
const KEY_B = new KeyCodec([{ name: 'id', type: T.string }]).encode(['bee'])



function batch (tiles: readonly (readonly [Uint8Array, number, string])[]): TilePuts {
  const w = new TilePutsWriter()
  w.begin()
  for (const [key, start, value] of tiles) { w.beginPut(key, start).raw(Buffer.from(value)); w.endValue() }
  return new TilePuts(w.finish())
}

const show = (tiles: StoredTile[]): [number, string][] => tiles.map(t => [t.tileStartMillis, Buffer.from(t.value).toString()])


async function rejectsWith (p: Promise<unknown>, code: string, message: RegExp): Promise<TilekilnError> {
  try {
    await p
  } catch (e) {
    assert.ok(isTilekilnError(e), `expected a TilekilnError, got ${String(e)}`)
    assert.equal(e.code, code)
    assert.match(e.message, message)
    return e
  }
  assert.fail('expected a rejection')
}

const T0 = Date.UTC(2024, 0, 10, 23, 50) // 23:50 UTC: tiles from here cross midnight

describe('parseRedisSpec', () => {
  test('host, port, db, credentials, prefix, ttl units, wait; defaults are Zipline\'s', () => {
    assert.deepEqual(parseRedisSpec('redis://127.0.0.1:6380/3?prefix=run1&ttl=2h&wait=1'), {
      host: '127.0.0.1', port: 6380, db: 3, username: undefined, password: undefined, tls: false, prefix: 'run1', ttlSeconds: 7200, waitReplicas: 1
    })
    const d = parseRedisSpec('rediss://u:p%40ss@example.com')
    assert.equal(d.port, 6379)
    assert.equal(d.db, 0)
    assert.equal(d.tls, true)
    assert.equal(d.username, 'u')
    assert.equal(d.password, 'p@ss')
    assert.equal(d.prefix, 'chronon')
    assert.equal(d.ttlSeconds, DEFAULT_REDIS_TTL_SECONDS)
    assert.equal(parseRedisSpec('redis://h?prefix=').prefix, '')
    assert.equal(parseRedisSpec('redis://h?ttl=0').ttlSeconds, 0)
    assert.equal(parseRedisSpec('redis://h?ttl=90').ttlSeconds, 90)
    assert.equal(parseRedisSpec('redis://h').requestTimeoutMillis, undefined)
    assert.equal(parseRedisSpec('redis://h?timeout=250').requestTimeoutMillis, 250)
    assert.equal(parseRedisSpec('redis://h?timeout=250ms').requestTimeoutMillis, 250)
    assert.equal(parseRedisSpec('redis://h?timeout=3s').requestTimeoutMillis, 3000)
    assert.equal(parseRedisSpec('redis://h?timeout=2m').requestTimeoutMillis, 120_000)
    assert.equal(parseRedisClusterSpec('redis+cluster://h:1,h:2?timeout=1s').requestTimeoutMillis, 1000)
  })

  test('bad specs are usage errors that say what is wrong', () => {
    const bad: [string, RegExp][] = [
      ['redis://h/x', /database number/],
      ['redis://h?pefix=a', /unknown option 'pefix'/],
      ['redis://h?ttl=5x', /ttl must be/],
      ['redis://h?wait=-1', /wait must be/],
      ['redis://h?timeout=0', /timeout must be a positive number/],
      ['redis://h?timeout=5h', /timeout must be/],
      ['redis://h?timeout=99999999999', /at most 24 days/],
      ['redis://h?prefix=a{b}', /must not contain \{ or \}/],
      ['http://h', /redis:\/\/ or rediss:\/\//]
    ]
    for (const [spec, why] of bad) {
      assert.throws(() => parseRedisSpec(spec), (e: unknown) => isTilekilnError(e) && e.code === 'TK_USAGE' && why.test(e.message), spec)
    }
  })

  test('day buckets follow Java\'s truncating remainder, as Zipline computes them', () => {
    assert.equal(dayOf(T0), Date.UTC(2024, 0, 10))
    assert.equal(dayOf(0), 0)
    assert.equal(dayOf(-TILE), 0)
    assert.equal(dayOf(-DAY_MILLIS), -DAY_MILLIS)
    assert.equal(dayOf(-DAY_MILLIS - TILE), -DAY_MILLIS)
    assert.ok(Object.is(dayOf(-TILE), 0), 'no −0 in key names')
  })
})

for (const [where, { skip, admin, prefix, keysOf, open }] of BEDS) {
  describe(`RedisStore against a real ${where}`, { skip }, () => {
    test('upsert, overwrite, and ranges [from, to) across day buckets', async () => {
      const store = await open(prefix('ranges'))
      try {
        const starts = [0, 1, 2, 3, 4].map(i => T0 + i * TILE) // 23:50 … 00:10: two days
        await store.writeTiles(DS, TILE, batch(starts.map((s, i) => [KEY_A, s, `v${i}`] as const)))
        await store.writeTiles(DS, TILE, batch([[KEY_A, starts[1]!, 'v1-new'], [KEY_A, starts[3]!, 'v3-new'], [KEY_B, starts[0]!, 'b0']]))
        assert.deepEqual(show(await store.readTiles(DS, KEY_A, TILE, starts[0]!, starts[4]! + TILE)),
          [[starts[0], 'v0'], [starts[1], 'v1-new'], [starts[2], 'v2'], [starts[3], 'v3-new'], [starts[4], 'v4']])
        // Lower bound inclusive, upper exclusive; bounds inside a tile.
        assert.deepEqual(show(await store.readTiles(DS, KEY_A, TILE, starts[1]!, starts[3]!)), [[starts[1], 'v1-new'], [starts[2], 'v2']])
        assert.deepEqual(show(await store.readTiles(DS, KEY_A, TILE, starts[1]! + 1, starts[3]! + 1)), [[starts[2], 'v2'], [starts[3], 'v3-new']])
        assert.deepEqual(await store.readTiles(DS, KEY_A, TILE, starts[2]!, starts[2]!), [])
        // Other keys, tile sizes and datasets are apart.
        assert.deepEqual(show(await store.readTiles(DS, KEY_B, TILE, -Infinity, Infinity)), [[starts[0], 'b0']])
        assert.deepEqual(await store.readTiles(DS, KEY_A, 3_600_000, -Infinity, Infinity), [])
        assert.deepEqual(await store.readTiles('OTHER_STREAMING', KEY_A, TILE, -Infinity, Infinity), [])
        // Far apart: ten days later.
        await store.writeTiles(DS, TILE, batch([[KEY_A, T0 + 10 * DAY_MILLIS, 'later']]))
        assert.deepEqual(show(await store.readTiles(DS, KEY_A, TILE, T0 + TILE, T0 + 11 * DAY_MILLIS)).map(([s]) => s),
          [...starts.slice(1), T0 + 10 * DAY_MILLIS])
      } finally {
        await store.close()
      }
    })

    test('the physical layout is Zipline\'s: buckets, members, scores, TTL; plus our day index', async () => {
      const p = prefix('layout')
      const store = await open(p)
      try {
        const late = T0 + 2 * TILE // 00:00 the next day
        await store.writeTiles(DS, TILE, batch([[KEY_A, T0, 'x'], [KEY_A, late, 'yy']]))
        const tag = `${p}:{${DS}:${Buffer.from(KEY_A).toString('base64')}}`
        const day1 = Date.UTC(2024, 0, 10)
        const day2 = Date.UTC(2024, 0, 11)
        assert.deepEqual(await keysOf(p), [`${tag}:${day1}:${TILE}`, `${tag}:${day2}:${TILE}`, `${tag}:days:${TILE}`].sort())
        const members = await admin!.zrangeBuffer(`${tag}:${day1}:${TILE}`, 0, -1, 'WITHSCORES')
        assert.equal(members.length, 2)
        const member = Buffer.alloc(9)
        member.writeBigInt64BE(BigInt(T0))
        member.write('x', 8)
        assert.deepEqual(members[0], member)
        assert.equal(Number(members[1]!.toString()), T0)
        assert.deepEqual(await admin!.zrange(`${tag}:days:${TILE}`, 0, -1, 'WITHSCORES'), [String(day1), String(day1), String(day2), String(day2)])
        for (const k of await keysOf(p)) {
          const ttl = await admin!.ttl(k)
          assert.ok(ttl > DEFAULT_REDIS_TTL_SECONDS - 60 && ttl <= DEFAULT_REDIS_TTL_SECONDS, `${k}: TTL ${ttl}`)
        }
        // The chronon-semantics §5.4 TileKey of what entries() yields for it.
        const lines = await storeLines(store)
        assert.ok(lines.includes(`${toHex(encodeTileKey({ dataset: DS, keyBytes: KEY_A, tileSizeMillis: TILE, tileStartMillis: late }))} ${toHex(Buffer.from('yy'))}`))
      } finally {
        await store.close()
      }
    })

    test('TTL: set by new tiles (ttl=0 removes it), kept by rewrites, restored when a rewrite empties a bucket', async () => {
      const p = prefix('ttl')
      // 1,000 s, checked as more than 900 s left: the test may take a minute on a loaded machine (it took 11–19 s
      // beside a full suite and failed a 100 s TTL's "more than 90 s left").
      const short = await open(p, { ttlSeconds: 1000 })
      const none = await open(p, { ttlSeconds: 0 })
      const ttls = async (): Promise<Record<string, number>> => {
        const out: Record<string, number> = {}
        for (const k of await keysOf(p)) out[k.slice(k.indexOf('}') + 2)] = await admin!.ttl(k)
        return out
      }
      const about = (t: number): boolean => t > 900 && t <= 1000
      try {
        const day1 = dayOf(T0)
        const day2 = day1 + DAY_MILLIS
        await short.writeTiles(DS, TILE, batch([[KEY_A, T0, 'a'], [KEY_A, T0 + TILE, 'b'], [KEY_A, T0 + 2 * TILE, 'c']]))
        let t = await ttls()
        assert.deepEqual(Object.keys(t).sort(), [`${day1}:${TILE}`, `${day2}:${TILE}`, `days:${TILE}`].sort())
        assert.ok(Object.values(t).every(about), JSON.stringify(t))
        // A rewrite in a bucket of two tiles, from a ttl=0 store: nothing new, TTLs untouched.
        await none.writeTiles(DS, TILE, batch([[KEY_A, T0, 'a2']]))
        t = await ttls()
        assert.ok(Object.values(t).every(about), JSON.stringify(t))
        // Rewriting the only tile of a bucket empties it for a moment; Redis deletes empty sorted sets, so the
        // script treats it as new and the TTL comes back.
        await short.writeTiles(DS, TILE, batch([[KEY_A, T0 + 2 * TILE, 'c2']]))
        assert.ok(about((await ttls())[`${day2}:${TILE}`]!))
        // A new tile from a ttl=0 store persists its bucket and the index, so the index still outlives every bucket.
        await none.writeTiles(DS, TILE, batch([[KEY_A, T0 + 3 * TILE, 'd']]))
        t = await ttls()
        assert.equal(t[`${day2}:${TILE}`], -1)
        assert.equal(t[`days:${TILE}`], -1)
        assert.ok(about(t[`${day1}:${TILE}`]!))
        assert.deepEqual(show(await short.readTiles(DS, KEY_A, TILE, -Infinity, Infinity)), [[T0, 'a2'], [T0 + TILE, 'b'], [T0 + 2 * TILE, 'c2'], [T0 + 3 * TILE, 'd']])
      } finally {
        await short.close()
        await none.close()
      }
    })

    test('unbounded reads find every day through the index; negative tile starts', async () => {
      const store = await open(prefix('unbounded'))
      try {
        const starts = [-DAY_MILLIS - TILE, -DAY_MILLIS, -2 * TILE, -TILE, 0, TILE, 3 * DAY_MILLIS, 40 * DAY_MILLIS]
        await store.writeTiles(DS, TILE, batch(starts.map(s => [KEY_A, s, `t${s}`] as const)))
        assert.deepEqual(show(await store.readTiles(DS, KEY_A, TILE, -Infinity, Infinity)), starts.map(s => [s, `t${s}`]))
        assert.deepEqual(show(await store.readTiles(DS, KEY_A, TILE, -Infinity, 0)).map(([s]) => s), starts.filter(s => s < 0))
        assert.deepEqual(show(await store.readTiles(DS, KEY_A, TILE, -DAY_MILLIS, TILE)).map(([s]) => s), [-DAY_MILLIS, -2 * TILE, -TILE, 0])
        assert.deepEqual(show(await store.readTiles(DS, KEY_A, TILE, TILE, Infinity)).map(([s]) => s), [TILE, 3 * DAY_MILLIS, 40 * DAY_MILLIS])
        // Bounded ranges over more than a month of days go through the index too.
        assert.deepEqual(show(await store.readTiles(DS, KEY_A, TILE, -5000 * DAY_MILLIS, 5000 * DAY_MILLIS)).length, starts.length)
        assert.deepEqual(show(await store.readTiles(DS, KEY_A, TILE, -DAY_MILLIS, 40 * DAY_MILLIS)).map(([s]) => s), starts.slice(1, -1))
        assert.deepEqual(show(await store.readTiles(DS, KEY_A, TILE, -DAY_MILLIS - TILE, 40 * DAY_MILLIS + 1)).map(([s]) => s), starts)
        // Bucket −D holds (−2D, −D]; bucket 0 holds (−D, D), as on the JVM.
        assert.deepEqual(show(await store.readTiles(DS, KEY_B, TILE, -Infinity, Infinity)), [])
      } finally {
        await store.close()
      }
    })

    test('metadata lives under CHRONON_METADATA, without TTL', async () => {
      const p = prefix('meta')
      const store = await open(p)
      try {
        assert.equal(await store.getMetadata('g.v1'), undefined)
        await store.putMetadata('g.v1', '{"a":1}')
        await store.putMetadata('g.v1', '{"a":"é"}')
        assert.equal(await store.getMetadata('g.v1'), '{"a":"é"}')
        const key = `${p}:{CHRONON_METADATA:${Buffer.from('g.v1').toString('base64')}}`
        const raw = await admin!.getBuffer(key)
        assert.ok(raw !== null)
        assert.ok(Math.abs(Number(raw.readBigInt64BE(0)) - Date.now()) < 60_000, 'an 8-byte write time, as Zipline\'s batch values')
        assert.equal(raw.subarray(8).toString('utf8'), '{"a":"é"}')
        assert.equal(await admin!.ttl(key), -1)
      } finally {
        await store.close()
      }
    })

    test('entries() equal the embedded store\'s for the same writes, and see only our prefix and our key shapes', async () => {
      const p = prefix('entries')
      const store = await open(p)
      const neighbour = await open(prefix('neighbour'))
      const dir = mkdtempSync(join(tmpdir(), 'tilekiln-redis-entries-'))
      const embedded = new EmbeddedStore(join(dir, 'store'))
      try {
        const writes: TilePuts[] = []
        for (let b = 0; b < 5; b++) {
          const tiles: [Uint8Array, number, string][] = []
          for (let i = 0; i < 700; i++) tiles.push([new KeyCodec([{ name: 'id', type: T.long }]).encode([i % 97]), T0 + ((i * 7 + b) % 600 - 300) * TILE, `b${b}i${i}`])
          writes.push(batch(tiles))
        }
        for (const s of [store, embedded] as TileStore[]) {
          await s.putMetadata('g.v1', '{"serving":true}')
          for (const w of writes) await s.writeTiles(DS, TILE, new TilePuts(w.bytes.slice().buffer))
        }
        await neighbour.writeTiles(DS, TILE, batch([[KEY_A, T0, 'not ours']]))
        await neighbour.putMetadata('other', 'x')
        // Keys under our prefix that are not ours: Zipline batch values, non-tiled series, strays.
        await admin!.set(`${p}:{X_BATCH:AAE=}`, 'batch ir')
        await admin!.zadd(`${p}:{X_SUMMARIES:AAE=}:${dayOf(T0)}`, T0, 'summary')
        await admin!.set(`${p}:stray`, '1')
        const lines = await storeLines(store)
        assert.ok(lines.length > 1000)
        assert.deepEqual(lines, await storeLines(embedded))
      } finally {
        await store.close()
        await neighbour.close()
        await embedded.close()
        rmSync(dir, { recursive: true, force: true })
      }
    })

    test('a concurrent reader sees every tile exactly once while its tiles are rewritten', async () => {
      const p = prefix('concurrent')
      const store = await open(p)
      const reader = await open(p)
      try {
        const starts = Array.from({ length: 300 }, (_, i) => T0 + i * TILE)
        const version = (v: number): TilePuts => batch(starts.map(s => [KEY_A, s, `version ${v} of ${s}`] as const))
        await store.writeTiles(DS, TILE, version(0))
        let stop = false
        let writes = 0
        const writer = (async () => {
          // Several requests in flight, as the KvWriter issues them.
          while (!stop) {
            await Promise.all([1, 2, 3].map(async () => { await store.writeTiles(DS, TILE, version(++writes)) }))
          }
        })()
        let reads = 0
        const versions = new Set<string>()
        // Until the reads overlapped enough rewrites (2 s on a quiet machine), not for a fixed time: beside a full
        // suite 2 s gave 36 reads. The bound only keeps a broken writer from hanging the test.
        const enough = (): boolean => reads > 50 && writes > 10 && versions.size > 3
        const deadline = Date.now() + 60_000
        try {
          while (!enough() && Date.now() < deadline) {
            for (const [from, to] of [[starts[0]!, starts[299]! + TILE], [-Infinity, Infinity]] as const) {
              const tiles = await reader.readTiles(DS, KEY_A, TILE, from, to)
              assert.deepEqual(tiles.map(t => t.tileStartMillis), starts, `read ${reads}: every tile once, in order`)
              for (const t of tiles) {
                const text = Buffer.from(t.value).toString()
                assert.match(text, new RegExp(`^version \\d+ of ${t.tileStartMillis}$`))
                versions.add(text.split(' ')[1]!)
              }
              reads++
            }
          }
        } finally {
          stop = true
          await writer
        }
        assert.ok(reads > 50, `only ${reads} reads`)
        assert.ok(writes > 10 && versions.size > 3, `the reads overlapped ${writes} rewrites (${versions.size} versions seen)`)
      } finally {
        await store.close()
        await reader.close()
      }
    })

    test('read-only stores refuse writes; WAIT without replicas fails flushed()', async () => {
      const p = prefix('ro')
      const ro = await open(p, { readOnly: true })
      const waiting = await open(p, { waitReplicas: 1, waitTimeoutMillis: 100 })
      try {
        await rejectsWith(ro.writeTiles(DS, TILE, batch([[KEY_A, T0, 'x']])), 'TK_STORE', /read-only/)
        await rejectsWith(ro.putMetadata('g', 'x'), 'TK_STORE', /read-only/)
        await waiting.writeTiles(DS, TILE, batch([[KEY_A, T0, 'x']]))
        await rejectsWith(waiting.flushed(), 'TK_STORE', /only 0 of 1 Redis replica/)
        await ro.flushed() // nothing to wait for
      } finally {
        await ro.close()
        await waiting.close()
      }
    })

  })
}

describe('RedisStore: a reader without script rights', { skip: server.skip }, () => {
  test('an ACL user that may read but not run scripts reads every range, by pipelines after the first NOPERM', async () => {
    const p = server.prefix('acl')
    const user = `tk-reader-${process.pid}`
    const writer = await server.open(p)
    const admin = server.admin as import('ioredis').Redis
    await admin.call('ACL', 'SETUSER', user, 'on', '>secret', '~*', '+@read', '+@connection', '+info', '-@scripting')
    const reader = await server.open(p, { username: user, password: 'secret' })
    try {
      const starts = [0, 1, 2, 3, 4].map(i => T0 + i * TILE) // across midnight: two day buckets
      await writer.writeTiles(DS, TILE, batch(starts.map((s, i) => [KEY_A, s, `v${i}`] as const)))
      await writer.writeTiles(DS, TILE, batch([[KEY_B, starts[2]!, 'b2']]))
      const want = await writer.readTileRanges(DS, [{ keyBytes: KEY_A, ranges: [{ tileSizeMillis: TILE, fromMillis: starts[0]!, toMillis: starts[4]! }] }, { keyBytes: KEY_B, ranges: [{ tileSizeMillis: TILE, fromMillis: -Infinity, toMillis: Infinity }] }])
      assert.deepEqual(want.map(k => k.map(show)), [[[[starts[0], 'v0'], [starts[1], 'v1'], [starts[2], 'v2'], [starts[3], 'v3']]], [[[starts[2], 'b2']]]])
      // The first read meets NOPERM and is answered by pipelines; so is the next.
      for (let i = 0; i < 2; i++) {
        const got = await reader.readTileRanges(DS, [{ keyBytes: KEY_A, ranges: [{ tileSizeMillis: TILE, fromMillis: starts[0]!, toMillis: starts[4]! }] }, { keyBytes: KEY_B, ranges: [{ tileSizeMillis: TILE, fromMillis: -Infinity, toMillis: Infinity }] }])
        assert.deepEqual(got.map(k => k.map(show)), want.map(k => k.map(show)))
      }
      assert.deepEqual(show(await reader.readTiles(DS, KEY_A, TILE, starts[1]!, starts[3]!)), [[starts[1], 'v1'], [starts[2], 'v2']])
    } finally {
      await reader.close()
      await writer.close()
      await admin.call('ACL', 'DELUSER', user)
    }
  })
})

describe('RedisStore: connection failures', { skip: server.skip }, () => {
  test('no server: reads fail after the connect timeout, writes at once, both TK_STORE with the store, dataset and cause', async () => {
    const port = await freePort()
    const store = new RedisStore({ host: '127.0.0.1', port, db: 0, prefix: 'nobody', connectTimeoutMillis: 300 })
    try {
      const r = await rejectsWith(store.readTiles(DS, KEY_A, TILE, 0, 1), 'TK_STORE', /no connection to Redis within 300 ms.*ECONNREFUSED/)
      assert.equal(r.context.dataset, DS)
      const w = await rejectsWith(store.writeTiles(DS, TILE, batch([[KEY_A, T0, 'x']])), 'TK_STORE', /^Redis write of 1 tile\(s\) failed: the connection to Redis is down \(last error: .*ECONNREFUSED.*\); it is (reconnecting|connecting)/)
      assert.equal(w.context.store, `redis://127.0.0.1:${port}/0?prefix=nobody`)
      assert.equal(w.context.dataset, DS)
      await rejectsWith(store.getMetadata('g'), 'TK_STORE', /ECONNREFUSED/)
    } finally {
      await store.close()
    }
  })

  test('a restarted server: writes fail while it is down, the store reconnects by itself', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tilekiln-redis-restart-'))
    let server = await startRedis({ dir, persist: true })
    const store = new RedisStore({ host: '127.0.0.1', port: server.port, db: 0, prefix: 'restart' })
    try {
      await store.connected()
      await store.writeTiles(DS, TILE, batch([[KEY_A, T0, 'before']]))
      await server.stop({ signal: 'SIGKILL' })
      await sleep(200)
      await rejectsWith(store.writeTiles(DS, TILE, batch([[KEY_A, T0 + TILE, 'during']])), 'TK_STORE', /the connection to Redis is down/)
      server = await startRedis({ dir, persist: true, port: server.port })
      await store.connected()
      // The script cache was lost with the process; the store loaded it again on reconnect.
      await store.writeTiles(DS, TILE, batch([[KEY_A, T0 + TILE, 'after']]))
      assert.deepEqual(show(await store.readTiles(DS, KEY_A, TILE, -Infinity, Infinity)), [[T0, 'before'], [T0 + TILE, 'after']])
    } finally {
      await store.close()
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('a connection that opens but is never answered is dropped after the connect timeout; writes pass again once Redis answers', { timeout: 30_000 }, async () => {
    const target = parseRedisSpec(server.url!)
    const relay = await tcpFault(target.port)
    const store = new RedisStore({ host: '127.0.0.1', port: relay.port, db: target.db, prefix: server.prefix('unanswered'), connectTimeoutMillis: 500 })
    try {
      await store.connected()
      await store.writeTiles(DS, TILE, batch([[KEY_A, T0, 'before']]))
      // The path goes bad: the connection is cut, and the reconnect opens a TCP connection nothing answers. ioredis
      // bounds the TCP connect only; its ready check would wait for ever.
      relay.blackhole = true
      relay.cut()
      await sleep(300)
      await rejectsWith(store.writeTiles(DS, TILE, batch([[KEY_A, T0 + TILE, 'during']])), 'TK_STORE', /the connection to Redis is down.*; it is open, waiting for Redis to answer/)
      relay.blackhole = false
      // The writer's retries: each finds the connection down; one after the connect timeout drops it.
      const started = Date.now()
      for (;;) {
        try {
          await store.writeTiles(DS, TILE, batch([[KEY_A, T0 + TILE, 'after']]))
          break
        } catch (e) {
          assert.ok(Date.now() - started < 5000, `still failing after 5 s: ${String(e)}`)
          await sleep(50)
        }
      }
      assert.deepEqual(show(await store.readTiles(DS, KEY_A, TILE, -Infinity, Infinity)), [[T0, 'before'], [T0 + TILE, 'after']])
    } finally {
      await store.close()
      await relay.close()
    }
  })
  test('a read, a checkpoint or an epoch that Redis never answers fails after the request timeout; the connection is reset and the next one passes', { timeout: 30_000 }, async () => {
    const target = parseRedisSpec(server.url!)
    const relay = await tcpFault(target.port)
    const prefix = server.prefix('silent')
    const store = new RedisStore({ host: '127.0.0.1', port: relay.port, db: target.db, prefix, connectTimeoutMillis: 2000, requestTimeoutMillis: 400 })
    const scope = 'SILENT_STREAMING|kafka:t'
    try {
      await store.connected()
      await store.writeTiles(DS, TILE, batch([[KEY_A, T0, 'before']]))
      const epoch = await store.acquireEpoch(scope, 0)
      assert.equal(await store.writeCheckpoint(scope, 0, epoch, new Uint8Array([7])), true)
      // A process that did not run past the timeout (a loaded machine, a long GC) has its answer waiting: it wins.
      // Held in the check phase, the expired timer runs next, before the poll phase reads the answer. (Straight to
      // Redis: the relay runs in this process and would not pass the answer on while it is held.)
      const direct = new RedisStore({ host: '127.0.0.1', port: target.port, db: target.db, prefix, requestTimeoutMillis: 400 })
      try {
        await direct.connected()
        const read = direct.readTiles(DS, KEY_A, TILE, -Infinity, Infinity)
        await new Promise<void>(resolve => setImmediate(() => {
          const until = Date.now() + 1000
          while (Date.now() < until) { /* the event loop held 2.5× the timeout */ }
          resolve()
        }))
        assert.deepEqual(show(await read), [[T0, 'before']])
      } finally {
        await direct.close()
      }
      // The peer goes silent without a reset (a frozen server, a host that vanished): TCP would wait ~15 minutes.
      const calls: [string, () => Promise<unknown>][] = [
        ['a tile read', async () => await store.readTiles(DS, KEY_A, TILE, -Infinity, Infinity)],
        ['a checkpoint read', async () => await store.readCheckpoint(scope, 0)],
        ['an epoch', async () => await store.acquireEpoch(scope, 0)],
        ['a checkpoint write', async () => await store.writeCheckpoint(scope, 0, epoch, new Uint8Array([8]))],
        ['a metadata read', async () => await store.getMetadata('x')]
      ]
      for (const [what, call] of calls) {
        relay.stall()
        const started = Date.now()
        await rejectsWith(call(), 'TK_STORE', /Redis did not answer within 400 ms.*the connections were reset/)
        const took = Date.now() - started
        assert.ok(took >= 390 && took < 3000, `${what} failed after ${took} ms`)
        // The reset connection reconnects through the relay, which relays new connections.
        assert.deepEqual(show(await store.readTiles(DS, KEY_A, TILE, -Infinity, Infinity)), [[T0, 'before']], what)
      }
      assert.deepEqual((await store.readCheckpoint(scope, 0))?.bytes, new Uint8Array([7]))
    } finally {
      await store.close()
      await relay.close()
    }
  })
})

// ---- the engine end to end ------------------------------------------------------------------------------------

const H = { length: 1, timeUnit: 0 }
const D = { length: 1, timeUnit: 1 }
const W7 = { length: 7, timeUnit: 1 }
const GROUP_BY = {
  metaData: { name: 'test.redis_store.v1' },
  sources: [{ events: { table: 'test.events', topic: 'events', query: { selects: { user_id: 'user_id', amount: 'amount', item: 'item' }, timeColumn: 'ts' } } }],
  keyColumns: ['user_id'],
  aggregations: [
    { inputColumn: 'amount', operation: 7, windows: [H, D] },
    { inputColumn: 'amount', operation: 7 }, // unbounded: reads from −∞ through the day index
    { inputColumn: 'amount', operation: 6, windows: [W7] },
    { inputColumn: 'amount', operation: 8, windows: [H] },
    { inputColumn: 'item', operation: 13, argMap: { k: '3' }, windows: [D] },
    { inputColumn: 'item', operation: 4, windows: [D] }
  ]
}
const SCHEMA = avroSchemaOf(T.struct('Event', [
  { name: 'user_id', type: T.long }, { name: 'ts', type: T.long }, { name: 'amount', type: T.double }, { name: 'item', type: T.string }
]) as StructType)
const START = Date.UTC(2024, 2, 1, 7)
/** 24,000 events 25 s apart: a week of event time; out of order by up to a minute (inside the 5 min watermark delay). */
const GEN = `keys=250,zipf=0.8,count=24000,seed=5,start=${START},step=25000,disorder=60000,partitions=2,nulls=0.05`
const END = START + 24_000 * 25_000
const QUERY_TIMES = [START + 3_600_000, START + 2 * DAY_MILLIS + 7 * 60_000, START + 4 * DAY_MILLIS + 1, END, END + 2 * DAY_MILLIS]

function source (extra = ''): ReturnType<typeof openGeneratorSource> {
  return openGeneratorSource(compilePlan(GROUP_BY), parseGeneratorOptions(GEN + extra), SCHEMA)
}

for (const [where, { url, skip, prefix, open }] of BEDS) {
  describe(`the engine into ${where}`, { skip }, () => {
    test('the same events into the embedded store and into Redis: identical dump lines and fetch results', async () => {
      const store = await open(prefix('engine'))
      const embedded = await runEngine(GROUP_BY, source(), { workers: 2, evaluator: 'column-refs' })
      try {
        const redis = await runEngine(GROUP_BY, source(), { workers: 2, evaluator: 'column-refs', store })
        assert.equal(redis.summary.records, 24_000)
        assert.equal(redis.deadLetters.records.length, 0)
        const lines = await storeLines(redis.store)
        assert.ok(lines.length > 10_000, `${lines.length} entries`)
        assert.deepEqual(lines, await storeLines(embedded.store))
        let compared = 0
        for (let key = 0; key < 250; key++) {
          for (const q of key % 5 === 0 ? QUERY_TIMES : [END]) {
            assert.deepEqual(await redis.fetch([key], q), await embedded.fetch([key], q), `key ${key} at ${q}`)
            compared++
          }
        }
        assert.ok(compared >= 450)
        await redis.cleanup()
      } finally {
        await embedded.cleanup()
        await store.close()
      }
    })

    test('tilekiln run/fetch/dump --store redis://… print byte for byte what they print with the embedded store', async () => {
      const GB = groupByPath('airbnb-chronon/api/py/test/sample/production/group_bys/quickstart/returns.v1')
      const CSV = referencePath('chronon', 'quickstart_events', 'returns.csv')
      const dir = mkdtempSync(join(tmpdir(), 'tilekiln-redis-cli-'))
      const redisSpec = `${url!}?prefix=${prefix('cli')}&ttl=1d`
      try {
        const stores = [`embedded:${join(dir, 'store')}`, redisSpec]
        for (const s of stores) {
          const r = await tilekiln(['run', '--group-by', GB, '--source', `file:${CSV}`, '--store', s, '--until-end', '--dead-letter', join(dir, 'dlq.jsonl'), '--progress', '0'])
          assert.equal(r.code, 0, r.stderr)
          assert.match(r.stderr, s.startsWith('redis') ? /into redis(\+cluster)?:\/\/127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+)*(\/0)?\?prefix=tk-test-\w+-cli&ttl=86400 / : /into embedded:/)
        }
        const [a, b] = await Promise.all(stores.map(async s => await tilekiln(['dump', '--store', s])))
        assert.equal(a!.code, 0, a!.stderr)
        assert.equal(b!.code, 0, b!.stderr)
        assert.ok(a!.stdout.split('\n').length > 100)
        assert.equal(b!.stdout, a!.stdout)
        const lines = readFileSync(CSV, 'utf8').trim().split('\n')
        const col = lines[0]!.split(',').indexOf('user_id')
        const users = [...new Set(lines.slice(1).map(l => l.split(',')[col]!))].slice(0, 4)
        for (const user of users) {
          const [fa, fb] = await Promise.all(stores.map(async s => await tilekiln(['fetch', '--group-by', GB, '--store', s, '--key', `user_id=${user}`, '--at', '1701475200000', '--json'])))
          assert.equal(fa!.code, 0, fa!.stderr)
          assert.equal(fb!.stdout, fa!.stdout)
        }
        const bad = await tilekiln(['dump', '--store', 'redis://127.0.0.1:1/0?pefix=x'])
        assert.equal(bad.code, 2)
        assert.match(bad.stderr, /unknown option 'pefix'/)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}

describe('the engine into Redis: an outage', { skip: server.skip }, () => {
  test('a Redis outage mid-run (killed, restarted on its port 3 s later) slows the engine down and loses no tile', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'tilekiln-redis-outage-'))
    let server = await startRedis({ dir, persist: true })
    const store = new RedisStore({ host: '127.0.0.1', port: server.port, db: 0, prefix: 'outage' })
    const embedded = await runEngine(GROUP_BY, source(), { workers: 2, evaluator: 'column-refs' })
    try {
      await store.connected()
      const samples: { at: number, records: number }[] = []
      const logged: string[] = []
      // 6,000 events/s: 4 s of input; the writer pauses the source above 1,000 queued tile writes.
      const running = runEngine(GROUP_BY, source(',rate=6000'), {
        workers: 2,
        evaluator: 'column-refs',
        store,
        writer: { maxQueuedPuts: 1000 },
        // The engine stops reading when a full ring slot waits for the writer: small slots make that prompt.
        ring: { maxRecords: 512 },
        progressMillis: 50,
        onProgress: p => samples.push({ at: Date.now(), records: p.records }),
        log: line => logged.push(line)
      })
      let failed: unknown = null
      running.catch((e: unknown) => { failed = e })
      while (failed === null && (samples.at(-1)?.records ?? 0) < 6000) await sleep(20)
      assert.equal(failed, null)
      const down = Date.now()
      await server.stop({ signal: 'SIGKILL' })
      await sleep(3000)
      const up = Date.now()
      server = await startRedis({ dir, persist: true, port: server.port })
      const run = await running

      // Slowed down: once the writer's queue was full, the source stopped reading until Redis came back.
      const during = samples.filter(s => s.at >= down + 1000 && s.at <= up)
      assert.ok(during.length > 10)
      const advanced = during.at(-1)!.records - during[0]!.records
      assert.ok(advanced < 2500, `the source read ${advanced} records in the last 2 s of the outage (6,000/s unthrottled)`)
      const failures = logged.filter(l => /store write failed/.test(l))
      assert.ok(failures.length > 0, 'the writer reported the outage')
      assert.ok(run.summary.elapsedMillis > 4000 + 2000)
      t.diagnostic(`outage ${up - down} ms: source advanced ${advanced} records in its last ${during.at(-1)!.at - during[0]!.at} ms; ${failures.length} failed write round(s), e.g. ${failures[0]!}; run took ${run.summary.elapsedMillis} ms (4,000 without the outage)`)

      // Lost nothing: everything equals the uninterrupted run.
      assert.equal(run.summary.records, 24_000)
      assert.equal(run.deadLetters.records.length, 0)
      assert.deepEqual(await storeLines(store), await storeLines(embedded.store))
      for (let key = 0; key < 250; key += 7) assert.deepEqual(await run.fetch([key], END), await embedded.fetch([key], END), `key ${key}`)
      await run.cleanup()
    } finally {
      await embedded.cleanup()
      await store.close()
      await server.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })

})
