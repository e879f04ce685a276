// The real Redis the test runner starts (TILEKILN_TEST_REDIS) as a test file uses it: every store under a key prefix
// of its own, and every key under those prefixes deleted when the file's tests are done.
import { randomBytes } from 'node:crypto'
import { after } from 'node:test'
import { Redis } from 'ioredis'
import { parseRedisSpec, RedisStore, type RedisStoreOptions } from '../../src/sink/redis-store.ts'

export interface RedisTestBed {
  readonly url: string | undefined
  /** A skip reason when no Redis was started, else false. */
  readonly skip: string | false
  /** A connection for looking at (and tampering with) the raw keys. */
  readonly admin: Redis | null
  /** A fresh key prefix, deleted after the tests. */
  prefix (name: string): string
  /** Every key under a prefix, sorted. */
  keysOf (prefix: string): Promise<string[]>
  /** A connected RedisStore writing under `prefix`. */
  open (prefix: string, extra?: Partial<RedisStoreOptions>): Promise<RedisStore>
}

/** Call once at the top of a test file; `runner` is the command that starts Redis for it (for the skip reason). */
export function redisTestBed (runner: string): RedisTestBed {
  const url = process.env.TILEKILN_TEST_REDIS
  const admin = url === undefined ? null : new Redis(url, { lazyConnect: true })
  const prefixes: string[] = []

  const keysOf = async (p: string): Promise<string[]> => {
    const out = new Set<string>()
    let cursor = '0'
    do {
      const [next, keys] = await admin!.scan(cursor, 'MATCH', `${p}:*`, 'COUNT', 1000)
      cursor = next
      for (const k of keys) out.add(k)
    } while (cursor !== '0')
    return [...out].sort()
  }

  after(async () => {
    if (admin === null) return
    try {
      for (const p of prefixes) {
        const keys = await keysOf(p)
        if (keys.length > 0) await admin.del(...keys)
      }
    } finally {
      admin.disconnect()
    }
  })

  return {
    url,
    skip: url === undefined ? `TILEKILN_TEST_REDIS is not set: run through the test runner (${runner}), which starts Redis` : false,
    admin,
    prefix: name => {
      const p = `tk-test-${randomBytes(3).toString('hex')}-${name}`
      prefixes.push(p)
      return p
    },
    keysOf,
    open: async (p, extra = {}) => {
      const store = new RedisStore({ ...parseRedisSpec(`${url!}?prefix=${p}`), ...extra })
      await store.connected()
      return store
    }
  }
}
