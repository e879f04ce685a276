// What the Kafka source tests share (test/integration/kafka-engine.test.ts, kafka-broker-restart.test.ts): Chronon's
// quickstart returns.v1 GroupBy, the topic they produce for it, the daemon's arguments, and reading a topic back.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { produce, type ProduceOptions } from '../../src/cli/produce.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { createKafkaClient } from '../../src/kafka/client.ts'
import type { KafkaRecord, ProducerRecord } from '../../src/kafka/types.ts'
import { waitFor } from '../services/process.ts'
export { waitFor }
import { tilekiln } from './cli.ts'
import { groupByPath } from './reference.ts'
import { dumpLines } from './store-dump.ts'

/** The shared broker the test runner started (undefined outside `npm test`). */
export const BROKERS = process.env.TILEKILN_TEST_KAFKA
export const skipWithoutKafka = BROKERS === undefined ? 'needs a Kafka broker: run through `npm test`' : false
export const GB = groupByPath('airbnb-chronon/api/py/test/sample/production/group_bys/quickstart/returns.v1')
export const plan = compilePlan(JSON.parse(readFileSync(GB, 'utf8')))
export const NOW = Date.UTC(2026, 10, 1)

/** `count` returns.v1 events (seed 7, 2,000 keys, 30 days, a minute of disorder) on a 4-partition topic. */
export function produceOptions (topic: string, count: number, schemaFile: string, malformed = 0): ProduceOptions {
  return {
    brokers: BROKERS!, topic, plan, count, seed: 7, partitions: 4, format: 'avro', malformedFraction: malformed, keys: 2000, zipf: 0.8,
    spanMillis: 30 * 86_400_000, disorderMillis: 60_000, lateFraction: 0, schemaOut: schemaFile, library: 'kafkajs', batch: 5000,
    keyType: 'long', now: NOW
  }
}

/**
 * `tilekiln run` on `topic` until its end into an embedded store in `dir`. `incarnation` picks the consumer group: a
 * restart in the same group waits for the crashed member's session to expire (10 s) before it gets its partitions,
 * so crash loops use a fresh group per restart. Recovery does not depend on the group: partitions seek to the
 * checkpoint's positions.
 */
export function runArgs (topic: string, dir: string, schemaFile: string, workers: number, extra: string[] = [], incarnation = 0): string[] {
  return ['run', '--group-by', GB, '--source', `kafka:${BROKERS}/${topic}`, '--schema', schemaFile, '--store', `embedded:${join(dir, 'store')}`,
    '--group-id', `g-${topic}-${dir.split('-').pop()}-${incarnation}`, '--workers', String(workers), '--until-end',
    '--progress', '0', '--json', ...extra]
}

/**
 * Produces `count` events to `topic` and runs the daemon over them once, uninterrupted (2 workers, a fresh store under
 * `work`): the store's dump, the reference the crash and outage tests compare their interrupted runs with
 * (kafka-engine.test.ts checks such a run against the oracle).
 */
export async function referenceRun (topic: string, work: string, schemaFile: string, count = 200_000): Promise<string[]> {
  await produce(produceOptions(topic, count, schemaFile))
  const dir = mkdtempSync(join(work, 'ref-'))
  const r = await tilekiln(runArgs(topic, dir, schemaFile, 2))
  assert.equal(r.code, 0, r.stderr)
  assert.equal(JSON.parse(r.stdout).records, count)
  return await dumpLines(join(dir, 'store'))
}

/** A topic's records (key, value, partition), each partition cut in two halves, in order. */
export async function readHalves (brokers: string, topic: string): Promise<[ProducerRecord[], ProducerRecord[]]> {
  const client = await createKafkaClient({ brokers, library: 'kafkajs' })
  const admin = await client.admin()
  const ends = await admin.endOffsets(topic)
  await admin.close()
  const got = new Map<number, KafkaRecord[]>()
  const total = [...ends.values()].reduce((a, b) => a + b, 0)
  let n = 0
  const consumer = client.consumer({ topic, groupId: `copy-${topic}`, onBatch: b => { const l = got.get(b.partition) ?? []; l.push(...b.records); got.set(b.partition, l); n += b.records.length } })
  await consumer.start()
  try { await waitFor(() => n >= total, 120_000, () => `${total} records of ${topic} (have ${n})`) } finally { await consumer.stop() }
  const first: ProducerRecord[] = []
  const second: ProducerRecord[] = []
  for (const [partition, recs] of got) {
    recs.forEach((r, i) => (i < recs.length / 2 ? first : second).push({ partition, key: r.key, value: r.value }))
  }
  return [first, second]
}
