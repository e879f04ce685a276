// The order the embedded store issues a batch's puts in: (roughly) LMDB's key order, by a counting sort of the first
// bits of each put's key. Measured on this machine (2.4 M random-key tile puts in batches of 8,000 into a store of
// 16 KiB pages, 3 interleaved pairs): LMDB's write-thread CPU 1.87 / 1.94 / 1.72 → 1.37 / 1.48 / 1.55 s.
import type { PutBatch } from './put-batch.ts'

/** Most buckets of keyOrder's counting sort: 4 bits of key length, the first byte and a half of the entity key. */
const ORDER_BITS = 16
const orderCounts = new Uint32Array((1 << ORDER_BITS) + 1)
let orderBuckets = new Uint16Array(0)
let orderOut = new Uint32Array(0)

/**
 * The batch's puts in (roughly) LMDB key order, each bucket's puts in batch order: a counting sort of the indexes by
 * the first bits of their LMDB key (key length, then a byte and a half of the entity key; the dataset head is the
 * same for all). Any order is correct — a batch's puts to one key keep their order (the sort is stable). This one is
 * for LMDB: puts in random order walk the B-tree at random, missing the CPU cache at every page, and insert into
 * the middle of the transaction's dirty-page list (a sorted array); in key order neighbouring puts share pages.
 * About 4 buckets a put (at most 2^16), so the passes cost ~20 ns a put on the main thread whatever the batch size
 * (16–21 ns measured for batches of 100 to 30,000).
 * The result is shared scratch: use it before the next call.
 */
export function keyOrder (batch: PutBatch): Uint32Array | null {
  const n = batch.count
  if (n < 64) return null
  if (orderBuckets.length < n) {
    orderBuckets = new Uint16Array(n * 2)
    orderOut = new Uint32Array(n * 2)
  }
  const bits = Math.min(ORDER_BITS, 34 - Math.clz32(n))
  const shift = ORDER_BITS - bits
  const buckets = 1 << bits
  const counts = orderCounts
  counts.fill(0, 0, buckets + 1)
  const bytes = batch.bytes
  for (let i = 0; i < n; i++) {
    const at = batch.keyOffset(i)
    const len = batch.keyLength(i)
    const b = ((len < 15 ? len : 15) << 12 | (len > 0 ? bytes[at]! << 4 : 0) | (len > 1 ? bytes[at + 1]! >>> 4 : 0)) >>> shift
    orderBuckets[i] = b
    counts[b + 1]!++
  }
  for (let b = 1; b <= buckets; b++) counts[b]! += counts[b - 1]!
  for (let i = 0; i < n; i++) orderOut[counts[orderBuckets[i]!]!++] = i
  return orderOut
}
