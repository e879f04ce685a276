// When a worker writes tiles (§4.6) and when a tile is final (§4.4–4.5): the trigger kinds, the lateness rule, and
// which open tiles have a write pending (TriggerState: the always trigger's dirty list, the buffered trigger's timer
// queue). Pure logic over entry numbers, no I/O; the worker state (worker/tile-state.ts) holds one TriggerState.

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

  /** Bytes of its ring. */
  get bytes (): number { return this.#entry.byteLength + this.#gen.byteLength + this.#at.byteLength }

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

const DIRTY = 1
const TIMER = 2

/**
 * Which entries (open tiles of the worker state, by entry number) have a write pending under the GroupBy's trigger:
 *
 *   always    touched → DIRTY, listed once in `dirty`; takeDirty compacts the list to the entries still dirty
 *   buffered  touched → TIMER, a timer (entry, generation, now + millis) queued; takeDue hands out the due ones
 *
 * Per entry: a flags byte and a generation, bumped when the entry is freed, so that a timer queued for an earlier
 * use of the entry number is skipped. Sized with the entry table (grow).
 */
export class TriggerState {
  readonly #always: boolean
  readonly #delay: number
  #flags = new Uint8Array(0)
  #gen = new Uint32Array(0)
  #dirty = new Int32Array(0)
  #nDirty = 0
  #now = 0
  readonly #timers = new TimerQueue()

  constructor (trigger: Trigger) {
    this.#always = trigger.kind === 'always'
    this.#delay = trigger.kind === 'buffered' ? trigger.millis : 0
  }

  /** Bytes of its per-entry arrays and timers. */
  get bytes (): number { return this.#flags.byteLength + this.#gen.byteLength + this.#dirty.byteLength + this.#timers.bytes }

  /** Room for entries [0, cap). */
  grow (cap: number): void {
    const flags = new Uint8Array(cap); flags.set(this.#flags); this.#flags = flags
    const gen = new Uint32Array(cap); gen.set(this.#gen); this.#gen = gen
    const dirty = new Int32Array(cap); dirty.set(this.#dirty); this.#dirty = dirty
  }

  /** A new use of entry e: nothing pending. */
  reset (e: number): void {
    this.#flags[e] = 0
  }

  /** Entry e was freed: what was pending for it is dropped (its dirty listing skipped, its timer stale). */
  freed (e: number): void {
    this.#flags[e] = 0
    this.#gen[e] = (this.#gen[e]! + 1) >>> 0
  }

  /** A row was folded into entry e at processing time `now` (per row: no allocation). */
  touched (e: number, now: number): void {
    this.#now = now
    this.touch(e)
  }

  /** The processing time `touch` stamps (the worker's task time). */
  set now (now: number) { this.#now = now }

  /**
   * `touched` at the time set by `now`. Without a time argument per row: a double passed to a call V8 does not
   * inline, or read from a module's `let`, is a heap number allocated each time.
   */
  /** Entry e's flags byte (TileState.prefetch loads it ahead of `touch`). */
  flagOf (e: number): number { return this.#flags[e]! }

  touch (e: number): void {
    const f = this.#flags[e]!
    if (this.#always) {
      if ((f & DIRTY) === 0) {
        this.#flags[e] = f | DIRTY
        this.#dirty[this.#nDirty++] = e
      }
    } else if ((f & TIMER) === 0) {
      this.#flags[e] = f | TIMER
      this.#timers.push(e, this.#gen[e]!, this.#now + this.#delay)
    }
  }

  /** Entries touched since the last takeDirty (some may have been freed since). */
  get dirtyCount (): number { return this.#nDirty }

  /**
   * Always trigger: moves the entries still dirty (once each, in touch order) to dirty[0, n) and clears them; returns
   * n. The list is valid until the next touch.
   */
  takeDirty (): number {
    let n = 0
    for (let i = 0; i < this.#nDirty; i++) {
      const e = this.#dirty[i]!
      const f = this.#flags[e]!
      if ((f & DIRTY) === 0) continue // freed (closed and written complete) in between
      this.#flags[e] = f & ~DIRTY
      this.#dirty[n++] = e
    }
    this.#nDirty = 0
    return n
  }

  /** The list takeDirty filled. */
  get dirty (): Int32Array { return this.#dirty }

  /** Buffered trigger: the next entry whose timer is due at `now` (its timer cleared), or −1. */
  takeDue (now: number): number {
    for (let i = this.#timers.takeDue(now); i >= 0; i = this.#timers.takeDue(now)) {
      const e = this.#timers.entryAt(i)
      if (this.#gen[e] !== this.#timers.genAt(i) || (this.#flags[e]! & TIMER) === 0) continue
      this.#flags[e] = this.#flags[e]! & ~TIMER
      return e
    }
    return -1
  }

  /** Is a buffered-trigger timer pending for entry e? */
  timerPending (e: number): boolean {
    return (this.#flags[e]! & TIMER) !== 0
  }

  /** A restored entry whose timer was pending: under the buffered trigger, it fires at `at`; else nothing. */
  restoreTimer (e: number, at: number): void {
    if (this.#always) return
    this.#flags[e] = this.#flags[e]! | TIMER
    this.#timers.push(e, this.#gen[e]!, at)
  }

  /** Earliest pending buffered-trigger deadline, or Infinity. */
  nextTimer (): number {
    return this.#timers.next()
  }
}
