// Kafka's compression codecs for both clients, so that a topic of any codec can be read (a topic's
// compression.type, or its producers, decide; Java producers commonly use lz4, snappy or zstd).
//
// - snappy: Java's clients and the broker write snappy-java's *framed* stream (the "xerial" format: a 16-byte header
//   — magic 0x82 "SNAPPY" 0x00, version, compatible version — then blocks of a big-endian int32 length and a raw
//   snappy block); other producers (librdkafka, platformatic) write one raw snappy block, which Java reads too.
//   @platformatic/kafka reads raw blocks only (a snappy topic written by Java failed every fetch, retried for ever);
//   the platformatic consumer reads its batches itself with these (record-batch-reader.ts), and kafkajs, which has
//   no snappy at all, gets them in its codec table (kafkajs/codecs.ts).
// - lz4 (LZ4 frames) and snappy's raw blocks: @platformatic/wasm-utils, the codec @platformatic/kafka itself uses.
// - zstd: node:zlib, which has it from Node 22.15 (and 23.8); on older Nodes a zstd batch is refused with an error
//   that says so.
import zlib from 'node:zlib'
import { snappyDecompress } from '@platformatic/wasm-utils'
import { isTilekilnError, TilekilnError } from '../errors.ts'

const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00])
const XERIAL_HEADER_BYTES = 16

/** A snappy-compressed Kafka record batch payload, framed (Java) or one raw block. */
export function snappyDecompressKafka (data: Buffer): Buffer {
  if (data.length < XERIAL_HEADER_BYTES || !data.subarray(0, 8).equals(XERIAL_MAGIC)) return snappyDecompress(data)
  const blocks: Buffer[] = []
  let at = XERIAL_HEADER_BYTES
  while (at < data.length) {
    if (at + 4 > data.length) throw new Error(`snappy (framed): truncated block length at byte ${at} of ${data.length}`)
    const n = data.readUInt32BE(at)
    at += 4
    if (at + n > data.length) throw new Error(`snappy (framed): a block of ${n} bytes at byte ${at} runs past the end (${data.length})`)
    blocks.push(snappyDecompress(data.subarray(at, at + n)))
    at += n
  }
  return blocks.length === 1 ? blocks[0]! : Buffer.concat(blocks)
}

const zstdDecompressSync = (zlib as unknown as { zstdDecompressSync?: (b: Buffer) => Buffer }).zstdDecompressSync
const zstdCompressSync = (zlib as unknown as { zstdCompressSync?: (b: Buffer) => Buffer }).zstdCompressSync

/** Whether this Node's zlib has zstd. */
export const zstdSupported = zstdDecompressSync !== undefined

/** The error for a zstd batch on a Node without zstd. */
export function zstdUnsupported (): TilekilnError {
  return new TilekilnError('TK_SOURCE', `the topic holds zstd-compressed batches, and Node ${process.version} cannot decompress zstd (node:zlib has it from Node 22.15): run tilekiln on Node 24, or have the topic use another compression.type`, { codec: 'zstd', node: process.version })
}

/** zstd through node:zlib, or the error above. */
export function zstdDecompress (data: Buffer): Buffer {
  if (zstdDecompressSync === undefined) throw zstdUnsupported()
  return zstdDecompressSync(data)
}

export function zstdCompress (data: Buffer): Buffer {
  if (zstdCompressSync === undefined) throw zstdUnsupported()
  return zstdCompressSync(data)
}

/** The codec refusal (a zstd batch on a Node without zstd) inside a client's error (a failed fetch, a crashed consumer), if that is why it failed. */
export function codecRefusal (e: unknown): TilekilnError | null {
  const seen = new Set<unknown>()
  const walk = (x: unknown): TilekilnError | null => {
    if (typeof x !== 'object' || x === null || seen.has(x)) return null
    seen.add(x)
    if (isTilekilnError(x) && x.context.codec !== undefined) return x
    const r = x as { errors?: unknown, cause?: unknown }
    if (Array.isArray(r.errors)) for (const y of r.errors) { const f = walk(y); if (f !== null) return f }
    return walk(r.cause)
  }
  return walk(e)
}
