// The daemon against a real schema registry (Apicurio Registry's Confluent-compatible API, started here: only these
// tests need it) and the test run's Kafka broker. A topic holds records written with three schema versions — v1,
// a compatible v2 (a field added in the middle, with a default) registered later under the same subject, and v3
// (one more field) under another subject so that the daemon first meets its id mid-stream — plus records whose id
// the registry does not have and records whose writer schema the reader cannot read. Every good record must be
// aggregated with the right values (fetch compared with the oracle, v1 records getting v2's default), the others
// dead-lettered with the reason and the id.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import avro from 'avsc'
import { T } from '../../src/api/data-type.ts'
import { confluentHeader, produce, produceGeneratorOptions, type ProduceOptions } from '../../src/cli/produce.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { fetchFeatures, loadReadSide } from '../../src/fetch/tiled-read.ts'
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'
import { createKafkaClient } from '../../src/kafka/client.ts'
import type { ProducerRecord } from '../../src/kafka/types.ts'
import { generateEvents, generatorSchema } from '../../src/source/generator.ts'
import { SchemaRegistryClient } from '../../src/source/schema-registry.ts'
import { tilekiln } from '../helpers/cli.ts'
import { naiveColumns } from '../helpers/engine.ts'
import { groupByPath } from '../helpers/reference.ts'
import { naiveFeatures, type NaiveEvent } from '../reference/naive.ts'
import { matchesNaive } from '../reference/naive-ops.ts'
import { startSchemaRegistry, type SchemaRegistryService } from '../services/schema-registry.ts'

const BROKERS = process.env.TILEKILN_TEST_KAFKA
const skip = BROKERS === undefined ? 'needs a Kafka broker: run through `npm test` (or node scripts/test.mjs schema-registry)' : false

const DAY = 86_400_000
const NOW = Date.UTC(2026, 10, 1)
const work = mkdtempSync(join(tmpdir(), 'tilekiln-registry-test-'))

// The quickstart returns GroupBy, aggregating a value that only v2 records carry: v1 records read `bonus` as v2's
// default (null), so they count 0.5; reading them any other way changes every sum.
const base = JSON.parse(readFileSync(groupByPath('airbnb-chronon/api/py/test/sample/production/group_bys/quickstart/returns.v1'), 'utf8'))
const GB = join(work, 'returns_sr.v1.json')
base.metaData.name = 'quickstart.returns_sr.v1'
base.sources[0].events.query.selects = { user_id: 'user_id', refund_amt: 'refund_amt + COALESCE(bonus, 0.5)' }
writeFileSync(GB, JSON.stringify(base))
const plan = compilePlan(base)

const field = (name: string, type: unknown): unknown => ({ name, type })
const record = (...fields: unknown[]): unknown => ({ type: 'record', name: 'ReturnEvent', fields })
const V1 = record(field('user_id', 'long'), field('ts', 'long'), field('refund_amt', 'double'))
const V2 = record(field('user_id', 'long'), field('bonus', 'double'), field('ts', 'long'), field('refund_amt', 'double'))
const V3 = record(field('user_id', 'long'), field('bonus', 'double'), field('ts', 'long'), field('refund_amt', 'double'), field('channel', 'string'))
// What produce registers: every field ["null", T] with default null (Chronon's convention).
const nullable = (s: any): any => ({ ...s, namespace: 'ai.chronon.data', fields: s.fields.map((f: any) => ({ name: f.name, type: ['null', f.type], default: null })) })
// refund_amt as a string: a double reader cannot read it.
const INCOMPATIBLE = nullable(record(field('user_id', 'long'), field('ts', 'long'), field('refund_amt', 'string')))

const N = 4000
const KEYS = 500

interface Batch { readonly options: ProduceOptions, readonly schema: unknown, id: number }

describe('schema registry (Apicurio, Confluent API)', { skip }, () => {
  let registry: SchemaRegistryService | undefined
  let client: SchemaRegistryClient
  const topic = `sr-returns-${process.pid}`
  const subject = `${topic}-value`
  const batches: Batch[] = []
  const badIds = { unknown: 999_999, incompatible: -1 }
  const BAD_EACH = 50

  before(async () => {
    registry = await startSchemaRegistry()
    client = new SchemaRegistryClient(registry.url)
    // BACKWARD everywhere: the registry itself refuses a v2 that v2 readers could not read v1 with.
    const put = await fetch(`${registry.url}/config`, { method: 'PUT', headers: { 'Content-Type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify({ compatibility: 'BACKWARD' }) })
    assert.equal(put.status, 200, await put.text())

    const options = (schema: unknown, seed: number, now: number, extra: Partial<ProduceOptions> = {}): ProduceOptions => ({
      brokers: BROKERS!, topic, plan, count: N, seed, partitions: 4, format: 'avro', malformedFraction: 0, keys: KEYS, zipf: 0.5,
      // Consecutive, non-overlapping 10-day spans: each batch's events come after the previous batch's in every
      // partition, so none is late.
      spanMillis: 10 * DAY, disorderMillis: 60_000, lateFraction: 0, library: 'kafkajs', batch: 2000, keyType: 'long', now,
      schema, schemaRegistry: registry!.url, ...extra
    })
    for (const [schema, seed, now, extra] of [
      [V1, 1, NOW - 20 * DAY, {}],
      [V2, 2, NOW - 10 * DAY, {}],
      [V3, 3, NOW, { schemaSubject: `${topic}.audit-value` }]
    ] as const) {
      const o = options(schema, seed, now, extra)
      const r = await produce(o)
      assert.equal(r.records, N)
      assert.ok(r.schemaId !== undefined)
      batches.push({ options: o, schema, id: r.schemaId })
    }
    assert.equal(new Set(batches.map(b => b.id)).size, 3, 'three schema ids')
    assert.deepEqual(await client.versions(subject), [1, 2])

    // Records the daemon cannot read: an id nobody registered, and a schema registered (under another subject, so
    // no compatibility rule stops it) that the reader schema cannot read.
    badIds.incompatible = await client.register(`${topic}.legacy-value`, INCOMPATIBLE)
    const v2 = avro.Type.forSchema(nullable(V2))
    const bad = avro.Type.forSchema(INCOMPATIBLE)
    const recs: ProducerRecord[] = []
    for (let i = 0; i < BAD_EACH; i++) {
      recs.push({ key: null, value: Buffer.concat([confluentHeader(badIds.unknown), v2.toBuffer({ user_id: 1, bonus: 1, ts: NOW - DAY, refund_amt: 1 })]), partition: i % 4 })
      recs.push({ key: null, value: Buffer.concat([confluentHeader(badIds.incompatible), bad.toBuffer({ user_id: 2, ts: NOW - DAY, refund_amt: 'x' })]), partition: i % 4 })
    }
    const kafka = await createKafkaClient({ brokers: BROKERS!, library: 'kafkajs' })
    const producer = kafka.producer({ acks: 'all', idempotent: true })
    await producer.connect()
    try { await producer.send(topic, recs) } finally { await producer.close() }
  })

  after(async () => {
    await registry?.stop()
    rmSync(work, { recursive: true, force: true })
  })

  test('v1, v2 and v3 records are all aggregated with their values; unknown and incompatible ids are dead-lettered with the reason', async () => {
    const dir = mkdtempSync(join(work, 'run-'))
    const dlq = join(dir, 'dead-letters.jsonl')
    const r = await tilekiln(['run', '--group-by', GB, '--source', `kafka:${BROKERS}/${topic}`, '--schema-registry', registry!.url,
      '--store', `embedded:${join(dir, 'store')}`, '--group-id', `g-${topic}`,
      '--dead-letter', dlq, '--workers', '2', '--until-end', '--progress', '0', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const [v1, v2, v3] = batches.map(b => b.id)
    // The subject's versions are known from the start; v3's id is fetched when its first record comes.
    assert.match(r.stderr, new RegExp(`reader schema subject ${subject} version 2, id ${v2}; writer schema id\\(s\\) ${v1}, ${v2} of subject ${subject}`))
    assert.match(r.stderr, new RegExp(`writer schema id ${v3} fetched from the schema registry .* \\(first seen at topic ${topic} partition \\d offset \\d+\\)`))
    const summary = JSON.parse(r.stdout)
    assert.equal(summary.metrics.rows_aggregated, 3 * N)
    assert.equal(summary.deadLetters, 2 * BAD_EACH)

    const letters = readFileSync(dlq, 'utf8').trim().split('\n').map(l => JSON.parse(l) as { reason: string, offset: number, partition: number })
    assert.equal(letters.length, 2 * BAD_EACH)
    const unknown = letters.filter(l => l.reason.startsWith(`writer schema id ${badIds.unknown} is unknown to the schema registry ${registry!.url}: 404`))
    const incompatible = letters.filter(l => l.reason.startsWith(`writer schema id ${badIds.incompatible} is incompatible with the reader schema (subject ${subject} version 2, id ${v2}): `))
    assert.equal(unknown.length, BAD_EACH, letters[0]!.reason)
    assert.equal(incompatible.length, BAD_EACH, letters.find(l => !l.reason.includes(String(badIds.unknown)))?.reason)
    assert.ok(letters.every(l => Number.isInteger(l.offset) && l.partition >= 0 && l.partition < 4))

    // The oracle: every generated event, v1 ones with bonus = null (v2's default).
    const byKey = new Map<number, NaiveEvent[]>()
    for (const b of batches) {
      const gen = produceGeneratorOptions(b.options, b.options.now!)
      const { schema, roles } = generatorSchema(plan, gen, b.schema)
      const idx = (name: string): number => schema.fields.findIndex(f => f.name === name)
      const [amt, bonus] = [idx('refund_amt'), idx('bonus')]
      for (const ev of generateEvents(plan, gen, schema, roles)) {
        const k = ev.keyValues[0] as number
        const refund = (ev.values[amt] as number) + (bonus < 0 ? 0.5 : ev.values[bonus] as number)
        byKey.set(k, [...(byKey.get(k) ?? []), { ts: ev.ts, row: { user_id: k, refund_amt: refund } }])
      }
    }
    const store = new EmbeddedStore(join(dir, 'store'), { readOnly: true })
    try {
      const read = await loadReadSide(plan, store)
      const columns = naiveColumns(plan, T.struct('Row', [{ name: 'user_id', type: T.long }, { name: 'refund_amt', type: T.double }]) as never)
      let compared = 0
      for (const [key, events] of byKey) {
        // 30 days back covers all three batches; 12 days back sees v1 records leave the 3-day and 14-day windows.
        for (const q of [NOW + 3_600_000, NOW - 12 * DAY + 12_345, NOW - 16 * DAY]) {
          const { features } = await fetchFeatures(read, store, [key], q, { headTile: 'start' }) // the oracle's tiled mode is the start rule
          const expected = naiveFeatures(events, columns, q, plan.tileSizeMillis)
          for (const c of columns) {
            assert.ok(matchesNaive(features[c.name], expected[c.name]), `key ${key} at ${q}: ${c.name} = ${JSON.stringify(features[c.name])}, oracle ${JSON.stringify(expected[c.name])}`)
            compared++
          }
        }
      }
      assert.ok(compared >= KEYS * 0.9 * 3 * columns.length, `compared ${compared}`)
    } finally {
      await store.close()
    }
  })

  test('tilekiln produce --schema-registry registers the schema and frames the records; run reads them back', async () => {
    const t = `sr-cli-${process.pid}`
    const dir = mkdtempSync(join(work, 'cli-'))
    const p = await tilekiln(['produce', '--brokers', BROKERS!, '--topic', t, '--group-by', GB, '--schema', writeJson(join(dir, 'v2.avsc'), V2),
      '--count', '500', '--partitions', '2', '--schema-registry', registry!.url])
    assert.equal(p.code, 0, p.stderr)
    const produced = JSON.parse(p.stdout) as { records: number, schemaId: number }
    assert.equal(produced.records, 500)
    const latest = await client.latest(`${t}-value`)
    assert.equal(latest.id, produced.schemaId)
    assert.match(p.stderr, new RegExp(`with schema id ${produced.schemaId} to ${t}`))
    const r = await tilekiln(['run', '--group-by', GB, '--source', `kafka:${BROKERS}/${t}`, '--schema-registry', registry!.url,
      '--store', `embedded:${join(dir, 'store')}`, '--dead-letter', join(dir, 'dlq.jsonl'),
      '--until-end', '--progress', '0', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const summary = JSON.parse(r.stdout)
    assert.equal(summary.metrics.rows_aggregated, 500)
    assert.equal(summary.deadLetters, 0)
    // --framing raw contradicts a registry; a subject the registry does not have, without --schema, is a usage error.
    const raw = await tilekiln(['run', '--group-by', GB, '--source', `kafka:${BROKERS}/${t}`, '--schema-registry', registry!.url, '--framing', 'raw', '--until-end'])
    assert.equal(raw.code, 2, raw.stderr)
    assert.match(raw.stderr, /drop --framing raw/)
    const missing = await tilekiln(['run', '--group-by', GB, '--source', `kafka:${BROKERS}/${t}`, '--schema-registry', registry!.url, '--schema-subject', 'nobody-value', '--until-end'])
    assert.equal(missing.code, 2, missing.stderr)
    assert.match(missing.stderr, /subject 'nobody-value' is not in the schema registry/)
  })
})

function writeJson (path: string, v: unknown): string {
  writeFileSync(path, JSON.stringify(v))
  return path
}
