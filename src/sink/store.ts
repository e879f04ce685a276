// The KV store contract for tiles (Chronon's KVStore, specialised to tiles). A tile is identified by
// (dataset, entity key bytes, tile size, tile start) — Zipline's TileKey — and every write is an upsert of the
// whole tile value: writing the same batch twice leaves the same state.

import type { TilePuts } from './tile-puts.ts'

export interface StoredTile {
  readonly tileStartMillis: number
  readonly value: Uint8Array
}

export interface TileStore {
  /** Upserts every tile of the batch; resolves once the store acknowledged all of them (in order of calls). */
  writeTiles (dataset: string, tileSizeMillis: number, puts: TilePuts): Promise<void>
  /** Tiles of one key with fromMillis ≤ tileStart < toMillis, ascending by tile start. */
  readTiles (dataset: string, keyBytes: Uint8Array, tileSizeMillis: number, fromMillis: number, toMillis: number): Promise<StoredTile[]>
  putMetadata (name: string, value: string): Promise<void>
  getMetadata (name: string): Promise<string | undefined>
  /** Every entry as (logical key, value): tiles keyed by their TileKey bytes, metadata by `CHRONON_METADATA/<name>`. */
  entries (): AsyncIterable<readonly [Uint8Array, Uint8Array]>
  /** Resolves when everything acknowledged so far is on durable storage. */
  flushed (): Promise<void>
  close (): Promise<void>
  readonly description: string
}

export const METADATA_PREFIX = 'CHRONON_METADATA/'
