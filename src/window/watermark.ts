// Event-time watermarks as Flink's bounded-out-of-orderness strategy with idleness computes them (§4.3):
// per source partition, watermark = max event time seen − out-of-orderness − 1; the global watermark is the minimum
// over *active* partitions; a partition from which no record arrived for `idleness` ms (processing time) is idle and
// ignored until it sends again. The global watermark never goes backwards.

export interface WatermarkOptions {
  readonly outOfOrdernessMillis: number
  readonly idlenessMillis: number
}

export const DEFAULT_WATERMARKS: WatermarkOptions = { outOfOrdernessMillis: 300_000, idlenessMillis: 30_000 }

export class WatermarkTracker {
  readonly #opts: WatermarkOptions
  readonly #maxTs = new Map<number, number>()
  readonly #lastSeen = new Map<number, number>()
  #current = -Infinity

  constructor (options: WatermarkOptions = DEFAULT_WATERMARKS) {
    this.#opts = options
  }

  /** A partition the source reads; it holds the watermark back until it has data or goes idle. */
  register (partition: number, now: number): void {
    if (!this.#lastSeen.has(partition)) this.#lastSeen.set(partition, now)
  }

  unregister (partition: number): void {
    this.#lastSeen.delete(partition)
    this.#maxTs.delete(partition)
  }

  /** Records arrived from this partition (processing time). */
  touch (partition: number, now: number): void {
    this.#lastSeen.set(partition, now)
  }

  /** Largest event time a worker saw from this partition. */
  observe (partition: number, maxTs: number): void {
    const m = this.#maxTs.get(partition)
    if (m === undefined || maxTs > m) this.#maxTs.set(partition, maxTs)
  }

  /** The global watermark at processing time `now`. */
  current (now: number): number {
    let min = Infinity
    let active = 0
    for (const [p, seen] of this.#lastSeen) {
      if (now - seen >= this.#opts.idlenessMillis) continue
      active++
      const m = this.#maxTs.get(p)
      const w = m === undefined ? -Infinity : m - this.#opts.outOfOrdernessMillis - 1
      if (w < min) min = w
    }
    // Every partition idle: hold the watermark where it is (Flink does not advance it either).
    if (active > 0 && min > this.#current) this.#current = min
    return this.#current
  }

  /** Forces the watermark (end of a bounded input: +Infinity; restore from a checkpoint). */
  advanceTo (w: number): void {
    if (w > this.#current) this.#current = w
  }

  get value (): number { return this.#current }

  /** Max event time per partition, for checkpoints. */
  snapshot (): [number, number][] {
    return [...this.#maxTs]
  }

  /** Back to a checkpointed state; restored partitions count as active from `now`. */
  restore (maxTs: readonly (readonly [number, number])[], current: number, now: number): void {
    for (const [p, ts] of maxTs) {
      this.observe(p, ts)
      if (!this.#lastSeen.has(p)) this.#lastSeen.set(p, now)
    }
    this.advanceTo(current)
  }
}
