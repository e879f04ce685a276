// Taking partitions over: the fencing epochs of the partitions a daemon is newly assigned are taken together (one
// store round trip instead of one per partition, which delayed every partition's first record by the others'
// flushed commits), and each partition still gets its own epoch, one above the last, before its checkpoint is read.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { avroSchemaOf } from '../../src/codec/avro.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { openGeneratorSource, parseGeneratorOptions } from '../../src/source/generator.ts'
import type { StoredCheckpoint } from '../../src/checkpoint/storage.ts'
import { MemoryCheckpoints } from '../helpers/checkpoints.ts'
import { runEngine } from '../helpers/engine.ts'
import { PROPERTY_GROUP_BY, SCHEMA } from './fixtures/property-group-by.ts'

/** Checkpoints whose epoch requests take a while, as a store round trip does; it records how they overlapped. */
class SlowEpochs extends MemoryCheckpoints {
  inFlight = 0
  maxInFlight = 0
  /** Partition → epoch it held when its checkpoint was read. */
  readonly readAt = new Map<number, number>()

  override async acquireEpoch (partition: number): Promise<number> {
    this.maxInFlight = Math.max(this.maxInFlight, ++this.inFlight)
    try {
      await new Promise(resolve => setTimeout(resolve, 30))
      return await super.acquireEpoch(partition)
    } finally {
      this.inFlight--
    }
  }

  override async read (partition: number): Promise<StoredCheckpoint | null> {
    this.readAt.set(partition, this.epochs.get(partition) ?? 0)
    return await super.read(partition)
  }
}

test('the epochs of newly assigned partitions are taken together, each before its checkpoint is read; a restart takes the next ones', async () => {
  const plan = compilePlan(PROPERTY_GROUP_BY)
  const opts = parseGeneratorOptions(`keys=50,count=4000,seed=3,start=1700000000000,step=1000,partitions=6`)
  const checkpoints = new SlowEpochs()
  for (const round of [1, 2]) {
    checkpoints.maxInFlight = 0
    checkpoints.readAt.clear()
    await runEngine(PROPERTY_GROUP_BY, openGeneratorSource(plan, opts, avroSchemaOf(SCHEMA)), { workers: 2, checkpoints: { storage: checkpoints, intervalMillis: 60_000 } })
    assert.equal(checkpoints.maxInFlight, 6, `round ${round}: epoch requests in flight at once`)
    assert.deepEqual([...checkpoints.epochs].sort((a, b) => a[0] - b[0]), [0, 1, 2, 3, 4, 5].map(p => [p, round]), `round ${round}: epochs`)
    assert.deepEqual([...checkpoints.readAt].sort((a, b) => a[0] - b[0]), [0, 1, 2, 3, 4, 5].map(p => [p, round]), `round ${round}: each checkpoint read under the partition's new epoch`)
  }
  // The second run restored what the first one checkpointed.
  assert.equal(checkpoints.stored.size, 6)
})
