// The KV store contract for tiles (Chronon's KVStore, specialised to tiles). A tile is identified by
// (dataset, entity key bytes, tile size, tile start) — Zipline's TileKey — and every write is an upsert of the
// whole tile value: writing the same batch twice leaves the same state.
//
// The untiled pipeline (`run --untiled`) appends events instead: many entries per entity key, one per evaluated
// row, ordered by event time. An event is identified by (dataset, entity key bytes, event time, row identity) —
// see codec/event-key.ts — so appending the same batch twice also leaves the same state.

import type { EventPuts } from './event-puts.ts'
import type { TilePuts } from './tile-puts.ts'

export interface StoredTile {
  readonly tileStartMillis: number
  readonly value: Uint8Array
}

export interface StoredEvent {
  readonly tsMillis: number
  /** The 16-byte row identity (codec/event-key.ts). */
  readonly identity: Uint8Array
  /** The Avro `{cleanName}_INPUT_COLS` record. */
  readonly value: Uint8Array
}

/** The epochs a batch of tiles is written under, by source partition; a stale epoch's tiles are refused. */
export interface Fence { readonly scope: string, readonly epochs: ReadonlyMap<number, number> }

/** Partitions whose tiles the store refused as stale (another daemon took them over). */
export interface WriteOutcome { readonly fenced: readonly number[] }

export interface TileStore {
  /** Upserts every tile of the batch; resolves once the store acknowledged all of them (in order of calls). */
  writeTiles (dataset: string, tileSizeMillis: number, puts: TilePuts, fence?: Fence): Promise<WriteOutcome | void>
  /** Tiles of one key with fromMillis ≤ tileStart < toMillis, ascending by tile start. */
  readTiles (dataset: string, keyBytes: Uint8Array, tileSizeMillis: number, fromMillis: number, toMillis: number): Promise<StoredTile[]>
  /**
   * Stores every event of the batch, each under its identity: an event already stored is left as it is (a replay
   * adds nothing). Resolves once the store acknowledged all of them (in order of calls, like writeTiles).
   */
  appendEvents (dataset: string, events: EventPuts): Promise<void>
  /** Events of one key with fromMillis ≤ ts < toMillis, ascending by (ts, identity). */
  readEvents (dataset: string, keyBytes: Uint8Array, fromMillis: number, toMillis: number): Promise<StoredEvent[]>
  putMetadata (name: string, value: string): Promise<void>
  getMetadata (name: string): Promise<string | undefined>
  /**
   * Every entry as (logical key, value): tiles keyed by their TileKey bytes, events by their event key
   * (codec/event-key.ts), metadata by `CHRONON_METADATA/<name>`.
   */
  entries (): AsyncIterable<readonly [Uint8Array, Uint8Array]>
  /** Resolves when everything acknowledged so far is on durable storage. */
  flushed (): Promise<void>
  close (): Promise<void>
  readonly description: string
}

export const METADATA_PREFIX = 'CHRONON_METADATA/'
