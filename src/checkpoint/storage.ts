// Where partition checkpoints and fencing epochs live: in the shared store, next to the tiles (the store's epoch and
// checkpoint calls, sink/store.ts), under a scope naming the GroupBy's dataset and the consumed source, so every
// daemon of the group reads and writes the same ones and a daemon that lost a partition cannot overwrite what its
// successor wrote.

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

export function storeCheckpoints (store: TileStore, scope: string): CheckpointStorage {
  return {
    description: `${store.description} (checkpoints of ${scope})`,
    acquireEpoch: p => store.acquireEpoch(scope, p),
    read: p => store.readCheckpoint(scope, p),
    write: (p, epoch, bytes) => store.writeCheckpoint(scope, p, epoch, bytes)
  }
}

/** The scope of a GroupBy's checkpoints for one source. */
export function checkpointScope (streamingDataset: string, source: string): string {
  return `${streamingDataset}|${source}`
}
