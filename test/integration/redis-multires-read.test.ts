// The multi-resolution read property (test/fetch/multires-reads.ts) on Redis and on a 3-master Redis Cluster (started
// by the test runner): rolled-up reads, fine-only reads, several keys in one read and the oracle agree, with every
// round of a cover read through one pipeline per master (RedisStore.readTileRanges).
import { test } from 'node:test'
import { MULTIRES_TEST, multiresReads } from '../fetch/multires-reads.ts'
import { redisTestBed } from '../helpers/redis.ts'

const server = redisTestBed('node scripts/test.mjs redis-multires')
const cluster = redisTestBed('node scripts/test.mjs redis-multires', 'cluster')

for (const [name, bed] of [['Redis', server], ['Redis Cluster', cluster]] as const) {
  test(`${name}: ${MULTIRES_TEST}`, { skip: bed.skip, timeout: 600_000 }, async () => {
    const store = await bed.open(bed.prefix('multires'))
    try {
      await multiresReads(store)
    } finally {
      await store.close()
    }
  })
}
