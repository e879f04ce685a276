// The workers, as seen from the main thread: one piscina pool of exactly one thread per worker (piscina does not
// pin tasks to threads, and a worker must see every record of the keys it owns, in order), each with its ring of
// record slots in a SharedArrayBuffer and its WASM memory (shared, so the state is inspectable from main).

import { Piscina } from 'piscina'
import { describeError, isTilekilnError, TilekilnError } from '../errors.ts'
import { type RingGeometry, SlotView, SlotWriter, slotBytes } from '../route/ring.ts'
import type { BatchSizer } from './batch-sizer.ts'
import type { Closes, Task, TaskResult, WorkerInit } from '../worker/protocol.ts'

export type WorkerBase = Omit<WorkerInit, 'index' | 'workers' | 'ring' | 'memory' | 'geometry'>

export interface Dispatched {
  readonly worker: number
  /** The slot the task consumed (null for ticks). */
  readonly slot: SlotWriter | null
  readonly task: Task
}

const WORKER_FILE = new URL('../worker/worker.js', import.meta.url)

/**
 * Each worker's V8 young generation, in MB. A worker allocates little per row (its state is in WASM memory and typed
 * arrays), yet V8 grew its young generation to the default 32 MB resident: with this limit each worker holds
 * ~25–30 MB less at no measured cost (bench engine, 3M events, 100k keys, peak RSS 331–343 → 300–306 MB with 1
 * worker, 424–447 → 378–411 MB with 2; events/s and worker CPU level; the JS-heavy orders.ordered.v1 level too).
 */
const WORKER_YOUNG_GENERATION_MB = 4

export class WorkerPool {
  readonly size: number
  readonly #pools: Piscina[] = []
  readonly #slots: SlotWriter[][] = []
  readonly #free: SlotWriter[][] = []
  readonly #filling: (SlotWriter | null)[] = []
  readonly #inFlight: number[] = []
  /** Time each worker had a task (running or queued behind one): its load, for metrics and the live view. */
  readonly #busyMillis: number[] = []
  readonly #busySince: number[] = []
  readonly #slotWaiters: (() => void)[][] = []
  readonly #idleWaiters: (() => void)[] = []
  readonly #onResult: (d: Dispatched, r: TaskResult) => void
  readonly #onFailure: (e: unknown) => void
  readonly #sizer: BatchSizer
  #failed: unknown = null

  constructor (base: WorkerBase, workers: number, geometry: RingGeometry, sizer: BatchSizer, onResult: (d: Dispatched, r: TaskResult) => void, onFailure: (e: unknown) => void) {
    this.size = workers
    this.#sizer = sizer
    this.#onResult = onResult
    this.#onFailure = onFailure
    for (let w = 0; w < workers; w++) {
      const ring = new SharedArrayBuffer(geometry.slots * slotBytes(geometry))
      const memory = new WebAssembly.Memory({ initial: 32, maximum: 32768, shared: true })
      const init: WorkerInit = { ...base, index: w, workers, ring, memory, geometry }
      this.#pools.push(new Piscina({
        filename: WORKER_FILE.href,
        minThreads: 1,
        maxThreads: 1,
        concurrentTasksPerWorker: 1,
        idleTimeout: Infinity,
        // A worker's tasks must run in submission order (records of a key in order, watermarks non-decreasing).
        // Without this piscina re-queues a task it could not hand out at the *tail*, reordering batches.
        stricterFIFO: true,
        workerData: init,
        // Workers never wait on timers or I/O, so parking them on Atomics between tasks is the cheapest hand-off.
        atomics: 'sync',
        resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB }
      }))
      const slots = Array.from({ length: geometry.slots }, (_, i) => new SlotWriter(new SlotView(ring, geometry, i), i, geometry))
      this.#slots.push(slots)
      this.#free.push([...slots])
      this.#filling.push(null)
      this.#inFlight.push(0)
      this.#busyMillis.push(0)
      this.#busySince.push(0)
      this.#slotWaiters.push([])
    }
  }

  /**
   * The slot being filled for worker w, taking a free one (sized by the batch sizer) if needed; null when all its
   * slots are busy.
   */
  filling (w: number): SlotWriter | null {
    let s: SlotWriter | null = this.#filling[w] ?? null
    if (s === null) {
      s = this.#free[w]!.pop() ?? null
      if (s !== null) { s.reset(this.#sizer.limit(w)); this.#filling[w] = s }
    }
    return s
  }

  /** Resolves when worker w has a free slot again. */
  waitForSlot (w: number): Promise<void> {
    if (this.#failed !== null) return Promise.reject(this.#failed)
    return new Promise(resolve => this.#slotWaiters[w]!.push(resolve))
  }

  hasPending (w: number): boolean {
    const s = this.#filling[w]
    return s !== null && s !== undefined && s.count > 0
  }

  pendingSince (w: number): number {
    const s = this.#filling[w]
    return s !== null && s !== undefined && s.count > 0 ? s.firstAt : Infinity
  }

  inFlight (w: number): number { return this.#inFlight[w]! }

  /** Milliseconds worker w has had work since it started (a clock that only runs while it is busy). */
  busyMillis (w: number, now = performance.now()): number {
    return this.#busyMillis[w]! + (this.#inFlight[w]! > 0 ? now - this.#busySince[w]! : 0)
  }

  #started (w: number): void {
    if (this.#inFlight[w]!++ === 0) this.#busySince[w] = performance.now()
  }

  #ended (w: number): void {
    if (--this.#inFlight[w]! === 0) this.#busyMillis[w]! += performance.now() - this.#busySince[w]!
  }

  get totalInFlight (): number { return this.#inFlight.reduce((a, b) => a + b, 0) }

  /** Hands worker w's filling slot to it; after its records it closes what `closes` says. False: nothing to hand. */
  dispatchBatch (w: number, closes: Closes, now: number): boolean {
    const slot = this.#filling[w]
    if (slot === null || slot === undefined || slot.count === 0) return false
    this.#filling[w] = null
    this.#run(w, slot, { kind: 'batch', slot: slot.index, count: slot.count, closes, now })
    return true
  }

  tick (w: number, closes: Closes, now: number): void {
    this.#run(w, null, { kind: 'tick', closes, now })
  }

  /** A control task (snapshot, restore) in worker w's queue, after everything already submitted to it. */
  async call<R> (w: number, task: Task, transfer: ArrayBuffer[] = []): Promise<R> {
    this.#started(w)
    try {
      return await this.#pools[w]!.run(task, { transferList: transfer }) as R
    } catch (e) {
      throw new TilekilnError('TK_WORKER', `worker ${w} failed a ${task.kind} task: ${describeError(e)}`, { worker: w }, { cause: e })
    } finally {
      this.#ended(w)
      this.#wakeIdle()
    }
  }

  #run (w: number, slot: SlotWriter | null, task: Task): void {
    this.#started(w)
    this.#pools[w]!.run(task).then(
      (result: TaskResult) => {
        this.#ended(w)
        if (slot !== null) this.#free[w]!.push(slot)
        try {
          this.#onResult({ worker: w, slot, task }, result)
        } catch (e) {
          // A result the engine cannot take stops the run with its cause, instead of escaping as an unhandled
          // rejection with the batch's tiles silently lost. An error of ours passes as it is: after a fatal store
          // error (a full disk) the writer refuses every later batch with that same error, and the run must end
          // with it — wrapped, `tilekiln run` reported a full disk as TK_INTERNAL (seen once in CI). Anything else is
          // a bug here, TK_INTERNAL.
          const err = isTilekilnError(e) ? e : new TilekilnError('TK_INTERNAL', `the result of worker ${w}'s ${task.kind} task could not be handled: ${describeError(e)}`, { worker: w }, { cause: e })
          this.#failed ??= err
          this.#onFailure(err)
        } finally {
          this.#wakeSlot(w)
          this.#wakeIdle()
        }
      },
      (e: unknown) => {
        this.#ended(w)
        const err = new TilekilnError('TK_WORKER', `worker ${w} failed: ${describeError(e)}`, { worker: w }, { cause: e })
        this.#failed ??= err
        this.#onFailure(err)
        this.#wakeSlot(w)
        this.#wakeIdle()
      }
    )
  }

  #wakeSlot (w: number): void {
    const ws = this.#slotWaiters[w]!.splice(0)
    for (const f of ws) f()
  }

  #wakeIdle (): void {
    if (this.totalInFlight > 0) return
    const ws = this.#idleWaiters.splice(0)
    for (const f of ws) f()
  }

  /** Resolves when no task is in flight. */
  async idle (): Promise<void> {
    while (this.totalInFlight > 0) await new Promise<void>(resolve => this.#idleWaiters.push(resolve))
    if (this.#failed !== null) throw this.#failed
  }

  async close (): Promise<void> {
    await Promise.all(this.#pools.map(p => p.destroy()))
  }
}
