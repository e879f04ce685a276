// Turning the CLI's source and store specifications into objects.

import { getLogger } from '../log/logger.ts'
import { readFileSync } from 'node:fs'
import type { Plan } from '../config/plan.ts'
import { TilekilnError } from '../errors.ts'
import { EmbeddedStore } from '../sink/embedded-store.ts'
import { parseRedisClusterSpec, parseRedisSpec, RedisStore } from '../sink/redis-store.ts'
import type { TileStore } from '../sink/store.ts'
import { openFileSource } from '../source/file.ts'
import { asStruct, fromAvroSchema } from '../codec/input-schema.ts'
import type { InputFormat } from '../codec/record.ts'
import { openGeneratorSource, parseGeneratorOptions } from '../source/generator.ts'
import { openKafkaSource } from '../source/kafka.ts'
import { GROUP_PROTOCOLS, type GroupProtocol, type KafkaClientOptions, type KafkaLibrary, type KafkaSaslOptions } from '../kafka/types.ts'
import type { Source } from '../source/source.ts'
import { parseTopicInfo } from '../source/topic-info.ts'
import { loadRegistrySchemas, SchemaRegistryClient, valueSubject, type WriterSchemas } from '../source/schema-registry.ts'

export interface SourceSpecOptions {
  readonly schema?: string
  readonly format?: 'json' | 'csv' | 'avro'
  readonly fileWatermarks?: 'end' | 'event'
  readonly kafka?: KafkaSpecOptions
}

export interface KafkaSpecOptions {
  readonly groupId?: string
  readonly library: KafkaLibrary
  readonly startFrom: 'earliest' | 'latest'
  readonly framing: 'raw' | 'confluent'
  readonly untilEnd: boolean
  readonly ssl: boolean
  readonly saslMechanism?: KafkaSaslOptions['mechanism']
  readonly saslUsername?: string
  readonly saslPassword?: string
  readonly sessionTimeoutMs: number
  /** Most bytes per fetch (default kafka/shared.ts DEFAULT_FETCH_MAX_BYTES). */
  readonly fetchMaxBytes?: number
  readonly groupProtocol?: GroupProtocol
  readonly instanceId?: string
  /** Confluent-compatible schema registry base URL: records carry their writer schema id (implies confluent framing). */
  readonly schemaRegistry?: string
  /** The subject whose versions are the records' schemas (default `<topic>-value`). */
  readonly schemaSubject?: string
  /** The topic is tilekiln's repartitioned topic (records carry their origin in headers). */
  readonly repartitioned?: boolean
}

/** `kafka:HOST:PORT[,HOST:PORT…][/TOPIC]`; the topic defaults to the GroupBy's streaming source topic. */
export function parseKafkaSpec (spec: string, plan: Plan): { brokers: string[], topic: string } {
  const body = spec.slice('kafka:'.length)
  const slash = body.indexOf('/')
  const brokers = (slash < 0 ? body : body.slice(0, slash)).split(',').map(b => b.trim()).filter(b => b.length > 0)
  let topic = slash < 0 ? '' : body.slice(slash + 1)
  if (topic === '') {
    if (plan.source.topic === null) throw new TilekilnError('TK_USAGE', `the GroupBy has no topic: give one as kafka:HOST:PORT/TOPIC`)
    topic = parseTopicInfo(plan.source.topic).name
  }
  if (brokers.length === 0) throw new TilekilnError('TK_USAGE', `no broker in '${spec}': use kafka:HOST:PORT/TOPIC`)
  return { brokers, topic }
}

/** Client options (library, TLS, SASL) of a Kafka spec. */
export function kafkaClientOptions (brokers: readonly string[], k: KafkaSpecOptions, clientId: string): KafkaClientOptions {
  if (k.library !== 'kafkajs' && k.library !== 'platformatic') throw new TilekilnError('TK_USAGE', '--kafka-library must be kafkajs or platformatic')
  return {
    library: k.library,
    brokers,
    clientId,
    ssl: k.ssl,
    ...(k.saslMechanism === undefined ? {} : { sasl: { mechanism: k.saslMechanism, username: k.saslUsername ?? '', password: k.saslPassword ?? '' } })
  }
}

export function readJsonFile (path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new TilekilnError('TK_USAGE', `cannot read ${what} ${path}: ${(e as Error).message}`)
  }
}

export async function openSource (spec: string, plan: Plan, o: SourceSpecOptions): Promise<Source> {
  const schema = o.schema === undefined ? undefined : readJsonFile(o.schema, 'the schema file')
  if (spec.startsWith('file:')) {
    const format = o.format
    if (format !== undefined && !['json', 'csv', 'avro'].includes(format)) throw new TilekilnError('TK_USAGE', '--format must be json, csv or avro')
    const wm = o.fileWatermarks
    if (wm !== undefined && wm !== 'end' && wm !== 'event') throw new TilekilnError('TK_USAGE', '--file-watermarks must be end or event')
    return openFileSource({ path: spec.slice(5), format, schema, watermarks: wm })
  }
  if (spec === 'generator' || spec.startsWith('generator:')) {
    return openGeneratorSource(plan, parseGeneratorOptions(spec.slice('generator:'.length)), schema)
  }
  if (spec.startsWith('kafka:')) {
    const k = o.kafka
    if (k === undefined) throw new TilekilnError('TK_INTERNAL', 'kafka options missing')
    const { brokers, topic } = parseKafkaSpec(spec, plan)
    const fmt = o.format ?? 'avro'
    if (fmt !== 'avro' && fmt !== 'json') throw new TilekilnError('TK_USAGE', '--format for Kafka must be avro or json')
    if (k.framing !== 'raw' && k.framing !== 'confluent') throw new TilekilnError('TK_USAGE', '--framing must be raw or confluent')
    let readerSchema = schema
    let writers: WriterSchemas | undefined
    if (k.schemaRegistry !== undefined) {
      if (fmt !== 'avro') throw new TilekilnError('TK_USAGE', '--schema-registry is for Avro records: drop --format json')
      if (k.framing !== 'confluent') throw new TilekilnError('TK_USAGE', '--schema-registry reads the Confluent wire format: drop --framing raw')
      const client = new SchemaRegistryClient(k.schemaRegistry)
      const subject = k.schemaSubject ?? valueSubject(topic)
      const r = await loadRegistrySchemas(client, subject, schema === undefined ? undefined : { schema, name: `--schema ${o.schema!}` })
      readerSchema = r.reader
      writers = r.writers
      getLogger().info({ registry: client.url, subject }, `schema registry ${client.url}: reader schema ${r.readerName}; writer schema id(s) ${writers.known.join(', ') || 'none yet'} of subject ${subject}, others fetched when first seen`)
    }
    if (readerSchema === undefined) throw new TilekilnError('TK_USAGE', 'a Kafka source needs the records\' Avro schema: --schema FILE or --schema-registry URL (for JSON records too: it types the fields)')
    let struct
    try {
      struct = asStruct(fromAvroSchema(readerSchema), '--schema')
    } catch (e) {
      throw new TilekilnError('TK_USAGE', `the records' schema (${writers === undefined ? '--schema' : 'from the schema registry'}) cannot be used: ${(e as Error).message}`)
    }
    const format: InputFormat = fmt === 'avro'
      ? { kind: 'avro', schema: struct, avroSchema: readerSchema, framing: k.framing, ...(writers === undefined ? {} : { writerSchemas: writers.board.buffer }) }
      : { kind: 'json', schema: struct }
    if (k.startFrom !== 'earliest' && k.startFrom !== 'latest') throw new TilekilnError('TK_USAGE', '--start-from must be earliest or latest')
    const groupProtocol = k.groupProtocol ?? 'classic'
    if (!GROUP_PROTOCOLS.includes(groupProtocol)) throw new TilekilnError('TK_USAGE', `--kafka-group-protocol must be ${GROUP_PROTOCOLS.join(' or ')}`)
    if (k.instanceId !== undefined && !/^\S+$/.test(k.instanceId)) throw new TilekilnError('TK_USAGE', '--instance-id must be a non-empty string without spaces')
    const client = kafkaClientOptions(brokers, k, `tilekiln-${plan.cleanName}`)
    return openKafkaSource({
      client,
      topic,
      groupId: k.groupId ?? `tilekiln-${plan.cleanName}`,
      format,
      untilEnd: k.untilEnd,
      startFrom: k.startFrom,
      sessionTimeoutMs: k.sessionTimeoutMs,
      ...(k.repartitioned === true ? { repartitioned: true } : {}),
      groupProtocol,
      ...(k.instanceId === undefined ? {} : { instanceId: k.instanceId }),
      ...(k.fetchMaxBytes === undefined ? {} : { fetchMaxBytes: k.fetchMaxBytes }),
      ...(writers === undefined ? {} : { gate: writers })
    })
  }
  throw new TilekilnError('TK_USAGE', `unknown source '${spec}': use file:PATH, generator[:opts] or kafka:HOST:PORT/TOPIC`)
}

/**
 * `embedded:DIR`, or `redis://[USER:PASSWORD@]HOST[:PORT][/DB][?prefix=P&ttl=T&wait=N&timeout=D]` (`rediss://` for TLS):
 * key prefix (default `chronon`, Zipline's; empty = none), TTL of tiles (seconds or N{s,m,h,d}; default 5d; 0 =
 * none), replicas to WAIT for when flushing (default 0); or `redis+cluster://HOST:PORT,HOST:PORT…[?…]` (a Redis
 * Cluster discovered from those nodes, same options; `rediss+cluster://` for TLS).
 */
/** `sync` is the embedded store's flush mode (EmbeddedStore); Redis stores ignore it. */
export function openStore (spec: string, options: { readOnly?: boolean, sync?: 'commit' | 'checkpoint' } = {}): TileStore {
  const rest = options.readOnly === undefined ? {} : { readOnly: options.readOnly }
  if (spec.startsWith('embedded:')) return new EmbeddedStore(spec.slice('embedded:'.length), options)
  if (spec.startsWith('redis://') || spec.startsWith('rediss://')) return new RedisStore({ ...parseRedisSpec(spec), ...rest })
  if (spec.startsWith('redis+cluster://') || spec.startsWith('rediss+cluster://')) return new RedisStore({ ...parseRedisClusterSpec(spec), ...rest })
  throw new TilekilnError('TK_USAGE', `unknown store '${spec}': use embedded:DIR, redis://HOST:PORT[/DB][?prefix=…&ttl=…] or redis+cluster://HOST:PORT,HOST:PORT…[?prefix=…&ttl=…]`)
}
