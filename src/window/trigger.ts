// When a worker writes tiles (§4.6) and when a tile is final (§4.4–4.5): the trigger kinds, the lateness rule, and
// the buffered trigger's timer queue. Pure logic, no I/O; the worker state (worker/tile-state.ts) holds one queue.

/** always: a tile is written after every batch that touched it; buffered: at most every `millis` per tile. */
export type Trigger = { readonly kind: 'always' } | { readonly kind: 'buffered', readonly millis: number }

/**
 * Is the tile [tileStart, tileStart + size) final at this watermark: its end − 1 + allowed lateness has passed? A
 * final tile is written one last time (isComplete = true) and an event for it is late.
 */
export function isFinal (tileStart: number, size: number, latenessMillis: number, watermark: number): boolean {
  return tileStart + size - 1 + latenessMillis <= watermark
}

/**
 * The buffered trigger's pending timers: a FIFO of (entry, generation, due time), since every timer is "first touch
 * + the same delay" and so due times arrive in order. A timer whose entry was freed since (its generation moved on)
 * is skipped by the caller. Grows by doubling; a power-of-two ring.
 */
export class TimerQueue {
  #entry = new Int32Array(1024)
  #gen = new Uint32Array(1024)
  #at = new Float64Array(1024)
  #head = 0
  #tail = 0

  push (entry: number, gen: number, at: number): void {
    if (this.#tail - this.#head === this.#at.length) this.#grow()
    const i = this.#tail++ & (this.#at.length - 1)
    this.#entry[i] = entry
    this.#gen[i] = gen
    this.#at[i] = at
  }

  /** Earliest pending due time, or Infinity. */
  next (): number {
    return this.#head < this.#tail ? this.#at[this.#head & (this.#at.length - 1)]! : Infinity
  }

  /** Takes the oldest timer if it is due at `now`: returns its slot (read it with entryAt/genAt), else −1. */
  takeDue (now: number): number {
    if (this.#head === this.#tail) return -1
    const i = this.#head & (this.#at.length - 1)
    if (this.#at[i]! > now) return -1
    this.#head++
    return i
  }

  entryAt (slot: number): number { return this.#entry[slot]! }
  genAt (slot: number): number { return this.#gen[slot]! }

  #grow (): void {
    const n = this.#at.length
    const entry = new Int32Array(n * 2)
    const gen = new Uint32Array(n * 2)
    const at = new Float64Array(n * 2)
    for (let k = 0; k < n; k++) {
      const i = (this.#head + k) & (n - 1)
      entry[k] = this.#entry[i]!; gen[k] = this.#gen[i]!; at[k] = this.#at[i]!
    }
    this.#entry = entry; this.#gen = gen; this.#at = at
    this.#tail -= this.#head
    this.#head = 0
  }
}
