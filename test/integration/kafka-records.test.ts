// Kafka-record attacks (hardening, issue 12): what the Kafka side can throw at the daemon, against the real broker.
// - A record larger than the per-partition fetch limit (6 MiB; the clients fetch 4 MiB per partition) used to halt its
//   partition silently with both clients: the broker sends part of the batch, the client discards it, forever. It
//   must be delivered (the client layer fetches such a partition alone), and the daemon must dead-letter it or stop
//   with a TK code that names it — never sit there.
// - A topic deleted while the daemon reads it used to look like a topic without new records (lag 0, no error, 58 s):
//   it must stop the run with a TK_SOURCE error that says so, within seconds.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { produce, type ProduceOptions } from '../../src/cli/produce.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { T } from '../../src/api/data-type.ts'
import { TilekilnError } from '../../src/errors.ts'
import { createKafkaClient } from '../../src/kafka/client.ts'
import { openKafkaSource } from '../../src/source/kafka.ts'
import type { RecordPusher } from '../../src/source/source.ts'
import type { GroupProtocol, KafkaAdmin, KafkaClient, KafkaLibrary, KafkaRecord } from '../../src/kafka/types.ts'
import { startTilekiln, tilekiln } from '../helpers/cli.ts'
import { groupByPath } from '../helpers/reference.ts'

const BROKERS = process.env.TILEKILN_TEST_KAFKA
const skip = BROKERS === undefined ? 'needs a Kafka broker: run through `npm test`' : false
const GB = groupByPath('airbnb-chronon/api/py/test/sample/production/group_bys/quickstart/returns.v1')
const plan = compilePlan(JSON.parse(readFileSync(GB, 'utf8')))
const BIG = 6 << 20
const uid = (): string => randomBytes(4).toString('hex')
const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }
const CONFIGS: Array<{ library: KafkaLibrary, groupProtocol: GroupProtocol }> = [
  { library: 'kafkajs', groupProtocol: 'classic' },
  { library: 'platformatic', groupProtocol: 'classic' },
  { library: 'platformatic', groupProtocol: 'consumer' }
]

describe('Kafka records that attack the daemon', { skip }, () => {
  const work = mkdtempSync(join(tmpdir(), 'tilekiln-kafka-records-'))
  const schema = join(work, 'schema.avsc')
  let client: KafkaClient
  let admin: KafkaAdmin

  before(async () => {
    client = await createKafkaClient({ library: 'kafkajs', brokers: BROKERS!, clientId: 'records-test' })
    admin = await client.admin()
  })
  after(async () => {
    await admin?.close()
    rmSync(work, { recursive: true, force: true })
  })

  const produceOptions = (topic: string, count: number): ProduceOptions => ({
    brokers: BROKERS!, topic, plan, count, seed: 11, partitions: 3, format: 'avro', malformedFraction: 0, keys: 50, zipf: 0,
    spanMillis: 86_400_000, disorderMillis: 0, lateFraction: 0, schemaOut: schema, library: 'kafkajs', batch: 1000, keyType: 'long',
    now: Date.UTC(2026, 10, 1)
  })

  /** A topic that takes records up to 16 MiB, with small records around a 6 MiB one on partitions 1 and 2. */
  async function topicWithBigRecords (): Promise<{ topic: string, ends: Map<number, number> }> {
    const topic = `big-${uid()}`
    await admin.createTopic(topic, { partitions: 3, config: { 'max.message.bytes': String(16 << 20) } })
    const producer = client.producer()
    const small = (p: number, n: number): Array<{ partition: number, value: string }> => Array.from({ length: n }, (_, i) => ({ partition: p, value: `small-${p}-${i}` }))
    await producer.send(topic, [...small(0, 50), ...small(1, 50), ...small(2, 50)])
    await producer.send(topic, [{ partition: 1, value: Buffer.alloc(BIG, 1) }, { partition: 2, value: Buffer.alloc(BIG, 2) }])
    await producer.send(topic, [...small(0, 50), ...small(1, 50), ...small(2, 50)])
    await producer.close()
    return { topic, ends: await admin.endOffsets(topic) }
  }

  for (const { library, groupProtocol } of CONFIGS) {
    test(`${library} / ${groupProtocol}: a 6 MiB record (over the 4 MiB per-partition fetch limit) is delivered in order with the records around it`, { timeout: 90_000 }, async () => {
      const { topic, ends } = await topicWithBigRecords()
      const c = await createKafkaClient({ library, brokers: BROKERS!, clientId: 'records-test' })
      const got: KafkaRecord[] = []
      const consumer = c.consumer({ topic, groupId: `g-${uid()}`, groupProtocol, onBatch: b => { got.push(...b.records) } })
      await consumer.start()
      try {
        const deadline = Date.now() + 60_000
        while (got.length < 302 && Date.now() < deadline) await sleep(50)
      } finally {
        await consumer.stop()
      }
      for (const [p, end] of ends) {
        const offsets = got.filter(r => r.partition === p).map(r => r.offset)
        assert.deepEqual(offsets, Array.from({ length: end }, (_, i) => i), `partition ${p}: offsets delivered`)
      }
      assert.deepEqual(got.filter(r => (r.value?.length ?? 0) === BIG).map(r => [r.partition, r.offset, r.value![0]]).sort((x, y) => x[0]! - y[0]!), [[1, 50, 1], [2, 50, 2]])
    })
  }

  test('platformatic: a partition whose next batch exceeds the per-partition limit is fetched alone at once, not after the busy partitions drained', { timeout: 90_000 }, async () => {
    const topic = `alone-${uid()}`
    await admin.createTopic(topic, { partitions: 3, config: { 'max.message.bytes': String(16 << 20) } })
    const producer = client.producer()
    const filler = Buffer.alloc(1024, 9)
    for (let i = 0; i < 8; i++) await producer.send(topic, Array.from({ length: 1000 }, (_, j) => ({ partition: j % 2, value: filler })))
    await producer.send(topic, [{ partition: 2, value: Buffer.alloc(2 << 20, 3) }])
    await producer.close()
    const c = await createKafkaClient({ library: 'platformatic', brokers: BROKERS!, clientId: 'records-test' })
    let busyWhenBig = -1
    let busy = 0
    // 256 KiB per partition and 1 MiB per fetch: partitions 0 and 1 (4 MB each) take 16 fetches to drain.
    const consumer = c.consumer({
      topic, groupId: `g-${uid()}`, maxBytesPerPartition: 256 << 10, maxBytes: 1 << 20,
      onBatch: b => { if (b.partition === 2) busyWhenBig = busy; else busy += b.records.length }
    })
    await consumer.start()
    try {
      const deadline = Date.now() + 60_000
      while ((busyWhenBig < 0 || busy < 8000) && Date.now() < deadline) await sleep(50)
    } finally {
      await consumer.stop()
    }
    assert.equal(busy, 8000)
    assert.ok(busyWhenBig >= 0 && busyWhenBig < 4000, `the 2 MiB record came after ${busyWhenBig} of the 8,000 records of the busy partitions`)
  })

  for (const library of ['kafkajs', 'platformatic'] as const) {
    test(`${library}: a record the engine refuses (push throws) fails the run with the engine's error; the client does not retry or pause it silently`, { timeout: 60_000 }, async () => {
      const { topic } = await topicWithBigRecords()
      const source = await openKafkaSource({
        client: { library, brokers: BROKERS!, clientId: 'refuse-test' }, topic, groupId: `g-${uid()}`, format: { kind: 'json', schema: T.struct('R', []) as never },
        untilEnd: false, startFrom: 'earliest', sessionTimeoutMs: 10_000
      })
      const refusal = new TilekilnError('TK_SOURCE', 'a record of 6291456 bytes does not fit in a ring slot', { partition: 1, position: 50 })
      let pushed = 0
      const pusher: RecordPusher = {
        push: bytes => { if (bytes.length === BIG) throw refusal; pushed++; return undefined },
        pushKeyed: () => undefined,
        flush: async () => {},
        reject: () => {},
        assigned: async () => new Map(),
        revoked: async () => {},
        caughtUp: () => {},
        originTime: () => {}
      }
      const abort = new AbortController()
      const timer = setTimeout(() => { abort.abort() }, 45_000)
      try {
        await assert.rejects(source.run(pusher, abort.signal), (e: unknown) => e === refusal)
      } finally {
        clearTimeout(timer)
        await source.close?.()
      }
      assert.ok(!abort.signal.aborted, 'the run ended by itself, not by the test\'s timeout')
      assert.ok(pushed >= 50, `records before the refused one were pushed (${pushed})`)
    })
  }

  // The engine's ring slots hold 4 MiB: a larger record must become a dead letter there (the engine's large-record
  // path, `run --ring-slot-bytes`); without it the engine waits for a slot that can never hold the record.
  const largeRecords = (async () => (await tilekiln(['run', '--help'])).stdout.includes('--ring-slot-bytes'))()

  test('the daemon does not halt on a 6 MiB record: it dead-letters it and takes every good record, with either client', { timeout: 240_000 }, async t => {
    if (!await largeRecords) { t.skip('needs the engine\'s large-record path (run --ring-slot-bytes)'); return }
    const topic = `big-run-${uid()}`
    await admin.createTopic(topic, { partitions: 3, config: { 'max.message.bytes': String(16 << 20) } })
    await produce(produceOptions(topic, 3000))
    const producer = client.producer()
    await producer.send(topic, [{ partition: 1, value: Buffer.alloc(BIG, 7) }])
    await producer.close()
    // Later events than the first 3,000 (the same span would be late behind their watermark).
    await produce({ ...produceOptions(topic, 3000), seed: 12, now: Date.UTC(2026, 10, 3) })
    for (const library of ['kafkajs', 'platformatic']) {
      const dir = mkdtempSync(join(work, 'run-'))
      const r = await tilekiln(['run', '--group-by', GB, '--source', `kafka:${BROKERS!}/${topic}`, '--schema', schema, '--store', `embedded:${join(dir, 'store')}`,
        '--group-id', `g-${uid()}`, '--until-end', '--progress', '0', '--json', '--kafka-library', library], {}, 90_000)
      assert.notEqual(r.code, 124, `${library}: the daemon sat on the big record until killed:\n${r.stderr.slice(-2000)}`)
      assert.equal(r.code, 0, r.stderr)
      const summary = JSON.parse(r.stdout)
      assert.equal(summary.deadLetters, 1, `${library}: dead letters`)
      assert.equal(summary.metrics.rows_aggregated, 6000, `${library}: good records`)
      // The dead letter went to the dead-letter topic whole enough to find the record (its value cut to 512 KiB).
      const dlq: KafkaRecord[] = []
      const reader = client.consumer({ topic: `${topic}.tilekiln-dlq`, groupId: `dlq-${uid()}`, onBatch: b => { dlq.push(...b.records) } })
      await reader.start()
      const until = Date.now() + 20_000
      while (dlq.length < 1 && Date.now() < until) await sleep(50)
      await reader.stop()
      const last = dlq.at(-1)
      assert.ok(last !== undefined, 'a dead letter in the dead-letter topic')
      assert.equal(last.headers['tilekiln.partition']?.toString(), '1')
      assert.ok((last.value?.length ?? 0) <= 512 * 1024)
    }
  })

  for (const { library, groupProtocol } of CONFIGS) {
    test(`${library} / ${groupProtocol}: a topic deleted mid-run stops the daemon with TK_SOURCE within seconds`, { timeout: 120_000 }, async () => {
      const topic = `deleted-${uid()}`
      await produce(produceOptions(topic, 20_000))
      const dir = mkdtempSync(join(work, 'deleted-'))
      const p = startTilekiln(['run', '--group-by', GB, '--source', `kafka:${BROKERS!}/${topic}`, '--schema', schema, '--store', `embedded:${join(dir, 'store')}`,
        '--group-id', `g-${uid()}`, '--progress', '200', '--kafka-library', library, '--kafka-group-protocol', groupProtocol,
        '--dead-letter', join(dir, 'dlq.jsonl')], {}, 90_000)
      let stderr = ''
      p.child.stderr!.on('data', d => { stderr += String(d) })
      // Wait until it consumed everything (the live line shows all 20,000 events), then delete the topic under it.
      const deadline = Date.now() + 60_000
      while (!/events 20,000/.test(stderr) && Date.now() < deadline) await sleep(100)
      assert.match(stderr, /events 20,000/, 'the daemon consumed the topic')
      await admin.deleteTopic(topic)
      const deletedAt = Date.now()
      const r = await p.done
      const took = Date.now() - deletedAt
      assert.equal(r.code, 1, r.stderr.slice(-3000))
      assert.match(r.stderr, /topic .* no longer exists/)
      assert.match(r.stderr, /TK_SOURCE/)
      assert.ok(took < 20_000, `stopped ${took} ms after the deletion`)
      process.stderr.write(`  ${library} / ${groupProtocol}: stopped ${took} ms after the topic was deleted\n`)
    })
  }
})
