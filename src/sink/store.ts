// The KV store contract for tiles (Chronon's KVStore, specialised to tiles). A tile is identified by
// (dataset, entity key bytes, tile size, tile start) — Zipline's TileKey — and every write is an upsert of the
// whole tile value: writing the same batch twice leaves the same state.
//
// The untiled pipeline (`run --untiled`) appends events instead: many entries per entity key, one per evaluated
// row, ordered by event time. An event is identified by (dataset, entity key bytes, event time, row identity) —
// see codec/event-key.ts — so appending the same batch twice also leaves the same state.
//
// Scale-out (several daemons share a topic; the input partition is the unit of ownership) adds bookkeeping that
// lives next to the tiles, so that it survives the machine: per (scope, partition) a fencing epoch and the latest
// checkpoint. `scope` is chosen by the engine (GroupBy dataset + source topic) and is any UTF-8 string; stores
// encode it safely in their key names. None of it is Chronon data: entries() never reports it.
//
// Fencing guarantee (every store implements it; test/sink/store-conformance.ts checks it): once
// acquireEpoch(scope, p) returned e2 and a write whose fence says epoch e2 for p was acknowledged for tiles of
// entity key k, no write carrying an older epoch of p changes any tile of k afterwards. The stale tiles are refused
// whole (never half a tile), the outcome lists p in `fenced`, and tiles of other partitions in the same call are
// written normally. Stores may refuse more (the embedded store refuses every write of an older epoch of p as soon as
// a newer one was acquired; Redis decides per entity key, which is what Redis Cluster allows atomically).

import { TilekilnError } from '../errors.ts'
import type { EventPuts } from './event-puts.ts'
import type { TilePuts } from './tile-puts.ts'

export interface StoredTile {
  readonly tileStartMillis: number
  /**
   * The time of the last event folded into the tile as last written (Chronon's latestTsMillis, what airbnb's job
   * stores as the put's timestamp); the tile start when the writer did not say.
   */
  readonly latestMillis: number
  readonly value: Uint8Array
}

/** One range of a multi-range read: the tiles of one size with fromMillis ≤ tile start < toMillis. */
export interface TileRange {
  readonly tileSizeMillis: number
  readonly fromMillis: number
  readonly toMillis: number
}

/** The ranges of one entity key in a multi-range read. */
export interface KeyRanges {
  readonly keyBytes: Uint8Array
  readonly ranges: readonly TileRange[]
}

export interface StoredEvent {
  readonly tsMillis: number
  /** The 16-byte row identity (codec/event-key.ts). */
  readonly identity: Uint8Array
  /** The Avro `{cleanName}_INPUT_COLS` record. */
  readonly value: Uint8Array
}

/** The epochs a tile write was made under: per source partition, the epoch its owner acquired. */
export interface Fence {
  readonly scope: string
  /** partition → epoch. A put whose partition is not listed is written unfenced. */
  readonly epochs: ReadonlyMap<number, number>
}

export interface WriteOutcome {
  /** Partitions whose tiles were refused as stale (ascending, each once); empty when everything was written. */
  readonly fenced: readonly number[]
}

export interface StoredCheckpoint {
  /** The epoch the checkpoint was written under. */
  readonly epoch: number
  readonly bytes: Uint8Array
}

export interface TileStore {
  /**
   * Upserts every tile of the batch; resolves once the store acknowledged all of them (in order of calls). With a
   * fence, tiles of a partition whose epoch is stale are refused (see the fencing guarantee above) and listed in the
   * outcome; the others are written.
   */
  writeTiles (dataset: string, tileSizeMillis: number, puts: TilePuts, fence?: Fence): Promise<WriteOutcome | void>
  /** Tiles of one key with fromMillis ≤ tileStart < toMillis, ascending by tile start. */
  readTiles (dataset: string, keyBytes: Uint8Array, tileSizeMillis: number, fromMillis: number, toMillis: number): Promise<StoredTile[]>
  /**
   * Several ranges of one or several keys of a dataset in one request where the store can make it one: Redis reads
   * each key's ranges with one script call, all sent at once, where readTiles per range would be a round trip each.
   * `result[i][j]` is what readTiles(dataset, reads[i].keyBytes, …reads[i].ranges[j]) returns. A read of a whole
   * tile cover (fetch/tile-cover.ts) goes through this, so it costs one round trip per level it must descend.
   */
  readTileRanges (dataset: string, reads: readonly KeyRanges[]): Promise<StoredTile[][][]>
  /**
   * Stores every event of the batch, each under its identity: an event already stored is left as it is (a replay
   * adds nothing). Resolves once the store acknowledged all of them (in order of calls, like writeTiles). Not
   * fenced: a zombie can only add events that the partition's new owner adds too.
   */
  appendEvents (dataset: string, events: EventPuts): Promise<void>
  /** Events of one key with fromMillis ≤ ts < toMillis, ascending by (ts, identity). */
  readEvents (dataset: string, keyBytes: Uint8Array, fromMillis: number, toMillis: number): Promise<StoredEvent[]>
  putMetadata (name: string, value: string): Promise<void>
  getMetadata (name: string): Promise<string | undefined>
  /** A new fencing epoch for (scope, partition): strictly greater than any handed out before, durable, shared by every process using the store. */
  acquireEpoch (scope: string, partition: number): Promise<number>
  /** The partition's latest checkpoint, or null. */
  readCheckpoint (scope: string, partition: number): Promise<StoredCheckpoint | null>
  /**
   * Writes it only if `epoch` is still the current epoch of (scope, partition), atomically; false = fenced, nothing
   * written. Resolves true once the checkpoint is as durable as the store makes anything (the embedded store: on disk).
   */
  writeCheckpoint (scope: string, partition: number, epoch: number, bytes: Uint8Array): Promise<boolean>
  /** Partitions of a scope that have a checkpoint, ascending (for operators and tools: may scan the store). */
  checkpointPartitions (scope: string): Promise<number[]>
  /**
   * Every entry as (logical key, value): tiles keyed by their TileKey bytes, events by their event key
   * (codec/event-key.ts), metadata by `CHRONON_METADATA/<name>`. Never epochs, checkpoints or fences. Streams: the
   * store holds at most a page of entries at a time, not the whole store (so the order is the store's own; sort
   * the lines to compare stores).
   */
  entries (): AsyncIterable<readonly [Uint8Array, Uint8Array]>
  /** Resolves when everything acknowledged so far is on durable storage. */
  flushed (): Promise<void>
  close (): Promise<void>
  /**
   * Largest entity key (Avro key bytes) this store can hold; the engine dead-letters longer keys before they reach
   * the writer. A store given a longer one refuses the whole batch with a fatal TK_STORE error.
   */
  readonly maxKeyBytes: number
  /**
   * Optional: drop the connection so that requests still pending on it fail for real instead of hanging (the writer
   * calls it when a request stays unacknowledged far longer than the store's observed latency). Requests issued
   * afterwards must still be applied after everything issued before (see redis-store.ts).
   */
  resetConnection? (): void
  readonly description: string
}

export const METADATA_PREFIX = 'CHRONON_METADATA/'

/** The put batch format's limit (a u16 key length): no store holds longer entity keys. */
export const MAX_KEY_BYTES = 0xffff

/** Partitions are Kafka's: whole numbers in [0, 2^31). */
export function checkPartition (partition: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition > 0x7fffffff) throw new TilekilnError('TK_INTERNAL', `a partition must be a whole number in [0, 2^31), got ${partition}`)
}

/** Epochs are whole numbers ≥ 1 (acquireEpoch hands out 1 first). */
export function checkEpoch (epoch: number): void {
  if (!Number.isSafeInteger(epoch) || epoch < 1) throw new TilekilnError('TK_INTERNAL', `an epoch must be a whole number ≥ 1, got ${epoch}`)
}
