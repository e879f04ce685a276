// Consistent cuts, one partition checkpoint each: every `--checkpoint-interval`, when partitions are revoked, and
// at the end of a run. A cut of partitions P:
//
//   1. hold      new records wait at the gate; records already on their way into slots finish
//   2. settle    everything handed to workers is folded in, the tiles its clocks passed are closed, and every
//                tile write is acknowledged and flushed by the store
//   3. dead letters of the records the cut covers are made durable (else the cut is skipped: nothing replays them)
//   4. snapshot  the workers' open tiles of P (as tile bytes), regrouped per partition
//   5. write     per partition: its tiles, clock and next position, stored only if its epoch is still current
//                (a daemon that lost the partition cannot overwrite its successor's checkpoint: fenced)
//   6. commit    the positions to the source (Kafka's group offsets: progress for monitoring; restarts resume
//                from the checkpoint, so a failed commit is counted and logged, never fatal)
//
// Because every tile write is a whole-tile upsert and every partition's clock follows its own data, a daemon that
// restores a checkpoint and replays the partition from its position leaves exactly the store an uninterrupted run
// leaves — whichever daemon it is and however many workers it runs.

import { describeError, TilekilnError } from '../errors.ts'
import { faultPoint } from '../faults.ts'
import type { Logger } from '../log/logger.ts'
import { M, type Metrics } from '../metrics/metrics.ts'
import type { OwnedPartition, PartitionBook } from '../engine/partition-book.ts'
import type { StateSnapshot } from '../worker/tile-state.ts'
import { encodeCheckpoint } from './partition-checkpoint.ts'
import { collectByPartition } from './restore.ts'
import type { CheckpointStorage } from './storage.ts'

/** What the engine lends the coordinator for one cut. */
export interface CutHost {
  readonly groupBy: string
  readonly fingerprint: string
  /** Rolled-up tile sizes whose open tiles the snapshots hold (recorded in the header). */
  readonly rollups: readonly number[]
  readonly sourceDescription: string
  readonly book: PartitionBook
  readonly storage: CheckpointStorage
  readonly metrics: Metrics
  readonly log: Logger
  /** Stops new records at the gate and waits for records half-way into slots; returns the release. */
  hold (): Promise<() => void>
  /** Everything handed to workers folded in, passed tiles closed, every write acknowledged and flushed. */
  settle (): Promise<void>
  /** One snapshot per worker of these partitions' state. */
  snapshot (partitions: readonly number[]): Promise<StateSnapshot[]>
  /** Makes dead letters durable; false when they could not be (the cut is then skipped). */
  flushDeadLetters (final: boolean): Promise<boolean>
  /** Commits positions to the source (progress reporting); false when it failed (counted and logged). */
  commit (positions: ReadonlyMap<number, number>, final: boolean): Promise<boolean>
  /** A checkpoint write was refused: another daemon owns these partitions now. */
  fenced (partitions: readonly number[], why: string): void
}

export interface CutOptions {
  /** Default: every active partition. */
  readonly partitions?: readonly number[]
  /** The last cut before exit or hand-over: its follow-up steps are retried. */
  readonly final?: boolean
  /** Also partitions that read nothing since their last checkpoint. */
  readonly force?: boolean
}

export class CheckpointCoordinator {
  /**
   * Commits the checkpointed position of every partition whose commit is behind it (a commit that failed, or a
   * partition taken over at a checkpoint its previous owner could not commit: the group is rebalancing then), so the
   * group's offsets — what operators and tools watch — catch up with the checkpoints.
   */
  async #commitPending (candidates: readonly OwnedPartition[], final: boolean): Promise<void> {
    const positions = new Map<number, number>()
    for (const p of candidates) if (p.status === 'active' && p.checkpointed >= 0 && p.committed !== p.checkpointed) positions.set(p.partition, p.checkpointed)
    if (positions.size === 0) return
    if (await this.#host.commit(positions, final)) {
      for (const p of candidates) if (positions.get(p.partition) === p.checkpointed) p.committed = p.checkpointed
    }
  }

  readonly #host: CutHost
  /** Cuts and partition hand-overs run one at a time, in order. */
  #chain: Promise<unknown> = Promise.resolve()
  taken = 0
  #busy = false

  constructor (host: CutHost) {
    this.#host = host
  }

  /** True while a cut holds the engine (nothing may close tiles behind its back). */
  get busy (): boolean { return this.#busy }

  /** Runs `job` after every cut and hand-over queued before it. */
  serial<T> (job: () => Promise<T>): Promise<T> {
    const next = this.#chain.then(job, job)
    this.#chain = next.catch(() => {})
    return next
  }

  /**
   * Takes a cut of `partitions` (default: every active one that read something since its last checkpoint; `force`
   * includes the others). Returns the partitions whose checkpoint was written. Queued behind earlier cuts.
   */
  cut (opts: CutOptions = {}): Promise<number[]> {
    return this.serial(() => this.cutNow(opts))
  }

  /** A cut taken at once, by a job already running in the serial chain (a hand-over). */
  async cutNow (opts: CutOptions): Promise<number[]> {
    const h = this.#host
    const final = opts.final === true
    const started = Date.now()
    const release = await h.hold()
    this.#busy = true
    try {
      await h.settle()
      const candidates = (opts.partitions ?? h.book.activeNumbers())
        .map(p => h.book.active(p))
        .filter(p => p !== undefined)
      const wanted = candidates.filter(p => opts.force === true || p.next !== p.checkpointed)
      if (wanted.length === 0) {
        await this.#commitPending(candidates, final)
        return []
      }
      if (!await h.flushDeadLetters(final)) return []
      const numbers = wanted.map(p => p.partition)
      const snaps = await h.snapshot(numbers)
      const byPartition = collectByPartition(snaps)
      const written: number[] = []
      const fenced: number[] = []
      let bytesWritten = 0
      let tiles = 0
      for (const p of wanted) {
        const state = byPartition.get(p.partition)
        const bytes = encodeCheckpoint({
          header: {
            groupBy: h.groupBy,
            fingerprint: h.fingerprint,
            source: h.sourceDescription,
            partition: p.partition,
            next: p.next,
            epoch: p.epoch,
            takenAt: Date.now(),
            clock: p.clock.snapshot(),
            originNext: [...p.originNext],
            entries: state?.count ?? 0,
            ...(h.rollups.length > 0 ? { rollups: h.rollups } : {})
          },
          entries: state?.entries ?? emptyEntries(),
          timers: state?.timers ?? new Uint8Array(0),
          latest: state?.latest ?? new Float64Array(0)
        })
        let ok: boolean
        faultPoint('checkpoint-before-write')
        try {
          ok = await h.storage.write(p.partition, p.epoch, bytes)
        } catch (e) {
          throw new TilekilnError('TK_CHECKPOINT', `cannot write the checkpoint of partition ${p.partition} to ${h.storage.description}: ${describeError(e)}`, { groupBy: h.groupBy, partition: p.partition }, { cause: e })
        }
        if (!ok) { fenced.push(p.partition); continue }
        p.checkpointed = p.next
        written.push(p.partition)
        h.metrics.inc(M.checkpointBytes, bytes.length)
        bytesWritten += bytes.length
        tiles += state?.count ?? 0
      }
      if (written.length > 0) {
        this.taken++
        const millis = Date.now() - started
        h.metrics.checkpointed(millis, bytesWritten)
        h.log.info({ partitions: written, bytes: bytesWritten, openTiles: tiles, millis, final }, `checkpoint of partition(s) ${written.join(', ')} written: ${bytesWritten} bytes, ${tiles} open tile(s), ${millis} ms${final ? ' (final)' : ''}`)
      }
      if (fenced.length > 0) h.fenced(fenced, `its checkpoint was refused: another daemon took the partition over (epoch newer than ${fenced.map(p => h.book.get(p)?.epoch).join(', ')})`)
      faultPoint('checkpoint-before-commit')
      await this.#commitPending(candidates, final)
      return written
    } finally {
      this.#busy = false
      release()
    }
  }
}

function emptyEntries (): ArrayBuffer {
  const b = new ArrayBuffer(4)
  return b
}
