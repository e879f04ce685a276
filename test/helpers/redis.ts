// The real Redis (TILEKILN_TEST_REDIS) or Redis Cluster (TILEKILN_TEST_REDIS_CLUSTER) the test runner starts, as a
// test file uses it: every store under a key prefix of its own, and every key under those prefixes deleted when the
// file's tests are done.
import { randomBytes } from 'node:crypto'
import { after } from 'node:test'
import { Cluster, Redis } from 'ioredis'
import { parseRedisClusterSpec, parseRedisSpec, RedisStore, type RedisStoreOptions } from '../../src/sink/redis-store.ts'

export interface RedisTestBed {
  readonly url: string | undefined
  /** A skip reason when no Redis was started, else false. */
  readonly skip: string | false
  /** A connection for looking at (and tampering with) the raw keys (on a cluster: ioredis's Cluster). */
  readonly admin: Redis | Cluster | null
  /** A fresh key prefix, deleted after the tests. */
  prefix (name: string): string
  /** Every key under a prefix, sorted (on a cluster: of every master). */
  keysOf (prefix: string): Promise<string[]>
  /** Connections to every master (the server itself when not a cluster), once connected. */
  masters (): Promise<Redis[]>
  /** A connected RedisStore writing under `prefix`. */
  open (prefix: string, extra?: Partial<RedisStoreOptions>): Promise<RedisStore>
}

/**
 * Call once at the top of a test file; `runner` is the command that starts Redis for it (for the skip reason), `mode`
 * picks the single server or the cluster.
 */
export function redisTestBed (runner: string, mode: 'server' | 'cluster' = 'server'): RedisTestBed {
  const variable = mode === 'server' ? 'TILEKILN_TEST_REDIS' : 'TILEKILN_TEST_REDIS_CLUSTER'
  const url = process.env[variable]
  let admin: Redis | Cluster | null = null
  if (url !== undefined) {
    admin = mode === 'server'
      ? new Redis(url, { lazyConnect: true })
      : new Cluster(parseRedisClusterSpec(url).cluster!.map(n => ({ host: n.host, port: n.port })), { lazyConnect: true })
  }
  const prefixes: string[] = []

  const masters = async (): Promise<Redis[]> => {
    if (admin instanceof Cluster) {
      if (admin.status !== 'ready') {
        if (admin.status === 'wait') admin.connect().catch(() => {})
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('the test cluster is not ready after 10 s')), 10_000)
          admin!.once('ready', () => { clearTimeout(timer); resolve() })
        })
      }
      return admin.nodes('master')
    }
    return [admin as Redis]
  }

  const keysOf = async (p: string): Promise<string[]> => {
    const out = new Set<string>()
    for (const node of await masters()) {
      let cursor = '0'
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${p}:*`, 'COUNT', 1000)
        cursor = next
        for (const k of keys) out.add(k)
      } while (cursor !== '0')
    }
    return [...out].sort()
  }

  after(async () => {
    if (admin === null) return
    try {
      for (const p of prefixes) {
        // One DEL per key: on a cluster, keys of several slots cannot share a command.
        for (const k of await keysOf(p)) await admin.del(k)
      }
    } finally {
      admin.disconnect()
    }
  })

  return {
    url,
    skip: url === undefined ? `${variable} is not set: run through the test runner (${runner}), which starts Redis` : false,
    admin,
    prefix: name => {
      const p = `tk-test-${randomBytes(3).toString('hex')}-${name}`
      prefixes.push(p)
      return p
    },
    keysOf,
    masters,
    open: async (p, extra = {}) => {
      const spec = `${url!}?prefix=${p}`
      const store = new RedisStore({ ...(mode === 'server' ? parseRedisSpec(spec) : parseRedisClusterSpec(spec)), ...extra })
      await store.connected()
      return store
    }
  }
}
