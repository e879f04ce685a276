// Where partition checkpoints and fencing epochs live: in the shared store, next to the tiles (the store's epoch and
// checkpoint calls, sink/store.ts), under a scope naming the GroupBy's dataset and the consumed source, so every
// daemon of the group reads and writes the same ones and a daemon that lost a partition cannot overwrite what its
// successor wrote.

import { getLogger, Limiter, type Logger } from '../log/logger.ts'
import { describeError } from '../errors.ts'
import { isFatalStoreError } from '../sink/kv-writer.ts'
import type { StoredCheckpoint, TileStore } from '../sink/store.ts'

export type { StoredCheckpoint }

export interface CheckpointStorage {
  readonly description: string
  /** A new epoch for the partition, greater than every one handed out before (this daemon now owns it). */
  acquireEpoch (partition: number): Promise<number>
  read (partition: number): Promise<StoredCheckpoint | null>
  /** Writes it if `epoch` is still the partition's current epoch; false when fenced (nothing written). */
  write (partition: number, epoch: number, bytes: Uint8Array): Promise<boolean>
}

/**
 * Checkpoints in the store under `scope`. A store that is briefly unreachable (a Redis restart, a connection the
 * writer reset) is retried with backoff for up to `patienceMillis`: an outage slows hand-overs and cuts down, it
 * does not end the run. A fatal store error (no space left, a read-only store) is not retried.
 */
export function storeCheckpoints (store: TileStore, scope: string, opts: { patienceMillis?: number, log?: Logger } = {}): CheckpointStorage {
  const patience = opts.patienceMillis ?? 60_000
  const limiter = new Limiter()
  const retried = async <T>(what: string, op: () => Promise<T>): Promise<T> => {
    const started = Date.now()
    for (let delay = 100; ; delay = Math.min(delay * 2, 5000)) {
      try {
        return await op()
      } catch (e) {
        if (isFatalStoreError(e) || Date.now() - started + delay > patience) throw e
        limiter.log(opts.log ?? getLogger(), 'warn', `${what} failed, retrying in ${delay} ms: ${describeError(e)} [store=${store.description}]`)
        await new Promise(resolve => setTimeout(resolve, delay))
      }
    }
  }
  return {
    description: `${store.description} (checkpoints of ${scope})`,
    acquireEpoch: p => retried(`taking a fencing epoch for partition ${p}`, () => store.acquireEpoch(scope, p)),
    read: p => retried(`reading the checkpoint of partition ${p}`, () => store.readCheckpoint(scope, p)),
    write: (p, epoch, bytes) => retried(`writing the checkpoint of partition ${p}`, () => store.writeCheckpoint(scope, p, epoch, bytes))
  }
}

/** The scope of a GroupBy's checkpoints for one source. */
export function checkpointScope (streamingDataset: string, source: string): string {
  return `${streamingDataset}|${source}`
}
