// The partitions this daemon owns right now, and what the main thread keeps about each: its clock (event time,
// window/partition-clock.ts), its fencing epoch, how far it has been read, and how far behind the source it is.
// A partition enters when the source assigns it (after its checkpoint is restored) and leaves when it is revoked
// (after its final checkpoint) or fenced (another daemon took it over while this one was not looking).

import { PartitionClock } from '../window/partition-clock.ts'

export type PartitionStatus = 'active' | 'fenced'

export class OwnedPartition {
  readonly partition: number
  readonly clock: PartitionClock
  /** Fencing epoch taken when this daemon got the partition (0 when checkpoints, and so fencing, are off). */
  epoch: number
  status: PartitionStatus = 'active'
  /** Next position to read, as far as records were handed to workers. */
  next: number
  /** Position of the newest checkpoint written for it (−1: none yet this ownership). */
  checkpointed = -1
  /** Position last committed to the source (Kafka's group offset; −1: not this ownership). */
  committed = -1
  /** Records handed to workers since it was assigned. */
  records = 0
  /** The source's end offset as last seen (Kafka high watermark), for lag; −1 when unknown. */
  end = -1
  /** When it was assigned (ms) and how long the handover took (assign → ready to read). */
  readonly assignedAt: number
  restoreMillis = 0
  restoredBytes = 0
  /** Whether the tiles of its first records since the assignment were written yet (the hand-over pause ends). */
  firstWrite: 'pending' | 'queued' | 'done' = 'pending'
  /**
   * With --repartition: per origin (partition of the original topic), the next original offset not yet seen;
   * a record at or below what was seen is a replay of the shuffle stage and is dropped.
   */
  readonly originNext = new Map<number, number>()

  constructor (partition: number, clock: PartitionClock, epoch: number, next: number, now: number) {
    this.partition = partition
    this.clock = clock
    this.epoch = epoch
    this.next = next
    this.assignedAt = now
  }

  get lag (): number {
    return this.end < 0 ? NaN : Math.max(0, this.end - this.next)
  }
}

export class PartitionBook {
  readonly #parts = new Map<number, OwnedPartition>()
  /** Bumped whenever a closing watermark moves or the set changes: workers need fresh closes then. */
  version = 0
  #closes: number[] = []
  #closesVersion = -1

  get size (): number { return this.#parts.size }

  get (partition: number): OwnedPartition | undefined {
    return this.#parts.get(partition)
  }

  /** The partition if this daemon owns it and may process it. */
  active (partition: number): OwnedPartition | undefined {
    const p = this.#parts.get(partition)
    return p !== undefined && p.status === 'active' ? p : undefined
  }

  add (p: OwnedPartition): void {
    this.#parts.set(p.partition, p)
    this.version++
  }

  remove (partition: number): OwnedPartition | undefined {
    const p = this.#parts.get(partition)
    this.#parts.delete(partition)
    this.version++
    return p
  }

  all (): OwnedPartition[] {
    return [...this.#parts.values()].sort((a, b) => a.partition - b.partition)
  }

  activeNumbers (): number[] {
    return this.all().filter(p => p.status === 'active').map(p => p.partition)
  }

  /**
   * [partition, closing watermark, …] of the active partitions; the same array until something changed, so a
   * task can carry it without copying.
   */
  closes (override?: number): number[] {
    if (override !== undefined) {
      const out: number[] = []
      for (const p of this.all()) if (p.status === 'active') out.push(p.partition, override)
      return out
    }
    if (this.#closesVersion !== this.version) {
      const out: number[] = []
      for (const p of this.all()) if (p.status === 'active') out.push(p.partition, p.clock.closing)
      this.#closes = out
      this.#closesVersion = this.version
    }
    return this.#closes
  }
}
