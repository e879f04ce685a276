// Event time of one consumed partition, computed from its records alone (§4.3, with one deliberate change).
//
// Flink's window operator runs on min(watermark of every input) where each input's watermark is "max event time
// seen − out-of-orderness − 1" and an input idle for 30 s of processing time stops counting. That makes the result
// depend on how fast each partition happens to be read, on processing time, and on which partitions a process
// holds. Here each partition has its own clock, advanced only by its records in offset order:
//
//   judged(record)   = max event time of the partition's records *before* it − out-of-orderness − 1
//                      (a record is late when its tile's end − 1 + allowed lateness ≤ judged(record))
//   closing          = the same over every record so far: tiles it has passed are written complete and dropped
//
// Both are functions of the partition's data, so every daemon, every replay after a crash and every worker count
// judge every record alike and leave the same tiles. A key's events all come from one partition when the topic is
// keyed by the entity, so its tiles need no other partition's clock. No processing-time idleness: a partition
// that stops sending keeps its tiles open until its data moves on (Flink does the same once every input is idle).
//
// With --repartition the consumed partition is fed by every partition of the original topic ("origins", each
// record carries its origin), in an order that depends on timing. Each origin's records still arrive in their own
// order, so a record is judged by its origin's clock; and a tile closes only when every origin's clock has passed
// it (min over origins, Flink's rule without idleness, with the origin set known in advance). A closed tile was
// passed by every origin, so any later record for it is late by its own origin's clock too: the two rules agree.

export interface ClockOptions {
  readonly outOfOrdernessMillis: number
  /**
   * The origins feeding this partition: null when the partition is its own only origin (a topic keyed by entity);
   * else the original topic's partition count (origins 0 … n−1, all of which must pass a tile to close it).
   */
  readonly origins: number | null
}

export interface ClockState {
  /** [origin, max event time] for every origin seen. */
  readonly maxEventTimes: readonly (readonly [number, number])[]
}

export class PartitionClock {
  readonly #ooo: number
  readonly #origins: number | null
  /** Max event time per origin (index = origin; one slot when the partition is its own origin). */
  readonly #max: Float64Array
  #closing = -Infinity

  constructor (o: ClockOptions) {
    this.#ooo = o.outOfOrdernessMillis
    this.#origins = o.origins
    this.#max = new Float64Array(o.origins ?? 1).fill(-Infinity)
  }

  /**
   * The watermark a record of `origin` with event time `ts` (NaN: none) is judged by, and the clock advanced past
   * it. Call in the partition's (origin's) record order.
   */
  judge (origin: number, ts: number): number {
    const i = this.#origins === null ? 0 : origin
    const m = this.#max[i]
    if (m === undefined) return -Infinity // an origin outside the declared set: judged as if first
    const judged = m - this.#ooo - 1
    if (ts > m) {
      this.#max[i] = ts
      if (this.#origins === null) this.#closing = ts - this.#ooo - 1
      else this.#closing = this.#minWatermark()
    }
    return judged
  }

  /**
   * A record of a repartitioned topic: judged by `priorMax`, the max event time of its origin partition before it
   * (all of that origin's records, including those routed to other partitions, as the shuffle stage computed it;
   * −Infinity/NaN for none), then the origin's clock moves past it.
   */
  judgePrior (origin: number, priorMax: number, ts: number): number {
    const judged = Number.isNaN(priorMax) ? -Infinity : priorMax - this.#ooo - 1
    this.advance(origin, Number.isNaN(ts) ? priorMax : Number.isNaN(priorMax) ? ts : Math.max(priorMax, ts))
    return judged
  }

  /** The origin's event time is at least `max` (a heartbeat of the shuffle stage, or a record). */
  advance (origin: number, max: number): void {
    const i = this.#origins === null ? 0 : origin
    const m = this.#max[i]
    if (m === undefined || !(max > m)) return
    this.#max[i] = max
    this.#closing = this.#origins === null ? max - this.#ooo - 1 : this.#minWatermark()
  }

  /** Tiles this watermark has passed can close (never decreases). */
  get closing (): number { return this.#closing }

  /** Largest event time seen from any origin (−Infinity before the first). */
  get maxEventTime (): number {
    let m = -Infinity
    for (let i = 0; i < this.#max.length; i++) if (this.#max[i]! > m) m = this.#max[i]!
    return m
  }

  #minWatermark (): number {
    let min = Infinity
    for (let i = 0; i < this.#max.length; i++) if (this.#max[i]! < min) min = this.#max[i]!
    return min - this.#ooo - 1
  }

  snapshot (): ClockState {
    const out: [number, number][] = []
    for (let i = 0; i < this.#max.length; i++) if (this.#max[i]! > -Infinity) out.push([i, this.#max[i]!])
    return { maxEventTimes: out }
  }

  restore (s: ClockState): void {
    for (const [origin, ts] of s.maxEventTimes) {
      if (origin >= 0 && origin < this.#max.length && ts > this.#max[origin]!) this.#max[origin] = ts
    }
    this.#closing = this.#origins === null ? this.#max[0]! - this.#ooo - 1 : this.#minWatermark()
  }
}
