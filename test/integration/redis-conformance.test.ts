// The Redis store on a real server and on a real 3-master Redis Cluster (both started by the test runner,
// TILEKILN_TEST_REDIS and TILEKILN_TEST_REDIS_CLUSTER): the TileStore conformance suite on each, then what is Redis's
// own — the fence per entity and its key, the bookkeeping keys' names and hash tags, the cluster spec, hash slots as
// Redis computes them, writes spread over every master, a connection reset failing what hangs on a frozen server,
// and the CLIENT KILL of the old connection ahead of the first write of a new one.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { Redis } from 'ioredis'
import { T } from '../../src/api/data-type.ts'
import { KeyCodec } from '../../src/codec/key.ts'
import { isTilekilnError } from '../../src/errors.ts'
import { hashSlot } from '../../src/sink/redis-layout.ts'
import { parseRedisClusterSpec, RedisStore } from '../../src/sink/redis-store.ts'
import { redisTestBed } from '../helpers/redis.ts'
import { sleep, waitFor } from '../services/process.ts'
import { startRedis } from '../services/redis.ts'
import { storeConformance, tiles } from '../sink/store-conformance.ts'

const server = redisTestBed('node scripts/test.mjs redis-conformance')
const cluster = redisTestBed('node scripts/test.mjs redis-conformance', 'cluster')

storeConformance('Redis', { skip: server.skip, open: async () => await server.open(server.prefix('conformance')) })
storeConformance('Redis Cluster', { skip: cluster.skip, open: async () => await cluster.open(cluster.prefix('conformance')) })

const DS = 'TEST_REDIS_CONFORMANCE_STREAMING'
const TILE = 300_000
const T0 = Date.UTC(2024, 0, 10, 12)
const longs = new KeyCodec([{ name: 'id', type: T.long }])
const SCOPE = 'TEST_REDIS_CONFORMANCE_STREAMING/events'

describe('parseRedisClusterSpec', () => {
  test('nodes, credentials, options; usage errors say what is wrong', () => {
    assert.deepEqual(parseRedisClusterSpec('redis+cluster://u:p%40ss@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002?prefix=run1&ttl=2h&wait=1'), {
      host: '10.0.0.1', port: 7000, db: 0, username: 'u', password: 'p@ss', tls: false, prefix: 'run1', ttlSeconds: 7200, waitReplicas: 1,
      cluster: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7001 }, { host: '::1', port: 7002 }]
    })
    const d = parseRedisClusterSpec('rediss+cluster://h:1')
    assert.equal(d.tls, true)
    assert.equal(d.prefix, 'chronon')
    for (const [spec, why] of [
      ['redis+cluster://', /no node/],
      ['redis+cluster://h', /'h' is not HOST:PORT/],
      ['redis+cluster://h:1/3', /only database 0/],
      ['redis+cluster://h:1?pefix=a', /unknown option 'pefix'/],
      ['redis+cluster://h:99999', /bad port/],
      ['cluster://h:1', /use redis\+cluster:\/\//]
    ] as const) {
      assert.throws(() => parseRedisClusterSpec(spec), (e: unknown) => isTilekilnError(e) && e.code === 'TK_USAGE' && why.test(e.message), spec)
    }
  })
})

for (const [name, bed] of [['Redis', server], ['Redis Cluster', cluster]] as const) {
  describe(`${name}: its own`, { skip: bed.skip, timeout: 60_000 }, () => {
    test('a read, an epoch and a checkpoint read right after resetConnection() wait for the new connections instead of failing on the ones it destroyed', async () => {
      const store = await bed.open(bed.prefix('reset-read'), { ttlSeconds: 1000 })
      try {
        const keys = Array.from({ length: 60 }, (_, i) => longs.encode([i]))
        await store.writeTiles(DS, TILE, tiles(keys.map((k, i) => [k, T0, `v${i}`] as const)))
        for (let round = 0; round < 3; round++) {
          store.resetConnection()
          // Keys of every master (a Cluster's slots spread 60 keys over all three), in one round of reads.
          const read = await store.readTileRanges(DS, keys.map(k => ({ keyBytes: k, ranges: [{ tileSizeMillis: TILE, fromMillis: T0, toMillis: T0 + 1 }] })))
          assert.deepEqual(read.map(r => Buffer.from(r[0]![0]!.value).toString()), keys.map((_, i) => `v${i}`))
          store.resetConnection()
          assert.ok(await store.acquireEpoch(SCOPE, 9) > 0)
          store.resetConnection()
          assert.equal(await store.readCheckpoint(SCOPE, 9), null)
        }
      } finally {
        await store.close()
      }
    })

    test('the fence is per entity: a hash `…:fence` of PARTITION@SCOPE → epoch in the entity\'s hash tag; an older epoch is refused only for entities the newer one wrote', async () => {
      const p = bed.prefix('fence')
      const store = await bed.open(p, { ttlSeconds: 1000 })
      try {
        const a = longs.encode([1])
        const b = longs.encode([2])
        const e1 = await store.acquireEpoch(SCOPE, 5)
        const e2 = await store.acquireEpoch(SCOPE, 5)
        await store.writeTiles(DS, TILE, tiles([[a, T0, 'new owner']], [5]), { scope: SCOPE, epochs: new Map([[5, e2]]) })
        // Key b was never written under e2: Redis cannot know (the epoch key is in another slot), the write passes —
        // within the contract; the new owner's own writes of b will replace it.
        assert.deepEqual(await store.writeTiles(DS, TILE, tiles([[a, T0, 'zombie'], [b, T0, 'zombie']], [5, 5]), { scope: SCOPE, epochs: new Map([[5, e1]]) }), { fenced: [5] })
        const tag = `${p}:{${DS}:${Buffer.from(a).toString('base64')}}`
        assert.deepEqual(await bed.admin!.hgetall(`${tag}:fence`), { [`5@${SCOPE}`]: String(e2) })
        const ttl = await bed.admin!.ttl(`${tag}:fence`)
        assert.ok(ttl > 900 && ttl <= 1000, `fence TTL ${ttl}`)
        const epochKey = `${p}:{TILEKILN_PARTITION:${Buffer.from(SCOPE).toString('base64')}:5}:epoch`
        assert.equal(await bed.admin!.get(epochKey), String(e2))
        assert.equal(hashSlot(epochKey), hashSlot(epochKey.replace(/epoch$/, 'checkpoint')))
        assert.equal(await bed.admin!.ttl(epochKey), -1, 'epochs never expire')
      } finally {
        await store.close()
      }
    })
  })
}

describe('Redis Cluster: routing', { skip: cluster.skip, timeout: 60_000 }, () => {
  test('hash slots are Redis\'s; one batch is written to every master, each entity to the one serving its slot', async () => {
    const p = cluster.prefix('routing')
    const store = await cluster.open(p)
    try {
      const masters = await cluster.masters()
      assert.equal(masters.length, 3)
      const samples = ['a', 'b', `${p}:{${DS}:AAE=}:days:${TILE}`, 'x{}y', '{}', 'foo{bar}{zap}', 'é{😀}']
      for (const k of samples) assert.equal(hashSlot(k), await masters[0]!.cluster('KEYSLOT', k), k)
      const puts = Array.from({ length: 300 }, (_, i) => [longs.encode([i]), T0 + (i % 3) * TILE, `v${i}`] as const)
      await store.writeTiles(DS, TILE, tiles(puts))
      const perNode: number[] = []
      for (const m of masters) perNode.push(Number(await m.dbsize()))
      assert.ok(perNode.every(n => n > 50), `keys per master: ${perNode.join(', ')}`)
      for (const [k, s, v] of puts.slice(0, 30)) assert.equal(Buffer.from((await store.readTiles(DS, k, TILE, s, s + 1))[0]!.value).toString(), v)
    } finally {
      await store.close()
    }
  })
})

describe('Redis: connections', { skip: server.skip, timeout: 60_000 }, () => {
  // Each test has its own timeout: the suite's does not end a hung test (one hung here for 10+ minutes in a CI-like run).
  test('a frozen server: a write hangs; resetConnection() makes it fail at once; the store reconnects when the server is back', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tilekiln-redis-frozen-'))
    const redis = await startRedis({ dir })
    const store = new RedisStore({ host: '127.0.0.1', port: redis.port, db: 0, prefix: 'frozen', connectTimeoutMillis: 1000 })
    try {
      await store.connected()
      process.kill(redis.pid, 'SIGSTOP')
      let settled: string | null = null
      const pending = store.writeTiles(DS, TILE, tiles([[longs.encode([1]), T0, 'x']])).then(() => { settled = 'ok' }, (e: Error) => { settled = e.message })
      await sleep(300)
      assert.equal(settled, null, 'a frozen server answers nothing: the write hangs')
      const reset = Date.now()
      store.resetConnection()
      await pending
      assert.ok(Date.now() - reset < 2000, 'the reset fails the hung write at once (a loaded machine gets 2 s)')
      assert.match(settled!, /^Redis write of 1 tile\(s\) failed/)
      process.kill(redis.pid, 'SIGCONT')
      await store.connected()
      await store.writeTiles(DS, TILE, tiles([[longs.encode([1]), T0, 'after']]))
      assert.equal(Buffer.from((await store.readTiles(DS, longs.encode([1]), TILE, T0, T0 + 1))[0]!.value).toString(), 'after')
    } finally {
      try { process.kill(redis.pid, 'SIGCONT') } catch {}
      await store.close()
      await redis.stop()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  // Its own server: MONITOR and the command statistics are server-wide, and the other lane's tests (npm test runs
  // two) write to the shared test server with connections of their own — CLIENT KILLs and EVALSHAs included.
  test('a new connection kills the previous one (CLIENT KILL ID … ADDR …) ahead of its first write', { timeout: 60_000 }, async () => {
    const redis = await startRedis()
    const admin = new Redis(redis.url)
    // MONITOR does not show admin commands such as CLIENT KILL: count them in the command statistics instead, and
    // watch the new connection's first commands.
    const kills = async (): Promise<number> => Number(/cmdstat_client\|kill:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0)
    // MONITOR before the store exists: ioredis enters monitoring mode a tick after MONITOR's reply, and a feed line
    // that comes in that tick (the store's set-up commands, when it connected meanwhile) is taken for a reply, and
    // monitor() never resolved — the test then hung past its own timeout (node:test does not end a hung test body,
    // and its open connections kept the file from exiting). Bounded too, so that it fails instead.
    let timer: NodeJS.Timeout | undefined
    const monitoring = admin.monitor()
    const monitor = await Promise.race([
      monitoring,
      new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error('MONITOR did not start within 10 s')) }, 10_000) })
    ]).catch(async (e: unknown) => {
      monitoring.then(m => { m.disconnect() }, () => {})
      admin.disconnect()
      await redis.stop()
      throw e
    }).finally(() => { clearTimeout(timer) })
    const seen: string[] = []
    monitor.on('monitor', (_time: string, args: string[], source: string) => { seen.push(`${source} ${args.slice(0, 2).join(' ').toLowerCase()}`) })
    const store = new RedisStore({ host: '127.0.0.1', port: redis.port, db: 0, prefix: 'barrier', connectTimeoutMillis: 1000 })
    // MONITOR's feed lags the replies: wait for what is expected rather than for a fixed time.
    const evalshaOf = async (exclude: string | null): Promise<string> => {
      await waitFor(() => seen.some(s => s.includes(' evalsha ') && (exclude === null || !s.startsWith(exclude + ' '))), 10_000,
        () => `no EVALSHA${exclude === null ? '' : ` from a connection other than ${exclude}`} in MONITOR's feed: ${seen.join('; ')}`)
      return seen.find(s => s.includes(' evalsha ') && (exclude === null || !s.startsWith(exclude + ' ')))!.split(' ')[0]!
    }
    try {
      await store.connected()
      await store.writeTiles(DS, TILE, tiles([[longs.encode([1]), T0, 'before']]))
      const before = await evalshaOf(null)
      const killsBefore = await kills()
      store.resetConnection()
      await store.connected()
      await store.writeTiles(DS, TILE, tiles([[longs.encode([1]), T0, 'after']]))
      const fresh = await evalshaOf(before)
      assert.equal(await kills(), killsBefore + 1, 'one CLIENT KILL, by the new connection')
      const ofFresh = seen.filter(s => s.startsWith(fresh + ' ')).map(s => s.slice(fresh.length + 1).split(' ')[0])
      // CLIENT KILL is written right before CLIENT INFO, and writes wait for CLIENT INFO's reply.
      assert.deepEqual(ofFresh.slice(0, ofFresh.indexOf('evalsha') + 1), ['info', 'script', 'script', 'client', 'evalsha'])
      const clients = await admin.client('LIST') as string
      assert.ok(!clients.includes(`addr=${before} `), 'the old connection is gone')
    } finally {
      monitor.disconnect()
      admin.disconnect()
      await store.close()
      await redis.stop()
    }
  })
})
