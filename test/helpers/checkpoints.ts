// Partition checkpoints kept in memory (the CheckpointStorage contract, with its fencing), for engine tests that
// inspect, copy or tamper with checkpoints between runs.
import type { CheckpointStorage, StoredCheckpoint } from '../../src/checkpoint/storage.ts'
import { decodeCheckpoint, type PartitionCheckpoint } from '../../src/checkpoint/partition-checkpoint.ts'

export class MemoryCheckpoints implements CheckpointStorage {
  readonly description = 'memory checkpoints'
  readonly epochs = new Map<number, number>()
  readonly stored = new Map<number, StoredCheckpoint>()
  /** Called after each successful write (tests record what the store held at that moment). */
  onWrite: ((partition: number, cp: StoredCheckpoint) => void) | null = null
  writes = 0

  constructor (from?: MemoryCheckpoints) {
    if (from !== undefined) {
      for (const [p, e] of from.epochs) this.epochs.set(p, e)
      for (const [p, c] of from.stored) this.stored.set(p, c)
    }
  }

  async acquireEpoch (partition: number): Promise<number> {
    const e = (this.epochs.get(partition) ?? 0) + 1
    this.epochs.set(partition, e)
    return e
  }

  async read (partition: number): Promise<StoredCheckpoint | null> {
    return this.stored.get(partition) ?? null
  }

  async write (partition: number, epoch: number, bytes: Uint8Array): Promise<boolean> {
    if (this.epochs.get(partition) !== epoch) return false
    const cp = { epoch, bytes: Uint8Array.from(bytes) }
    this.stored.set(partition, cp)
    this.writes++
    this.onWrite?.(partition, cp)
    return true
  }

  latest (partition = 0): PartitionCheckpoint | null {
    const c = this.stored.get(partition)
    return c === undefined ? null : decodeCheckpoint(c.bytes, `of partition ${partition}`)
  }
}
