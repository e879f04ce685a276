// Key names of the Redis store (what they hold: redis-store.ts) and Redis Cluster's hash slots. Pure: no I/O.
//
// P = `<prefix>:` (default prefix `chronon`, Zipline's; `?prefix=` makes P empty), b64 = standard Base64 with
// padding (java.util.Base64), DAY(t) = t − (t rem 86 400 000) with Java's truncating remainder:
//
//   P{DATASET:b64(entity key)}:DAY:TILESIZE        tiles of one key, day and tile size (Zipline's tiled key)
//   P{DATASET:b64(entity key)}:days:TILESIZE       our index of the DAYs above
//   P{DATASET:b64(entity key)}:DAY                 untiled events of one key and day (Zipline's untiled key)
//   P{DATASET:b64(entity key)}:days                our index of those DAYs
//   P{DATASET:b64(entity key)}:fence               fencing: hash, field `PARTITION@SCOPE` → epoch (decimal)
//   P{CHRONON_METADATA:b64(name)}                  metadata (Zipline's batch-value format)
//   P{TILEKILN_PARTITION:b64(scope):PARTITION}:epoch        the current epoch of (scope, partition) (INCR)
//   P{TILEKILN_PARTITION:b64(scope):PARTITION}:checkpoint   8-byte BE epoch ‖ the checkpoint bytes
//
// Everything between `{` and `}` is the Redis Cluster hash tag, so every key of one entity lives in one hash slot,
// and so do the epoch and checkpoint of one (scope, partition). DATASET never holds `{`, `}` or `:` (Chronon
// datasets are upper-case letters, digits and underscores), and Base64 has none of them, so a key parses back.

import { TilekilnError } from '../errors.ts'

export const DAY_MILLIS = 86_400_000
/** Zipline's RedisKVStoreConstants.DefaultKeyPrefix. */
export const DEFAULT_REDIS_PREFIX = 'chronon'
/** Zipline's RedisKVStoreConstants.DataTTLSeconds (5 days). */
export const DEFAULT_REDIS_TTL_SECONDS = 5 * 24 * 3600
/** Chronon's Constants.MetadataDataset. */
export const METADATA_DATASET = 'CHRONON_METADATA'
/** The hash-tag head of the per-partition bookkeeping keys; not a Chronon dataset (it has a `:` in its tag). */
export const PARTITION_TAG = 'TILEKILN_PARTITION'

/** Java's `t - t % D`: rounds toward zero, so (−D, D) is one bucket, as Zipline computes it. */
export function dayOf (t: number): number {
  return t - (t % DAY_MILLIS) + 0 // + 0 turns −0 into 0
}

export function keyPrefix (prefix: string): string {
  if (/[{}]/.test(prefix)) throw new TilekilnError('TK_USAGE', 'the Redis key prefix must not contain { or } (they delimit the Redis Cluster hash tag)')
  return prefix === '' ? '' : prefix + ':'
}

/** `P{DATASET:` — the constant start of every key of a dataset. */
export function datasetHead (p: string, dataset: string): string {
  if (/[{}]/.test(dataset)) throw new TilekilnError('TK_STORE', `dataset '${dataset}' cannot be stored in Redis: it contains { or }`, { dataset, fatal: true })
  return `${p}{${dataset}:`
}

export function metadataKey (p: string, name: string): string {
  return `${p}{${METADATA_DATASET}:${Buffer.from(name, 'utf8').toString('base64')}}`
}

/** `P{TILEKILN_PARTITION:b64(scope):PARTITION}:` — the epoch and checkpoint keys add `epoch` / `checkpoint`. */
export function partitionTag (p: string, scope: string, partition: number): string {
  return `${p}{${PARTITION_TAG}:${Buffer.from(scope, 'utf8').toString('base64')}:${partition}}:`
}

/** The field of a partition in an entity's fence hash. */
export function fenceField (scope: string, partition: number): string {
  return `${partition}@${scope}`
}

/** Parsed name of one of our physical keys, or null for a key that is not ours. */
export type ParsedKey =
  | { kind: 'tiles', dataset: string, keyBytes: Uint8Array, tileSizeMillis: number }
  | { kind: 'events', dataset: string, keyBytes: Uint8Array }
  | { kind: 'metadata', name: string }
  /** Ours, but not Chronon data: day indexes, fences, epochs, checkpoints. */
  | { kind: 'bookkeeping' }

export function parseKey (p: string, key: string): ParsedKey | null {
  if (!key.startsWith(p) || key.charCodeAt(p.length) !== 0x7b /* { */) return null
  const close = key.indexOf('}', p.length)
  if (close < 0) return null
  const tag = key.slice(p.length + 1, close)
  const rest = key.slice(close + 1)
  if (tag.startsWith(PARTITION_TAG + ':')) return rest === ':epoch' || rest === ':checkpoint' ? { kind: 'bookkeeping' } : null
  const colon = tag.lastIndexOf(':')
  if (colon <= 0) return null
  const dataset = tag.slice(0, colon)
  const keyBytes = new Uint8Array(Buffer.from(tag.slice(colon + 1), 'base64'))
  if (rest === '') return dataset === METADATA_DATASET ? { kind: 'metadata', name: Buffer.from(keyBytes).toString('utf8') } : null
  if (rest === ':fence') return { kind: 'bookkeeping' }
  // `:DAY:TILESIZE` / `:days:TILESIZE` for tiles, `:DAY` / `:days` for untiled events.
  const m = /^:(-?\d+|days)(?::(\d+))?$/.exec(rest)
  if (m === null) return null
  if (m[1] === 'days') return { kind: 'bookkeeping' }
  // A series without tile size is ours only in a streaming dataset: Zipline writes such keys for other datasets
  // (tile summaries), and its streaming ones always carry a tile size.
  if (m[2] === undefined) return dataset.endsWith('_STREAMING') ? { kind: 'events', dataset, keyBytes } : null
  return { kind: 'tiles', dataset, keyBytes, tileSizeMillis: Number(m[2]) }
}

const GLOB_SPECIAL = /[*?[\]\\]/g

/** A SCAN MATCH pattern matching `text` literally. */
export function globLiteral (text: string): string {
  return text.replace(GLOB_SPECIAL, c => '\\' + c)
}

// ---- Redis Cluster hash slots: CRC16 (XMODEM) of the hash tag, mod 16384 ------------------------------------

const CRC16 = new Uint16Array(256)
for (let i = 0; i < 256; i++) {
  let c = i << 8
  for (let b = 0; b < 8; b++) c = (c & 0x8000) !== 0 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff
  CRC16[i] = c
}

export const SLOTS = 16384

/** The hash slot of a key: of its hash tag (the text between the first `{` and the next `}`) if non-empty. */
export function hashSlot (key: string): number {
  let from = 0
  let to = key.length
  const open = key.indexOf('{')
  if (open >= 0) {
    const close = key.indexOf('}', open + 1)
    if (close > open + 1) { from = open + 1; to = close }
  }
  const bytes = Buffer.from(key.slice(from, to), 'utf8')
  let crc = 0
  for (let i = 0; i < bytes.length; i++) crc = ((crc << 8) & 0xffff) ^ CRC16[((crc >>> 8) ^ bytes[i]!) & 0xff]!
  return crc & (SLOTS - 1)
}
