// Topics written by transactional producers (Flink's and Kafka Streams' exactly-once sinks write such topics): the
// engine reads them read_committed. Records of aborted transactions are in the log and the broker returns them; the
// client must skip them, and the transaction markers, and still see the partition read to its end (--until-end).
// Each topic here holds every record of a plain topic in committed transactions, between aborted transactions that
// carry duplicates of them (two producers interleaved on the same partitions), and ends with an aborted transaction.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { Kafka, logLevel, type Producer } from 'kafkajs'
import { produce } from '../../src/cli/produce.ts'
import { createKafkaClient } from '../../src/kafka/client.ts'
import { KAFKA_LIBRARIES, type KafkaRecord, type ProducerRecord } from '../../src/kafka/types.ts'
import { tilekiln } from '../helpers/cli.ts'
import { BROKERS, produceOptions, readHalves, runArgs, skipWithoutKafka as skip } from '../helpers/kafka-source.ts'
import { dumpLines } from '../helpers/store-dump.ts'
import { waitFor } from '../services/process.ts'

const work = mkdtempSync(join(tmpdir(), 'tilekiln-kafka-txn-'))
const schemaFile = join(work, 'schema.avsc')
const EVENTS = 20_000

describe('Kafka source: topics of transactional producers (read_committed)', { skip, timeout: 300_000 }, () => {
  const staging = `txn-staging-${process.pid}`
  const plainTopic = `txn-plain-${process.pid}`
  const txnTopic = `txn-${process.pid}`
  /** What a read_committed reader must see, per partition, in order: every record of the staging topic. */
  const committed = new Map<number, string[]>()
  let kafka: Kafka
  const producers: Producer[] = []

  const send = async (producer: Producer, topic: string, records: readonly ProducerRecord[]): Promise<void> => {
    for (let i = 0; i < records.length; i += 5000) {
      await producer.send({ topic, messages: records.slice(i, i + 5000).map(r => ({ partition: r.partition, key: r.key as Buffer | null, value: r.value as Buffer })) })
    }
  }
  const transaction = async (producer: Producer, topic: string, records: readonly ProducerRecord[], outcome: 'commit' | 'abort'): Promise<void> => {
    const tx = await producer.transaction()
    await send(tx as unknown as Producer, topic, records)
    await (outcome === 'commit' ? tx.commit() : tx.abort())
  }
  const identity = (key: Uint8Array | string | null | undefined, value: Uint8Array | string | null | undefined): string => `${Buffer.from(key ?? '').toString('hex')}/${Buffer.from(value ?? '').toString('hex')}`

  before(async () => {
    await produce(produceOptions(staging, EVENTS, schemaFile))
    const [first, second] = await readHalves(BROKERS!, staging)
    for (const r of [...first, ...second]) {
      const l = committed.get(r.partition!) ?? []
      l.push(identity(r.key, r.value))
      committed.set(r.partition!, l)
    }
    kafka = new Kafka({ clientId: 'tilekiln-test-txn', brokers: [BROKERS!], logLevel: logLevel.NOTHING })
    const admin = kafka.admin()
    await admin.connect()
    await admin.createTopics({ waitForLeaders: true, topics: [{ topic: plainTopic, numPartitions: 4 }, { topic: txnTopic, numPartitions: 4 }] })
    await admin.disconnect()
    const plain = kafka.producer()
    producers.push(plain)
    await plain.connect()
    await send(plain, plainTopic, [...first, ...second])
    const [a, b] = ['a', 'b'].map(n => kafka.producer({ transactionalId: `tilekiln-test-${n}-${process.pid}`, idempotent: true, maxInFlightRequests: 1 }))
    producers.push(a!, b!)
    await a!.connect()
    await b!.connect()
    // Duplicates of committed records in aborted transactions: read, they would be counted twice.
    await transaction(b!, txnTopic, first.slice(0, 3000), 'abort')
    await transaction(a!, txnTopic, first, 'commit')
    // Two open transactions interleaved on the same partitions; the one that began first aborts after the other
    // sent its records, so aborted and committed batches alternate in the log.
    const txB = await b!.transaction()
    await send(txB as unknown as Producer, txnTopic, second.slice(0, 2000))
    const txA = await a!.transaction()
    await send(txA as unknown as Producer, txnTopic, second)
    await send(txB as unknown as Producer, txnTopic, first.slice(0, 1000))
    await txB.abort()
    await txA.commit()
    // The topic ends with an aborted transaction: its last offsets hold no record a reader may see.
    await transaction(b!, txnTopic, second.slice(0, 500), 'abort')
  })
  after(async () => {
    for (const p of producers) await p.disconnect().catch(() => {})
    rmSync(work, { recursive: true, force: true })
  })

  for (const library of KAFKA_LIBRARIES) {
    test(`${library}: the consumer delivers exactly the committed records, in order, and reaches the end offsets (fetches of one batch too)`, async () => {
      const client = await createKafkaClient({ brokers: BROKERS!, library })
      const admin = await client.admin()
      const ends = await admin.endOffsets(txnTopic)
      await admin.close()
      for (const maxBytes of [2 << 20, 1]) {
        const got = new Map<number, string[]>()
        const reached = new Map<number, number>()
        const consumer = client.consumer({
          topic: txnTopic,
          groupId: `txn-${library}-${maxBytes}-${process.pid}`,
          maxBytes,
          maxBytesPerPartition: maxBytes,
          onBatch: b => {
            let at = reached.get(b.partition) ?? 0
            for (const r of b.records as KafkaRecord[]) {
              assert.ok(r.offset >= at, `partition ${b.partition}: offset ${r.offset} after ${at}`)
              at = r.offset + 1
              const l = got.get(b.partition) ?? []
              l.push(identity(r.key, r.value))
              got.set(b.partition, l)
            }
            assert.ok(b.nextOffset >= at)
            reached.set(b.partition, b.nextOffset)
          }
        })
        await consumer.start()
        try {
          await waitFor(() => [...ends].every(([p, end]) => (reached.get(p) ?? 0) >= end), 60_000,
            () => `the end offsets ${JSON.stringify([...ends])} (reached ${JSON.stringify([...reached])}, maxBytes ${maxBytes})`)
        } finally {
          await consumer.stop()
        }
        for (const [p, want] of committed) {
          const have = got.get(p) ?? []
          assert.equal(have.length, want.length, `partition ${p}, maxBytes ${maxBytes}: ${have.length} records delivered, ${want.length} committed`)
          for (let i = 0; i < want.length; i++) assert.equal(have[i], want[i], `partition ${p}, maxBytes ${maxBytes}: record ${i}`)
        }
      }
    })

    test(`${library}: tilekiln run --until-end on the transactional topic finishes and writes what it writes from the plain one`, async () => {
      const lib = ['--kafka-library', library]
      const plainDir = mkdtempSync(join(work, `plain-${library}-`))
      const txnDir = mkdtempSync(join(work, `txn-${library}-`))
      const [p, t] = await Promise.all([
        tilekiln(runArgs(plainTopic, plainDir, schemaFile, 2, lib), {}, 120_000),
        tilekiln(runArgs(txnTopic, txnDir, schemaFile, 2, lib), {}, 120_000)
      ])
      assert.equal(p.code, 0, p.stderr.slice(-3000))
      assert.equal(t.code, 0, t.stderr.slice(-3000))
      assert.equal(JSON.parse(t.stdout).records, EVENTS)
      assert.equal(JSON.parse(t.stdout).deadLetters, 0)
      // The positions moved past the markers and the aborted transaction at the end: the group's committed offsets
      // (the final checkpoint's) are the end offsets, so the partitions' lag is 0, not the length of that tail.
      const admin = kafka.admin()
      await admin.connect()
      try {
        const ends = new Map((await admin.fetchTopicOffsets(txnTopic)).map(o => [o.partition, o.high]))
        const groupId = runArgs(txnTopic, txnDir, schemaFile, 2)[runArgs(txnTopic, txnDir, schemaFile, 2).indexOf('--group-id') + 1]!
        const [offsets] = await admin.fetchOffsets({ groupId, topics: [txnTopic] })
        assert.deepEqual(new Map(offsets!.partitions.map(o => [o.partition, o.offset])), ends)
      } finally {
        await admin.disconnect()
      }
      const [a, b] = [await dumpLines(join(plainDir, 'store')), await dumpLines(join(txnDir, 'store'))]
      assert.equal(b.length, a.length)
      for (let i = 0; i < a.length; i++) assert.equal(b[i], a[i], `entry ${i} differs`)
    })
  }
})
