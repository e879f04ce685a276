// Reads the record batches of one partition of a Fetch response (Kafka's RecordBatch v2, the only format a Kafka 4
// broker stores) straight into the records the engine is handed: one KafkaRecord and one view of the value per
// record, nothing else (the key's view is made only when someone reads it: the engine never does, the shuffle stage
// does). @platformatic/kafka's reader made, per record, a record object, a header array, a BigInt
// timestamp delta and its buffers through a chunked reader, which the fetch loop then copied into a KafkaRecord: about
// a fifth of the main thread's time from Kafka, and most of its garbage.
//
// Layout read here (all integers big-endian; varints zig-zag):
//   batch:  baseOffset int64 · length int32 (bytes after this field) · partitionLeaderEpoch int32 · magic int8 ·
//           crc uint32 · attributes int16 · lastOffsetDelta int32 · baseTimestamp int64 · maxTimestamp int64 ·
//           producerId int64 · producerEpoch int16 · baseSequence int32 · count int32 · records (compressed as a
//           whole when attributes' low 3 bits say so)
//   record: length varint · attributes int8 · timestampDelta varlong · offsetDelta varint · keyLength varint · key ·
//           valueLength varint · value · headerCount varint · (keyLength varint · key · valueLength varint · value)*
// A length of -1 is null. A batch cut off by the fetch's size limit (the broker returns partial batches) is left for
// the next fetch, as every Kafka client does.

import zlib from 'node:zlib'
import { lz4Decompress } from '@platformatic/wasm-utils'
import { IS_CONTROL_BATCH, type AbortedTransactions, type TransactionalBatch } from './aborted-transactions.ts'
import { snappyDecompressKafka, zstdDecompress } from './codecs.ts'
import { EMPTY_HEADERS } from './shared.ts'
import type { KafkaHeaders, KafkaRecord } from './types.ts'

/** Bytes before the batch's length field ends (baseOffset + length). */
const LOG_OVERHEAD = 12
/** Bytes of a batch's header, up to and including the record count. */
const BATCH_HEADER = 61
const COMPRESSION = 0x07
const TIMESTAMP_LOG_APPEND_TIME = 0x08
const TWO_32 = 4294967296

/** The record batch could not be read: the message says where and why (the caller adds partition and offset). */
export class RecordBatchError extends Error {}

function int64 (b: Buffer, at: number): number {
  return b.readInt32BE(at) * TWO_32 + b.readUInt32BE(at + 4)
}

function decompress (codec: number, data: Buffer): Buffer {
  switch (codec) {
    case 1: return zlib.gunzipSync(data)
    case 2: return snappyDecompressKafka(data)
    case 3: return lz4Decompress(data)
    case 4: return zstdDecompress(data)
    default: throw new RecordBatchError(`unknown compression codec ${codec} (attributes' low bits): this is not a batch Kafka writes`)
  }
}

/** Reads records from one contiguous buffer; the position moves as fields are read. */
class RecordCursor {
  data: Buffer = Buffer.alloc(0)
  at = 0
  end = 0

  reset (data: Buffer, at: number, end: number): void {
    this.data = data
    this.at = at
    this.end = end
  }

  /** A zig-zag varint of up to 64 bits, as a number (exact within ±2^53). */
  varint (): number {
    const d = this.data
    let n = 0
    let shift = 0
    let b: number
    do {
      if (this.at >= this.end) throw new RecordBatchError('a record runs past the end of its batch')
      b = d[this.at++]!
      n += shift < 28 ? (b & 0x7f) << shift : (b & 0x7f) * 2 ** shift
      shift += 7
    } while ((b & 0x80) !== 0 && shift < 70)
    if ((b & 0x80) !== 0) throw new RecordBatchError('a varint longer than 10 bytes')
    // Zig-zag: n is unsigned here (it may exceed 2^31, so no bit operators).
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2
  }

  int8 (): number {
    if (this.at >= this.end) throw new RecordBatchError('a record runs past the end of its batch')
    return this.data[this.at++]!
  }

  /** A varint-length byte string as a view of the buffer; null for length -1. */
  bytes (): Buffer | null {
    const n = this.skipBytes()
    return n < 0 ? null : this.data.subarray(this.at - n, this.at)
  }

  /** Skips a varint-length byte string; returns its length (it ends at `at`), or -1 for null. */
  skipBytes (): number {
    const n = this.varint()
    if (n < 0) {
      if (n === -1) return -1
      throw new RecordBatchError(`a negative length (${n})`)
    }
    const s = this.at
    if (s + n > this.end) throw new RecordBatchError(`a field of ${n} bytes runs past the end of its record batch`)
    this.at = s + n
    return n
  }
}

/** A fetched record whose key is a view made on first read. */
class FetchedRecord implements KafkaRecord {
  readonly partition: number
  readonly offset: number
  readonly timestamp: number
  readonly value: Buffer | null
  readonly headers: KafkaHeaders
  readonly #data: Buffer
  readonly #keyAt: number
  /** -1: a null key. */
  readonly #keyLength: number

  constructor (partition: number, offset: number, timestamp: number, data: Buffer, keyAt: number, keyLength: number, value: Buffer | null, headers: KafkaHeaders) {
    this.partition = partition
    this.offset = offset
    this.timestamp = timestamp
    this.#data = data
    this.#keyAt = keyAt
    this.#keyLength = keyLength
    this.value = value
    this.headers = headers
  }

  get key (): Buffer | null { return this.#keyLength < 0 ? null : this.#data.subarray(this.#keyAt, this.#keyAt + this.#keyLength) }
}

const cursor = new RecordCursor()

/** Points the cursor at the records of the batch at `at`, decompressed first when the batch is compressed. */
function openRecords (data: Buffer, at: number, batchEnd: number, attributes: number): void {
  const codec = attributes & COMPRESSION
  if (codec === 0) {
    cursor.reset(data, at + BATCH_HEADER, batchEnd)
    return
  }
  const inflated = decompress(codec, data.subarray(at + BATCH_HEADER, batchEnd))
  cursor.reset(inflated, 0, inflated.length)
}

const NO_RECORDS: TransactionalBatch['records'] = []

/**
 * Appends the user records of `data` (one partition's records bytes) at offsets ≥ `from` to `into`, skipping control
 * batches and, when `aborted` is given (read_committed), aborted transactions' batches. Returns the offset to read
 * next: past the last whole batch, and never below `next`. Throws RecordBatchError on a batch that cannot be read.
 */
export function readRecordBatches (data: Buffer, partition: number, from: number, aborted: AbortedTransactions | null, into: KafkaRecord[], next: number): number {
  let at = 0
  while (data.length - at >= LOG_OVERHEAD) {
    const length = data.readInt32BE(at + 8)
    const batchEnd = at + LOG_OVERHEAD + length
    // Cut off by the fetch's size limit: the next fetch starts at this batch.
    if (batchEnd > data.length) break
    const base = int64(data, at)
    if (length < BATCH_HEADER - LOG_OVERHEAD) throw new RecordBatchError(`a record batch of ${length} bytes is shorter than its header (at offset ${base})`)
    const magic = data.readInt8(at + 16)
    if (magic !== 2) throw new RecordBatchError(`record batch format v${magic} at offset ${base}: only v2 (Kafka 0.11 and later) is read; the broker stores v2 since Kafka 4.0`)
    const attributes = data.readInt16BE(at + 21)
    const lastOffsetDelta = data.readInt32BE(at + 23)
    const baseTimestamp = int64(data, at + 27)
    const maxTimestamp = int64(data, at + 35)
    const count = data.readInt32BE(at + 57)
    const end = base + lastOffsetDelta + 1
    const control = (attributes & IS_CONTROL_BATCH) !== 0
    if (control || aborted !== null) {
      let skip = control
      if (aborted !== null) {
        // The filter reads the producer and, on a control batch, its marker's key (ABORT or COMMIT).
        let records = NO_RECORDS
        if (control && count > 0) {
          openRecords(data, at, batchEnd, attributes)
          cursor.varint(); cursor.int8(); cursor.varint(); cursor.varint()
          records = [{ key: cursor.bytes() }]
        }
        const b: TransactionalBatch = { firstOffset: BigInt(base), lastOffsetDelta, producerId: data.readBigInt64BE(at + 43), attributes, records }
        skip = aborted.skip(b)
      }
      if (skip) {
        if (end > next) next = end
        at = batchEnd
        continue
      }
    }
    openRecords(data, at, batchEnd, attributes)
    const logAppend = (attributes & TIMESTAMP_LOG_APPEND_TIME) !== 0
    for (let i = 0; i < count; i++) {
      const len = cursor.varint()
      const recordEnd = cursor.at + len
      if (len < 0 || recordEnd > cursor.end) throw new RecordBatchError(`record ${i} of the batch at offset ${base} runs past the batch's end`)
      const outer = cursor.end
      cursor.end = recordEnd
      cursor.int8()
      const timestampDelta = cursor.varint()
      const offset = base + cursor.varint()
      // A fetch may start inside a batch (compressed ones are returned whole); records before `from` were seen.
      if (offset < from) {
        cursor.at = recordEnd
        cursor.end = outer
        continue
      }
      const keyLength = cursor.skipBytes()
      const keyAt = cursor.at - Math.max(keyLength, 0)
      const value = cursor.bytes()
      const nHeaders = cursor.varint()
      let headers: KafkaHeaders = EMPTY_HEADERS
      if (nHeaders > 0) {
        const o: Record<string, Buffer> = {}
        for (let h = 0; h < nHeaders; h++) {
          const k = cursor.bytes()
          const v = cursor.bytes()
          // A name repeated in one record keeps its last value; a header without a name or a value is left out.
          if (k !== null && v !== null) o[k.toString()] = v
        }
        headers = o
      }
      cursor.at = recordEnd
      cursor.end = outer
      into.push(new FetchedRecord(partition, offset, logAppend ? maxTimestamp : baseTimestamp + timestampDelta, cursor.data, keyAt, keyLength, value, headers))
    }
    if (end > next) next = end
    at = batchEnd
  }
  return next
}
