// Our reader of fetched record batches against @platformatic/kafka's (the reader the fetch loop used before), on
// random partitions' worth of batches written by the library's producer encoder: every codec, keys and values null,
// empty and long, headers (repeated names, null values), timestamps going back and forth, CreateTime and
// LogAppendTime, control batches, aborted transactions, fetches that start inside a batch, and a last batch cut off
// by the size limit. Both must hand over the same records, in the same order, and name the same next offset.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { createRecordsBatch, Reader, readRecordsBatches, type CompressionAlgorithmValue, type MessageRecord, type RecordsBatch } from '@platformatic/kafka'
import { AbortedTransactions, IS_CONTROL_BATCH, IS_TRANSACTIONAL, type AbortedTransaction } from '../../src/kafka/aborted-transactions.ts'
import { zstdSupported } from '../../src/kafka/codecs.ts'
import { readRecordBatches, RecordBatchError } from '../../src/kafka/record-batch-reader.ts'
import { EMPTY_HEADERS } from '../../src/kafka/shared.ts'
import type { KafkaHeaders, KafkaRecord } from '../../src/kafka/types.ts'
import { Random } from '../../src/source/generator.ts'

const CODECS: CompressionAlgorithmValue[] = ['none', 'gzip', 'snappy', 'lz4', ...(zstdSupported ? ['zstd' as const] : [])]

/** The fetch loop's former conversion of the library's decoded batches: the oracle. */
function oracle (data: Buffer, partition: number, from: number, aborted: AbortedTransactions | null, into: KafkaRecord[], next: number): number {
  for (const b of readRecordsBatches(Reader.from(data))) next = oracleBatch(b, partition, from, into, next, aborted)
  return next
}

function oracleBatch (b: RecordsBatch, partition: number, from: number, into: KafkaRecord[], next: number, aborted: AbortedTransactions | null): number {
  const first = Number(b.firstOffset)
  const end = first + b.lastOffsetDelta + 1
  if (aborted !== null ? aborted.skip(b) : (b.attributes & IS_CONTROL_BATCH) !== 0) return Math.max(next, end)
  const logAppend = (b.attributes & 0x08) !== 0
  for (const r of b.records) {
    const offset = first + r.offsetDelta
    if (offset < from) continue
    let headers: KafkaHeaders = EMPTY_HEADERS
    if (r.headers.length > 0) {
      const o: Record<string, Buffer> = {}
      for (const [k, v] of r.headers) if (k !== null && v !== null) o[k.toString()] = v
      headers = o
    }
    into.push({ partition, offset, timestamp: logAppend ? Number(b.maxTimestamp) : Number(b.firstTimestamp) + Number(r.timestampDelta), key: r.key, value: r.value, headers })
  }
  return Math.max(next, end)
}

/** A record with its buffers as hex (deepEqual on Buffers compares their whole backing stores' views too slowly). */
function comparable (x: KafkaRecord): unknown {
  return { ...x, key: x.key?.toString('hex') ?? null, value: x.value?.toString('hex') ?? null, headers: Object.fromEntries(Object.entries(x.headers).map(([k, v]) => [k, v.toString('hex')])) }
}

function bytes (r: Random): Buffer | undefined {
  const k = r.int(10)
  if (k === 0) return undefined
  if (k === 1) return Buffer.alloc(0)
  const b = Buffer.alloc(k < 8 ? r.int(40) + 1 : r.int(3000) + 200)
  for (let i = 0; i < b.length; i++) b[i] = r.int(256)
  return b
}

interface Written { data: Buffer, aborted: AbortedTransaction[], firstOffset: number, endOffset: number }

/** A partition's worth of batches from offset `start`, as a fetch returns them. */
function randomPartition (r: Random, start: number): Written {
  const parts: Buffer[] = []
  const aborted: AbortedTransaction[] = []
  let offset = start
  const nBatches = 1 + r.int(6)
  for (let n = 0; n < nBatches; n++) {
    const control = r.int(8) === 0
    const count = control ? 1 : 1 + r.int(r.int(4) === 0 ? 400 : 20)
    const ts = 1_700_000_000_000 + r.int(1_000_000)
    const messages: MessageRecord[] = []
    for (let i = 0; i < count; i++) {
      const headers = new Map<Buffer, Buffer>()
      const nh = r.int(4) === 0 ? r.int(4) : 0
      for (let h = 0; h < nh; h++) headers.set(Buffer.from(['a', 'b', 'origin'][r.int(3)]!), (r.int(5) === 0 ? null : Buffer.from(String(r.int(1000)))) as Buffer)
      const key = control ? Buffer.from([0, 0, 0, r.int(2)]) : bytes(r)
      messages.push({ topic: 't', key, value: (control ? Buffer.from([0, 0, 0, 0, 0, 0]) : bytes(r) ?? null) as Buffer, headers, timestamp: BigInt(ts + r.int(20_000) - 10_000) })
    }
    const transactional = control || r.int(4) === 0
    const producerId = BigInt(1 + r.int(3))
    const codec: CompressionAlgorithmValue = control ? 'none' : CODECS[r.int(CODECS.length)]!
    const b = Buffer.from(createRecordsBatch(messages, { compression: codec, producerId, producerEpoch: 0, ...(transactional ? { transactionalId: 'tx' } : {}) }).buffer)
    b.writeBigInt64BE(BigInt(offset), 0)
    let attributes = b.readInt16BE(21)
    if (control) attributes |= IS_CONTROL_BATCH | IS_TRANSACTIONAL
    if (r.int(6) === 0) attributes |= 0x08 // LogAppendTime
    b.writeInt16BE(attributes, 21)
    if (transactional && !control && r.int(2) === 0) aborted.push({ producerId, firstOffset: BigInt(offset) })
    parts.push(b)
    // Offsets may have gaps (compaction, transaction markers elsewhere).
    offset += count + (r.int(5) === 0 ? r.int(3) : 0)
  }
  let data = Buffer.concat(parts)
  // The size limit cut the last batch off.
  if (r.int(3) === 0) data = data.subarray(0, data.length - 1 - r.int(Math.min(parts.at(-1)!.length - 1, 200)))
  return { data, aborted, firstOffset: start, endOffset: offset }
}

test('reads what @platformatic/kafka reads, on random batches of every codec, with controls, aborts and cut-off batches', () => {
  const r = new Random(17)
  let records = 0
  for (let round = 0; round < 250; round++) {
    const start = r.int(1_000_000)
    const w = randomPartition(r, start)
    const from = start + (r.int(3) === 0 ? r.int(50) : 0)
    const committed = r.int(2) === 0
    const mine: KafkaRecord[] = []
    const theirs: KafkaRecord[] = []
    const a = committed ? new AbortedTransactions(w.aborted) : null
    const b = committed ? new AbortedTransactions(w.aborted) : null
    const next = readRecordBatches(w.data, 3, from, a, mine, from)
    const expected = oracle(w.data, 3, from, b, theirs, from)
    assert.equal(next, expected, `round ${round}: next offset`)
    assert.equal(mine.length, theirs.length, `round ${round}: records`)
    for (let i = 0; i < mine.length; i++) {
      const m = mine[i]!
      const t = theirs[i]!
      assert.deepEqual(comparable(m), comparable(t), `round ${round}, record ${i}`)
    }
    records += mine.length
  }
  assert.ok(records > 4000, `only ${records} records compared`)
})

test('a damaged batch is refused with where and why, not read past its end', () => {
  const b = Buffer.from(createRecordsBatch([{ topic: 't', value: Buffer.from('hello'), key: Buffer.from('k') }], { compression: 'none', producerId: -1n, producerEpoch: 0 }).buffer)
  // A value length that runs past the batch.
  const damaged = Buffer.from(b)
  const at = damaged.indexOf(Buffer.from('hello')) - 1
  damaged[at] = 0x7e
  assert.throws(() => readRecordBatches(damaged, 0, 0, null, [], 0), (e: unknown) => e instanceof RecordBatchError && /runs past the end/.test(e.message))
  const old = Buffer.from(b)
  old.writeInt8(1, 16)
  assert.throws(() => readRecordBatches(old, 0, 0, null, [], 0), (e: unknown) => e instanceof RecordBatchError && /format v1 at offset 0/.test(e.message))
  const codec = Buffer.from(b)
  codec.writeInt16BE(5, 21)
  assert.throws(() => readRecordBatches(codec, 0, 0, null, [], 0), (e: unknown) => e instanceof RecordBatchError && /compression codec 5/.test(e.message))
})
