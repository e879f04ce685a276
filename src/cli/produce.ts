// `tilekiln produce`: a load generator that writes GroupBy-shaped events to a Kafka topic, keyed by the entity key
// (Avro key record), like a producer of a keyed event stream would — Kafka's own perf-test tool, for features.
// Event times span `--span` back from now on a steady clock, with bounded disorder; a fraction of records can be
// malformed on purpose (random bytes) to exercise dead letters. With a schema registry the schema is registered
// (under `<topic>-value` unless told otherwise) and every Avro record is in the Confluent wire format: magic byte 0,
// the 4-byte big-endian schema id, the Avro datum.

import { writeFileSync } from 'node:fs'
import { avroSchemaOf, compileEncoder } from '../codec/avro.ts'
import { ByteWriter } from '../codec/bytes.ts'
import { KeyCodec } from '../codec/key.ts'
import type { Plan } from '../config/plan.ts'
import { TilekilnError } from '../errors.ts'
import { createKafkaClient } from '../kafka/client.ts'
import type { KafkaLibrary, ProducerRecord } from '../kafka/types.ts'
import { SchemaRegistryClient, valueSubject } from '../source/schema-registry.ts'
import { DEFAULT_GENERATOR, generateEvents, type GeneratorOptions, generatorSchema, Random } from '../source/generator.ts'

export interface ProduceOptions {
  readonly brokers: string
  readonly topic: string
  readonly plan: Plan
  readonly count: number
  readonly seed: number
  readonly partitions: number
  readonly format: 'avro' | 'json'
  readonly malformedFraction: number
  readonly keys: number
  readonly zipf: number
  readonly spanMillis: number
  readonly disorderMillis: number
  readonly lateFraction: number
  readonly schema?: unknown
  readonly schemaOut?: string
  /** Register the schema here and write Confluent-framed records (Avro only). */
  readonly schemaRegistry?: string
  /** Subject to register under (default `<topic>-value`). */
  readonly schemaSubject?: string
  readonly library: KafkaLibrary
  readonly batch: number
  readonly keyType: 'long' | 'string'
  readonly now?: number
  /** false: records go to partitions round-robin instead of by entity key (a topic that needs --repartition). */
  readonly keyed?: boolean
  /** Records per second at most (0 or absent: as fast as the broker takes them). */
  readonly rate?: number
}

export interface ProduceSummary {
  records: number
  malformed: number
  seconds: number
  recordsPerSecond: number
  firstTs: number
  lastTs: number
  /** The registered schema's id (with a schema registry). */
  schemaId?: number
}

/** The Confluent wire-format header: magic byte 0 and the schema id, big-endian. */
export function confluentHeader (schemaId: number): Buffer {
  const h = Buffer.alloc(5)
  h.writeUInt32BE(schemaId >>> 0, 1)
  return h
}

/** The generator options `produce` runs with (tests regenerate the same events from them). */
export function produceGeneratorOptions (o: ProduceOptions, now: number): GeneratorOptions {
  return {
    ...DEFAULT_GENERATOR,
    keys: o.keys, zipf: o.zipf, count: o.count, seed: o.seed, start: now - o.spanMillis, step: o.count > 0 ? o.spanMillis / o.count : 1,
    disorder: o.disorderMillis, late: o.lateFraction, partitions: o.partitions, format: o.format, keyType: o.keyType
  }
}

export async function produce (o: ProduceOptions): Promise<ProduceSummary> {
  const now = o.now ?? Date.now()
  const gen = produceGeneratorOptions(o, now)
  const { schema, roles } = generatorSchema(o.plan, gen, o.schema)
  const avroSchema = avroSchemaOf(schema)
  if (o.schemaOut !== undefined) writeFileSync(o.schemaOut, JSON.stringify(avroSchema, null, 2) + '\n')
  let header: Buffer | null = null
  let schemaId: number | undefined
  if (o.schemaRegistry !== undefined) {
    if (o.format !== 'avro') throw new TilekilnError('TK_USAGE', '--schema-registry is for Avro records: drop --format json')
    // Registered first, as a Confluent serializer does: no record ever carries an id the registry does not know.
    const subject = o.schemaSubject ?? valueSubject(o.topic)
    schemaId = await new SchemaRegistryClient(o.schemaRegistry).register(subject, avroSchema)
    header = confluentHeader(schemaId)
  }
  const encode = compileEncoder(schema)
  const keyCodec = new KeyCodec(roles.keyFields.map(f => ({ name: f, type: schema.fields.find(x => x.name === f)!.type })))
  const names = schema.fields.map(f => f.name)
  const bad = new Random(o.seed ^ 0x5bd1e995)

  const client = await createKafkaClient({ library: o.library, brokers: o.brokers, clientId: 'tilekiln-produce' })
  const admin = await client.admin()
  try {
    await admin.createTopic(o.topic, { partitions: o.partitions })
    const have = await admin.partitionCount(o.topic)
    if (have !== o.partitions) throw new TilekilnError('TK_USAGE', `topic ${o.topic} exists with ${have} partition(s), not ${o.partitions}`, { topic: o.topic })
  } finally {
    await admin.close()
  }
  const producer = client.producer({ acks: 'all', idempotent: true })
  await producer.connect()
  const started = Date.now()
  let batch: ProducerRecord[] = []
  let malformed = 0
  let records = 0
  let firstTs = Infinity
  let lastTs = -Infinity
  const w = new ByteWriter(256)
  try {
    for (const ev of generateEvents(o.plan, gen, schema, roles)) {
      let value: Buffer
      if (o.malformedFraction > 0 && bad.next() < o.malformedFraction) {
        malformed++
        value = Buffer.from(Array.from({ length: 1 + bad.int(24) }, () => bad.int(256)))
        if (o.format === 'json') value = Buffer.from(`{"broken": ${value.toString('hex')}`)
      } else if (o.format === 'json') {
        const obj: Record<string, unknown> = {}
        names.forEach((n, i) => { obj[n] = ev.values[i] })
        value = Buffer.from(JSON.stringify(obj))
      } else {
        w.reset()
        encode(w, ev.values)
        value = header === null ? Buffer.from(w.copy()) : Buffer.concat([header, w.copy()])
      }
      if (ev.ts < firstTs) firstTs = ev.ts
      if (ev.ts > lastTs) lastTs = ev.ts
      // Keyed by entity (every event of a key in one partition), or spread round-robin (a topic not keyed by it).
      const partition = o.keyed === false ? ev.seq % o.partitions : ev.partition
      batch.push({ key: Buffer.from(keyCodec.encode(ev.keyValues)), value, partition })
      records++
      if (batch.length >= o.batch) {
        await producer.send(o.topic, batch)
        batch = []
        if (o.rate !== undefined && o.rate > 0) {
          const ahead = records / o.rate * 1000 - (Date.now() - started)
          if (ahead > 0) await new Promise(resolve => setTimeout(resolve, ahead))
        }
      }
    }
    if (batch.length > 0) await producer.send(o.topic, batch)
  } finally {
    await producer.close()
  }
  const seconds = (Date.now() - started) / 1000
  return { records, malformed, seconds, recordsPerSecond: records / Math.max(seconds, 1e-3), firstTs, lastTs, ...(schemaId === undefined ? {} : { schemaId }) }
}
