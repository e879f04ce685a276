// One partition's checkpoint: everything a daemon needs to take the partition over exactly where its previous
// owner's last consistent cut left it — the open tiles of its keys, its clock, the next offset to read — as one
// self-contained byte string, stored under (scope, partition) in the shared store (checkpoint/storage.ts).
//
//   "TKPC" | u32 version | u32 header length | header (JSON) | u32 n | entries (a tile put batch) |
//   u32 n | flags (a byte per entry: bit 0 = buffered-trigger timer pending; bits 1–6 = 0 for an open tile, else
//   an open rolled-up tile of size header.rollups[((flags >> 1) & 63) − 1]; bit 7 = that rolled-up tile is
//   unmergeable, worker/snapshot.ts) | u32 n | latest (an f64 LE per entry: the time of the last event folded into
//   the tile) | u32 crc32 of everything before
//
// Format 4 added rolled-up tiles (the flag bits 1–7 and header.rollups); format 3 (none) is read as it was. A
// version that reads only format 3 refuses format 4 instead of taking open rolled-up tiles for open tiles.
// Format 5 added the unmergeable mark (bit 7, so the resolution is bits 1–6). Format 4's resolutions never reached
// 64, so a format 3 or 4 checkpoint reads the same under format 5's rules; one with bit 7 set is refused as damaged.
// A version that reads only formats 3 and 4 refuses format 5 (it would take bit 7 for a resolution it lacks), so
// format 5 is written only for a checkpoint that has a mark; every other one is written as format 4.
//
// The entries are the open tiles exactly as they would be written (isComplete = false), so restoring one is
// decoding a tile; the CRC rejects bytes damaged after they were written.

import { crc32 } from 'node:zlib'
import { TilekilnError } from '../errors.ts'
import type { ClockState } from '../window/partition-clock.ts'

export const CHECKPOINT_FORMAT = 5
/** Older formats this version reads. */
const READS_FORMATS = [3, 4, 5]
/** The flag bit format 5 added (worker/snapshot.ts UNMERGEABLE). */
const FORMAT_5_FLAG = 0x80
const MAGIC = Buffer.from('TKPC')

export interface PartitionCheckpointHeader {
  readonly groupBy: string
  /** Changes when the GroupBy's tiles would change shape (checkpoint/fingerprint.ts). */
  readonly fingerprint: string
  readonly source: string
  readonly partition: number
  /** Next position (Kafka offset, line, sequence) to read. */
  readonly next: number
  /** The owner's epoch when it was written. */
  readonly epoch: number
  readonly takenAt: number
  readonly clock: ClockState
  /** --repartition: per origin partition, the next original offset not yet seen ([origin, next]). */
  readonly originNext: readonly (readonly [number, number])[]
  /** Open tiles in the entries (rolled-up ones included). */
  readonly entries: number
  /** Rolled-up tile sizes whose open tiles the entries hold (worker/rollups.ts); absent = none. */
  readonly rollups?: readonly number[]
}

export interface PartitionCheckpoint {
  readonly header: PartitionCheckpointHeader
  /** A tile put batch (sink/tile-puts.ts), every entry of this partition. */
  readonly entries: ArrayBuffer
  readonly timers: Uint8Array
  /** Per entry, the latest event time of its tile. */
  readonly latest: Float64Array
}

export function encodeCheckpoint (cp: PartitionCheckpoint): Uint8Array {
  const json = Buffer.from(JSON.stringify(cp.header, (_k, v) => (v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v)))
  // Format 5 only when a mark needs it: during a rolling upgrade an older daemon (formats 3 and 4) can then still
  // take over a partition a newer one checkpointed, which is every checkpoint but one with an unmergeable tile.
  const format = cp.timers.some(f => (f & FORMAT_5_FLAG) !== 0) ? CHECKPOINT_FORMAT : 4
  const body = Buffer.concat([MAGIC, u32(format), u32(json.length), json, u32(cp.entries.byteLength), Buffer.from(cp.entries), u32(cp.timers.length), Buffer.from(cp.timers), u32(cp.latest.length), Buffer.from(cp.latest.buffer, cp.latest.byteOffset, cp.latest.byteLength)])
  return Buffer.concat([body, u32(crc32(body))])
}

/** Decodes a checkpoint; a damaged or foreign one throws TK_CHECKPOINT saying what is wrong with it. */
export function decodeCheckpoint (bytes: Uint8Array, where: string): PartitionCheckpoint {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const fail = (why: string): never => { throw new TilekilnError('TK_CHECKPOINT', `the checkpoint ${where} ${why}`, { checkpoint: where }) }
  if (b.length < 20 || !b.subarray(0, 4).equals(MAGIC)) fail('is not a tilekiln partition checkpoint')
  const body = b.subarray(0, b.length - 4)
  if (crc32(body) !== b.readUInt32LE(b.length - 4)) fail('is damaged (checksum mismatch)')
  const version = b.readUInt32LE(4)
  if (!READS_FORMATS.includes(version)) fail(`has format ${version}; this tilekiln reads formats ${READS_FORMATS.slice(0, -1).join(', ')} and ${READS_FORMATS.at(-1)!}`)
  const jsonLen = b.readUInt32LE(8)
  let at = 12 + jsonLen
  const header = JSON.parse(b.subarray(12, at).toString('utf8'), (_k, v) => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v)) as PartitionCheckpointHeader
  const n = b.readUInt32LE(at); at += 4
  const entries = new Uint8Array(n)
  entries.set(b.subarray(at, at + n)); at += n
  const t = b.readUInt32LE(at); at += 4
  const timers = Uint8Array.from(b.subarray(at, at + t)); at += t
  if (version < 5) {
    const i = timers.findIndex(f => (f & FORMAT_5_FLAG) !== 0)
    if (i >= 0) fail(`is damaged: entry ${i} has the flag byte ${timers[i]!}, whose bit 7 format ${version} does not have`)
  }
  const l = b.readUInt32LE(at); at += 4
  const latest = new Float64Array(l)
  for (let i = 0; i < l; i++) latest[i] = b.readDoubleLE(at + 8 * i)
  return { header, entries: entries.buffer, timers, latest }
}

function u32 (n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0)
  return b
}
