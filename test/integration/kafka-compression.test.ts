// Compressed topics: producers (Java's, most of all) often compress their batches, and a topic's compression.type makes
// the broker store them compressed whatever the producer sent. Each codec Kafka has (gzip, snappy, lz4, zstd) is set
// on a topic here, so the broker itself (Java's codecs, Java's framing) compresses what is produced; each client must
// deliver every record, in order — or, where it cannot decompress (zstd before Node 22.15), fail with an error that
// says which codec and what to do, never retry for ever.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createKafkaClient } from '../../src/kafka/client.ts'
import { KAFKA_LIBRARIES, type KafkaRecord, type ProducerRecord } from '../../src/kafka/types.ts'
import { BROKERS, skipWithoutKafka as skip } from '../helpers/kafka-source.ts'
import { zstdSupported } from '../../src/kafka/codecs.ts'
import { waitFor } from '../services/process.ts'

const CODECS = ['gzip', 'snappy', 'lz4', 'zstd'] as const
const COUNT = 3000

describe('Kafka source: compressed topics', { skip, timeout: 300_000 }, () => {
  for (const codec of CODECS) {
    for (const library of KAFKA_LIBRARIES) {
      test(`${codec}, ${library}: every record delivered in order, or a clear error`, async () => {
        const topic = `compressed-${codec}-${library}-${process.pid}`
        const client = await createKafkaClient({ brokers: BROKERS!, library })
        const admin = await client.admin()
        await admin.createTopic(topic, { partitions: 2, config: { 'compression.type': codec } })
        await admin.close()
        const records: ProducerRecord[] = Array.from({ length: COUNT }, (_, i) => ({ partition: i % 2, key: `k${i}`, value: Buffer.from(`value ${i} `.repeat(1 + (i % 7))) }))
        const producer = client.producer()
        await producer.send(topic, records)
        await producer.close()
        const got = new Map<number, string[]>()
        // Errors the client gives up on (fatal); what it recovers from by itself (a coordinator still loading) is not.
        const errors: string[] = []
        let n = 0
        const consumer = client.consumer({
          topic,
          groupId: `g-${topic}`,
          onError: e => { if (e.context.fatal !== undefined) errors.push(e.message) },
          onBatch: b => {
            for (const r of b.records as KafkaRecord[]) {
              const l = got.get(b.partition) ?? []
              l.push(`${String(r.key)}=${String(r.value)}`)
              got.set(b.partition, l)
              n++
            }
          }
        })
        // A client that cannot decompress may already refuse in start() (its first fetch is part of it).
        await consumer.start().catch((e: Error) => { if (errors.length === 0) errors.push(e.message) })
        try {
          await waitFor(() => n >= COUNT || errors.length > 0, 30_000, () => `${COUNT} records (have ${n}); errors: ${errors.join(' | ')}`)
        } finally {
          await consumer.stop()
        }
        if (codec === 'zstd' && !zstdSupported) {
          assert.equal(n, 0)
          assert.match(errors[0] ?? '', /zstd-compressed batches, and Node v[\d.]+ cannot decompress zstd .* run tilekiln on Node 24/)
          return
        }
        assert.deepEqual(errors, [])
        for (const p of [0, 1]) {
          assert.deepEqual(got.get(p), records.filter(r => r.partition === p).map(r => `${String(r.key)}=${String(r.value)}`))
        }
      })
    }
  }
})
