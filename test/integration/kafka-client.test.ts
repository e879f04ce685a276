// The Kafka client layer against a real broker (started by scripts/test.mjs via test/services/index.ts), once per
// client library. No mocks: every assertion is about what a real Kafka 4 broker did.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { createKafkaClient } from '../../src/kafka/client.ts'
import {
  KAFKA_LIBRARIES,
  type ConsumeOptions, type GroupProtocol, type KafkaAdmin, type KafkaClient, type KafkaConsumer, type KafkaLibrary, type KafkaProducer, type KafkaRecord, type ProducerOptions, type ProducerRecord
} from '../../src/kafka/types.ts'
import { startKafka } from '../services/kafka.ts'

const brokers = process.env.TILEKILN_TEST_KAFKA
const skip = brokers === undefined
  ? 'TILEKILN_TEST_KAFKA is not set: run through the test runner (npm test / node scripts/test.mjs kafka-client), which starts a broker'
  : false

const uid = (): string => randomBytes(4).toString('hex')
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Records of `n` per partition: key k<p>-<i>, value v<p>-<i>, header seq=<i>, timestamp base + i. */
function records (partitions: number, n: number, base = 1_700_000_000_000): ProducerRecord[] {
  const out: ProducerRecord[] = []
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < partitions; p++) {
      out.push({ partition: p, key: `k${p}-${i}`, value: Buffer.from(`v${p}-${i}`), headers: { seq: String(i), src: 'test' }, timestamp: base + i })
    }
  }
  return out
}

/** A started consumer that appends every delivered record to `got`. */
/** Errors consumers reported through onError, for failure messages. */
const reported: string[] = []

async function until (what: string | (() => string), cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}; errors reported: ${reported.length === 0 ? 'none' : reported.join(' | ')}`)
    await sleep(20)
  }
}

async function consume (client: KafkaClient, opts: Partial<ConsumeOptions> & { topic: string, groupId: string }, got: KafkaRecord[] = []): Promise<{ consumer: KafkaConsumer, got: KafkaRecord[] }> {
  const consumer = client.consumer({
    onError: e => { reported.push(e.describe()) },
    onBatch: b => {
      // Batches without records only move the position (kafka-transactions.test.ts); these topics have none.
      assert.ok(b.records.length > 0)
      assert.equal(b.nextOffset, b.records[b.records.length - 1]!.offset + 1)
      for (const r of b.records) assert.equal(r.partition, b.partition)
      got.push(...b.records)
    },
    ...opts
  })
  await consumer.start()
  return { consumer, got }
}

const byPartition = (rs: readonly KafkaRecord[], p: number): number[] => rs.filter(r => r.partition === p).map(r => r.offset)
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i)

/** A client whose consumers speak `groupProtocol` unless told otherwise. */
async function clientFor (library: KafkaLibrary, groupProtocol: GroupProtocol, brokerList: string, clientId: string): Promise<KafkaClient> {
  const base = await createKafkaClient({ library, brokers: brokerList, clientId })
  return {
    library: base.library,
    brokers: base.brokers,
    consumer: o => base.consumer({ groupProtocol, ...o }),
    producer: o => base.producer(o),
    admin: async () => await base.admin(),
    endOffsets: async t => await base.endOffsets(t)
  }
}

const CONFIGS: Array<{ library: KafkaLibrary, groupProtocol: GroupProtocol }> = [
  ...KAFKA_LIBRARIES.map(library => ({ library, groupProtocol: 'classic' as const })),
  { library: 'platformatic', groupProtocol: 'consumer' }
]

for (const { library, groupProtocol } of CONFIGS) {
  describe(`Kafka client on ${library} (${groupProtocol} group protocol)`, { skip }, () => {
    let client: KafkaClient
    let admin: KafkaAdmin
    const open: KafkaConsumer[] = []
    const track = <T extends { consumer: KafkaConsumer }>(x: T): T => { open.push(x.consumer); return x }
    // Producers are closed by the after hook too: one left open by a failed test kept this file's process alive until
    // the broker dropped its idle connection (connections.max.idle.ms, 10 minutes).
    const producers: KafkaProducer[] = []
    const newProducer = (o?: ProducerOptions): KafkaProducer => { const p = client.producer(o); producers.push(p); return p }

    before(async () => {
      client = await clientFor(library, groupProtocol, brokers!, `tilekiln-test-${library}`)
      admin = await client.admin()
    })
    after(async () => {
      for (const p of producers) await p.close().catch(() => {})
      for (const c of open) await c.stop()
      await admin?.close()
    })

    async function topicWith (partitions: number, perPartition: number): Promise<string> {
      const topic = `kc-${library}-${uid()}`
      assert.equal(await admin.createTopic(topic, { partitions }), true)
      assert.equal(await admin.createTopic(topic, { partitions }), false, 'creating an existing topic reports false')
      if (perPartition > 0) {
        const producer = newProducer()
        await producer.send(topic, records(partitions, perPartition))
        await producer.close()
      }
      return topic
    }

    test('produce → consume round trip keeps keys, values, headers, partitions, offsets and timestamps', async () => {
      const topic = await topicWith(4, 25)
      const { consumer, got } = track(await consume(client, { topic, groupId: `g-${uid()}` }))
      assert.deepEqual(consumer.assignment(), [0, 1, 2, 3])
      await until('100 records', () => got.length >= 100)
      assert.equal(got.length, 100)
      for (let p = 0; p < 4; p++) {
        assert.deepEqual(byPartition(got, p), range(0, 25), `partition ${p} offsets`)
      }
      const r = got.find(x => x.partition === 2 && x.offset === 7)!
      assert.equal(r.key?.toString(), 'k2-7')
      assert.equal(r.value?.toString(), 'v2-7')
      assert.equal(r.timestamp, 1_700_000_000_007)
      assert.equal(r.headers.seq?.toString(), '7')
      assert.equal(r.headers.src?.toString(), 'test')
      await consumer.stop()
    })

    test('a slow onBatch while the next fetch is already in flight loses and repeats nothing (several partitions)', async () => {
      // Regression: a prefetched response accepted during delivery moved the fetch position under batches still
      // waiting to be delivered, which were then dropped as if seeked (whole batches of records lost).
      const topic = await topicWith(4, 20_000)
      const got: KafkaRecord[] = []
      let first = true
      const { consumer } = track(await consume(client, {
        topic,
        groupId: `g-${uid()}`,
        // Partitions larger than one fetch, so the fetch in flight during the slow delivery brings new data.
        maxBytesPerPartition: 64 * 1024,
        maxBytes: 256 * 1024,
        onBatch: async b => {
          got.push(...b.records)
          if (first) { first = false; await sleep(700) }
        }
      }, got))
      const seen = (): string => `80000 records; got ${got.length}: ${range(0, 4).map(p => { const o = byPartition(got, p); const gap = o.findIndex((x, i) => x !== i); return `partition ${p} ${o.length} (first out of order at ${gap}, last ${o[o.length - 1] ?? -1})` }).join(', ')}`
      await until(seen, () => got.length >= 80_000, 60_000)
      await sleep(300)
      for (let p = 0; p < 4; p++) assert.deepEqual(byPartition(got, p), range(0, 20_000), `partition ${p}`)
      await consumer.stop()
    })

    test('end offsets, start offsets and partition count', async () => {
      const topic = await topicWith(3, 10)
      const more = newProducer({ idempotent: false, acks: 'leader' })
      await more.send(topic, [{ partition: 1, key: null, value: 'x' }, { partition: 1, value: null }])
      await more.close()
      assert.deepEqual([...(await admin.endOffsets(topic))], [[0, 10], [1, 12], [2, 10]])
      assert.deepEqual([...(await client.endOffsets(topic))], [[0, 10], [1, 12], [2, 10]])
      assert.deepEqual([...(await admin.startOffsets(topic))], [[0, 0], [1, 0], [2, 0]])
      assert.equal(await admin.partitionCount(topic), 3)
    })

    test('committed offsets survive a restart: a new member resumes exactly there', async () => {
      const topic = await topicWith(2, 20)
      const groupId = `g-${uid()}`
      const first = track(await consume(client, { topic, groupId }))
      await until('40 records', () => first.got.length >= 40)
      await first.consumer.commit(new Map([[0, 7], [1, 13]]))
      assert.deepEqual([...(await first.consumer.committed())].sort(), [[0, 7], [1, 13]])
      await first.consumer.stop()
      assert.deepEqual([...(await admin.committedOffsets(groupId, topic))].sort(), [[0, 7], [1, 13]])

      const second = track(await consume(client, { topic, groupId }))
      await until('the rest', () => second.got.length >= 13 + 7)
      await sleep(300)
      assert.deepEqual(byPartition(second.got, 0), range(7, 20))
      assert.deepEqual(byPartition(second.got, 1), range(13, 20))
      await second.consumer.stop()
    })

    test('startFrom latest skips what was there before the group existed', async () => {
      const topic = await topicWith(1, 5)
      const { consumer, got } = track(await consume(client, { topic, groupId: `g-${uid()}`, startFrom: 'latest' }))
      const producer = newProducer()
      await producer.send(topic, [{ partition: 0, value: 'new' }])
      await until('the new record', () => got.length >= 1)
      assert.deepEqual(got.map(r => [r.offset, r.value?.toString()]), [[5, 'new']])
      await producer.close()
      await consumer.stop()
    })

    test('seek: onAssigned offsets win over committed ones, and a seek mid-stream re-reads', async () => {
      const topic = await topicWith(2, 30)
      const groupId = `g-${uid()}`
      const seeded = track(await consume(client, { topic, groupId }))
      await until('60 records', () => seeded.got.length >= 60)
      await seeded.consumer.commit(new Map([[0, 20], [1, 20]]))
      await seeded.consumer.stop()

      let assigned: readonly number[] = []
      let assignments = 0
      const { consumer, got } = track(await consume(client, {
        topic,
        groupId,
        onAssigned: ps => { assigned = ps; assignments++; return new Map([[0, 25]]) }
      }))
      assert.deepEqual(assigned, [0, 1])
      await until('the tails', () => got.length >= 5 + 10)
      assert.deepEqual(byPartition(got, 0), range(25, 30), 'partition 0 starts at the seek')
      assert.deepEqual(byPartition(got, 1), range(20, 30), 'partition 1 starts at the committed offset')

      got.length = 0
      consumer.seek(0, 3)
      // A rebalance here would re-apply onAssigned's seek to 25; say so rather than just time out.
      await until(() => `partition 0 re-read from 3 (have ${JSON.stringify(byPartition(got, 0))}, ${assignments} assignments)`, () => byPartition(got, 0).length >= 27)
      assert.deepEqual(byPartition(got, 0), range(3, 30))
      assert.deepEqual(byPartition(got, 1), [])
      assert.throws(() => { consumer.seek(9, 0) }, /not assigned/)
      await consumer.stop()
    })

    // kafkajs answers a fetch beyond the end with OFFSET_OUT_OF_RANGE by moving the position to the start policy's end
    // of the log without a word; the consumer used to drop every batch from there for good (they did not come from
    // the seek) and the partition stalled, with no error. Both clients now reset as the policy says and report it.
    test('a seek past the end of the log is reset to the start policy\'s end and reported; nothing stalls or repeats', async () => {
      const topic = await topicWith(1, 40)
      const errors: string[] = []
      const { consumer, got } = track(await consume(client, {
        topic,
        groupId: `g-${uid()}`,
        onAssigned: () => new Map([[0, 1000]]),
        onError: e => { errors.push(e.describe()); reported.push(e.describe()) }
      }))
      await until(() => `the records from the reset (have ${got.length}; errors ${JSON.stringify(errors)})`, () => got.length >= 40)
      const producer = newProducer()
      await producer.send(topic, records(1, 5, 1_750_000_000_000))
      await producer.close()
      await until('the records produced after', () => got.length >= 45)
      await sleep(300)
      assert.deepEqual(byPartition(got, 0), range(0, 45), 'from the start of the log, each record once')
      assert.ok(errors.some(e => /out of range/.test(e) && /1000/.test(e)), `the reset is reported with the seek offset: ${JSON.stringify(errors)}`)
      await consumer.stop()
    })

    test('pause stops a partition at once, resume continues where it stopped, nothing is lost', async () => {
      const topic = await topicWith(2, 0)
      // A revocation ends a pause (KafkaConsumer.pause), and a topic this new can still cause a rebalance right after
      // the start (on a loaded machine kafkajs rejoined and delivered partition 0 while it was meant to be paused):
      // partitions assigned again are paused again, in onAssigned, before their first fetch.
      const want: { consumer: KafkaConsumer | null, paused: Set<number> } = { consumer: null, paused: new Set() }
      const { consumer, got } = track(await consume(client, {
        topic,
        groupId: `g-${uid()}`,
        onAssigned: assigned => {
          const again = assigned.filter(p => want.paused.has(p))
          if (want.consumer !== null && again.length > 0) want.consumer.pause(again)
        }
      }))
      want.consumer = consumer
      want.paused = new Set([0])
      consumer.pause([0])
      assert.equal(consumer.isPaused(0), true)
      const producer = newProducer()
      await producer.send(topic, records(2, 50))
      await until('partition 1', () => byPartition(got, 1).length >= 50)
      await sleep(700)
      assert.deepEqual(byPartition(got, 0), [], 'nothing of a paused partition is delivered')

      want.paused = new Set()
      consumer.resume([0])
      assert.equal(consumer.isPaused(0), false)
      await until('partition 0', () => byPartition(got, 0).length >= 50)
      assert.deepEqual(byPartition(got, 0), range(0, 50))

      // Pause everything with data in flight (backpressure): the rest arrives after resume, in order.
      got.length = 0
      await producer.send(topic, records(2, 200))
      await until('some of the second wave', () => got.length > 0)
      want.paused = new Set([0, 1])
      consumer.pause()
      const seen = got.length
      await sleep(700)
      assert.equal(got.length, seen, 'no delivery while everything is paused')
      want.paused = new Set()
      consumer.resume()
      await until('the second wave', () => got.length >= 400)
      assert.deepEqual(byPartition(got, 0), range(50, 250))
      assert.deepEqual(byPartition(got, 1), range(50, 250))
      await producer.close()
      await consumer.stop()
    })

    test('a slow onBatch keeps the group membership (heartbeats continue)', async () => {
      const topic = await topicWith(1, 3)
      let revoked = 0
      let batches = 0
      const { consumer } = track(await consume(client, {
        topic,
        groupId: `g-${uid()}`,
        // The broker's minimum session timeout; the batch below takes longer than that.
        sessionTimeoutMs: 6000,
        heartbeatIntervalMs: 1000,
        onRevoked: () => { revoked++ },
        onBatch: async () => { batches++; if (batches === 1) await sleep(7500) }
      }))
      await until('the slow batch', () => batches >= 1)
      await sleep(7800)
      assert.equal(revoked, 0, 'no rebalance happened')
      // A member the coordinator had expelled could not commit.
      await consumer.commit(new Map([[0, 3]]))
      assert.deepEqual([...(await consumer.committed())], [[0, 3]])
      await consumer.stop()
      assert.equal(revoked, 1, 'stop() revokes')
    })

    test('survives a broker restart: reconnects, and with onAssigned seeks delivers every record exactly once', async () => {
      // A private broker: restarting the shared one would disturb the other test files running in parallel.
      const dir = mkdtempSync(join(tmpdir(), 'tilekiln-restart-'))
      let k = await startKafka({ dir, log: () => {} })
      const port = k.port
      let consumer: KafkaConsumer | null = null
      try {
        const own = await clientFor(library, groupProtocol, k.brokers, 'restart-test')
        const a = await own.admin()
        const topic = `restart-${uid()}`
        await a.createTopic(topic, { partitions: 2 })
        await a.close()
        const producer = own.producer()
        await producer.send(topic, records(2, 50))
        await producer.close()
        // What an engine does: remember how far it got, and start there whenever partitions are (re)assigned.
        const position = new Map<number, number>()
        const errors: string[] = []
        const got: KafkaRecord[] = []
        consumer = own.consumer({
          topic,
          groupId: `g-${uid()}`,
          sessionTimeoutMs: 10_000,
          heartbeatIntervalMs: 500,
          onAssigned: () => new Map(position),
          onBatch: b => { got.push(...b.records); position.set(b.partition, b.nextOffset) },
          onError: e => { errors.push(e.message) }
        })
        await consumer.start()
        await until('the first 100', () => got.length >= 100)

        await k.stop()
        k = await startKafka({ dir, port, log: () => {} })
        const again = own.producer()
        await again.send(topic, records(2, 50, 1_750_000_000_000))
        await again.close()
        await until('the second 100 after the restart', () => got.length >= 200, 60_000)
        await sleep(500)
        assert.deepEqual(byPartition(got, 0), range(0, 100), `partition 0 (errors seen: ${errors.length})`)
        assert.deepEqual(byPartition(got, 1), range(0, 100))
      } finally {
        // A consumer left running would retry the dead broker forever and keep the test process alive.
        await consumer?.stop()
        await k.stop()
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}
