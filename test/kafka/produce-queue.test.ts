// Produce requests are cut to what a broker accepts, in order, and a failed request stops the send it belongs to.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MAX_REQUEST_BYTES, ProduceQueue, requestChunks } from '../../src/kafka/produce-queue.ts'
import type { ProducerRecord } from '../../src/kafka/types.ts'

test('100,000 dead letters become requests under the broker limit, in order; a record larger than the limit goes alone', () => {
  const recs: ProducerRecord[] = Array.from({ length: 100_000 }, (_, i) => ({ value: Buffer.alloc(40, i), headers: { 'tilekiln.reason': 'late event: ts …', n: String(i) } }))
  recs.splice(500, 0, { value: Buffer.alloc(2_000_000) })
  const chunks = requestChunks(recs)
  assert.ok(chunks.length > 5)
  assert.deepEqual(chunks.flat(), recs, 'all records, in order')
  for (const c of chunks) {
    const bytes = c.reduce((n, r) => n + (r.value as Buffer).length + 60, 0)
    assert.ok(c.length === 1 || bytes <= MAX_REQUEST_BYTES + 60 * c.length, `a chunk of ${c.length} records, ~${bytes} bytes`)
  }
  assert.ok(chunks.some(c => c.length === 1 && (c[0]!.value as Buffer).length === 2_000_000))
})

test('a record limit cuts requests too (kafkajs pays per record of a send): in order, none above either limit', async () => {
  const recs: ProducerRecord[] = Array.from({ length: 2_500 }, (_, i) => ({ value: Buffer.alloc(i === 1_200 ? 950_000 : 30, i) }))
  const chunks = requestChunks(recs, MAX_REQUEST_BYTES, 1_000)
  assert.deepEqual(chunks.flat(), recs, 'all records, in order')
  assert.ok(chunks.every(c => c.length <= 1_000))
  assert.deepEqual(chunks.map(c => c.length), [1_000, 200, 1, 1_000, 299])
  const q = new ProduceQueue(true, 1_000)
  const sizes: number[] = []
  await q.send(recs.filter((_, i) => i !== 1_200), async chunk => { sizes.push(chunk.length) }, { topic: 't', broker: 'b' })
  assert.deepEqual(sizes, [1_000, 1_000, 499])
})

test('a failed request fails its send and skips the rest of it; the next send goes on', async () => {
  const q = new ProduceQueue(true)
  const sent: number[] = []
  const recs = Array.from({ length: 30 }, (_, i) => ({ value: Buffer.alloc(100_000, i) }))
  await assert.rejects(q.send(recs, async chunk => {
    if (sent.length >= 10) throw new Error('MESSAGE_TOO_LARGE')
    for (const r of chunk) sent.push((r.value as Buffer)[0]!)
  }, { topic: 't', broker: 'b' }), /cannot produce to Kafka: MESSAGE_TOO_LARGE/)
  assert.deepEqual(sent, Array.from({ length: sent.length }, (_, i) => i), 'in order, from the start')
  assert.ok(sent.length < 30)
  await q.send([{ value: 'x' }], async () => { sent.push(-1) }, { topic: 't', broker: 'b' })
  assert.equal(sent.at(-1), -1)
})
