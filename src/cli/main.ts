// The `tilekiln` command: run | produce | fetch | serve | dump | help.

import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { basename } from 'node:path'
import { compilePlan, type Plan } from '../config/plan.ts'
import { type DeadLetterSink, FileDeadLetters } from '../engine/dead-letter.ts'
import { KafkaDeadLetters } from '../engine/dead-letter-kafka.ts'
import { createKafkaClient } from '../kafka/client.ts'
import { DEFAULT_FETCH_MAX_BYTES } from '../kafka/shared.ts'
import type { KafkaAdmin } from '../kafka/types.ts'
import { produce } from './produce.ts'
import { DEFAULT_LINGER_MILLIS, Engine } from '../engine/engine.ts'
import { DEFAULT_RING } from '../route/ring.ts'
import { DEFAULT_BATCH_RECORDS, DEFAULT_MAX_BATCH_RECORDS } from '../engine/batch-sizer.ts'
import { describeError, isTilekilnError, TilekilnError } from '../errors.ts'
import { featureServer, listen, type Served } from '../fetch/http.ts'
import type { ReadSide } from '../config/bind.ts'
import { FetchStats } from '../fetch/status-page.ts'
import { fetchFeatures, loadReadSide } from '../fetch/tiled-read.ts'
import { configureLogging, getLogger, LOG_LEVELS, type LogLevel, terminalLogs } from '../log/logger.ts'
import { LiveStats } from '../engine/live-stats.ts'
import { LiveScreen, statusLine } from './live-view.ts'
import { M, Metrics } from '../metrics/metrics.ts'
import { checkpointScope, storeCheckpoints } from '../checkpoint/storage.ts'
import { queryCompiler } from '../expr/index.ts'
import { createRecordProbe } from '../route/record-probe.ts'
import { repartitionTopic, Shuffle } from '../source/repartition.ts'
import { MAX_WORKERS } from '../route/ownership.ts'
import { didYouMean, helpText, type OptionSpec, type Options, parseNumberWithUnit, parseOptions } from './options.ts'
import { parseInstant } from './instant.ts'
import { parseRollups, resolveRollups } from '../window/rollup-sizes.ts'
import { dumpStore } from './dump.ts'
import { kafkaClientOptions, type KafkaSpecOptions, openSource, openStore, parseKafkaSpec, readJsonFile } from './specs.ts'

/** `--workers` bound: cores × 4 (more threads than that only contend), and no more than the engine's key routing takes. */
const MAX_CLI_WORKERS = Math.min(MAX_WORKERS, availableParallelism() * 4)
/** How often a stop that takes long says what it waits for (TILEKILN_STOP_REPORT_MILLIS overrides, for tests). */
const STOP_REPORT_MILLIS = Number(process.env.TILEKILN_STOP_REPORT_MILLIS ?? 15_000)
/** Longest wait for each close after a run (the store's client, the dead-letter output, the shuffle stage). */
const CLOSE_MILLIS = Number(process.env.TILEKILN_CLOSE_MILLIS ?? 10_000)

/**
 * Waits for `closing` at most CLOSE_MILLIS (its failure is rethrown): a close that never settles (a client waiting on
 * a node that went away) must not keep a stopped daemon running. Resolves false when it was still going.
 */
async function closeWithin (closing: Promise<unknown> | undefined): Promise<boolean> {
  if (closing === undefined) return true
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>(resolve => { timer = setTimeout(() => resolve(false), CLOSE_MILLIS) })
  try {
    return await Promise.race([closing.then(() => true), late])
  } finally {
    clearTimeout(timer)
  }
}

/** Every command logs (log/logger.ts): JSON lines on stderr, readable ones when stderr is a terminal. */
const LOGGING = [
  { name: 'log-level', type: 'string', arg: LOG_LEVELS.join('|'), help: 'least level of the lines logged on stderr', default: 'info', choices: LOG_LEVELS },
  { name: 'log-format', type: 'string', arg: 'auto|json|pretty', help: 'JSON lines, or readable lines; auto = readable on a terminal', default: 'auto', choices: ['auto', 'json', 'pretty'] }
] as const satisfies readonly OptionSpec[]

/** --head-tile, for the readers (fetch/tiled-read.ts: which time of a tile decides whether a window takes it). */
const HEAD_TILE = { name: 'head-tile', type: 'string', arg: 'start|latest', help: 'which time of a tile decides whether a window takes it: its start (Zipline) or its latest event (airbnb); default: the GroupBy\'s flavour', choices: ['start', 'latest'] } as const satisfies OptionSpec

/**
 * --rollups, for the readers (fetch/tiled-read.ts FetchOptions.rollups): which rolled-up tiles a read may take. Same
 * name and values as run's, so one config file serves both: none reads the GroupBy's own tiles only.
 */
const READ_ROLLUPS = { name: 'rollups', type: 'string', arg: 'auto|none|1h,1d', help: 'rolled-up tiles a read takes where the store has them: auto = every size the GroupBy can have, none = the GroupBy\'s own tiles only (same values; long windows read many more tiles), or a comma list of sizes', default: 'auto' } as const satisfies OptionSpec

const RUN = [
  { name: 'group-by', type: 'string', arg: 'FILE', help: 'compiled Chronon GroupBy JSON (airbnb or Zipline flavour)' },
  { name: 'source', type: 'string', arg: 'SPEC', help: 'file:PATH (.jsonl/.csv/.avro) | generator[:k=v,…] | kafka:HOST:PORT/TOPIC' },
  { name: 'store', type: 'string', arg: 'SPEC', help: 'embedded:DIR (LMDB, no server), redis://HOST:PORT[/DB][?prefix=P&ttl=T&wait=N&timeout=D] or redis+cluster://HOST:PORT,HOST:PORT…[?…]', default: 'embedded:.tilekiln/store' },
  { name: 'workers', type: 'number', arg: 'N', help: 'worker threads (each owns a share of the keys)', default: 1, integer: true, min: 1, max: MAX_CLI_WORKERS },
  { name: 'trigger', type: 'string', arg: 'always|buffered:MS', help: 'when tiles are written: on every batch of events, or at most every MS per tile', default: 'always' },
  { name: 'until-end', type: 'boolean', help: 'stop when a bounded source is exhausted (files, generator with count=N); files always end' },
  { name: 'untiled', type: 'boolean', help: 'store every evaluated row (one put per event, aggregated at fetch time) instead of tiles' },
  { name: 'rollups', type: 'string', arg: 'auto|none|1h,1d', help: 'rolled-up 1-hour/1-day tiles written beside the GroupBy\'s own, so long windows read few tiles; auto = 1h,1d when a window is ≥ 1 day', default: 'auto' },
  { name: 'replace-key-schema', type: 'boolean', help: 'run even though the key schema (or tiled/untiled) differs from what the store holds for this GroupBy; entries written under the old one can no longer be fetched' },
  { name: 'allowed-lateness', type: 'number', arg: 'MS', help: 'how long after the watermark passes a tile it still accepts events', default: 0, min: 0, duration: true },
  { name: 'out-of-orderness', type: 'number', arg: 'MS', help: 'a partition\'s watermark = its max event time − this', default: 300_000, min: 0, duration: true },
  { name: 'dead-letter', type: 'string', arg: 'FILE', help: 'JSON-lines file for records that cannot be aggregated', default: '.tilekiln/dead-letter.jsonl' },
  { name: 'schema', type: 'string', arg: 'FILE', help: 'Avro record schema (JSON) of the input; inferred from JSON/CSV files when absent (give it in production: an inferred type is a guess from the data)' },
  { name: 'format', type: 'string', arg: 'json|csv|avro', help: 'input format of a file source (default: from the extension)', choices: ['json', 'csv', 'avro'] },
  { name: 'file-watermarks', type: 'string', arg: 'end|event', help: "a file's event time ends when the file does (end), or advances while reading (event)", default: 'end', choices: ['end', 'event'] },
  { name: 'flavour', type: 'string', arg: 'airbnb|zipline', help: 'which Chronon fork wrote the GroupBy (operations 18–20 differ); detected when absent', choices: ['airbnb', 'zipline'] },
  { name: 'source-index', type: 'number', arg: 'N', help: 'which of the GroupBy\'s sources to run (default: the first with a topic)', integer: true, min: 0 },
  { name: 'kv-inflight', type: 'number', arg: 'N', help: 'store write requests in flight', default: 10, integer: true, min: 1, max: 10_000 },
  { name: 'kv-timeout', type: 'number', arg: 'MS', help: 'a store write not acknowledged in time is retried', default: 1000, min: 1, duration: true },
  { name: 'kv-queue', type: 'number', arg: 'PUTS', help: 'queued tile writes above which reading pauses (backpressure)', default: 250_000, integer: true, min: 1 },
  { name: 'kv-coalesce', type: 'number', arg: 'PUTS', help: 'under backpressure, batches queued behind the requests in flight go out as one request of at most this many puts, each tile once (its last version); 0 = never', default: 100_000, integer: true, min: 0, max: 10_000_000 },
  { name: 'store-sync', type: 'string', arg: 'commit|checkpoint', help: 'embedded store: flush every commit to disk (commit), or only at checkpoints and at the end (checkpoint: tiles visible sooner; after an OS crash the restart replays from the last checkpoint)', default: 'commit', choices: ['commit', 'checkpoint'] },
  { name: 'linger', type: 'number', arg: 'MS', help: 'how long a partly filled batch waits for more records', default: DEFAULT_LINGER_MILLIS, min: 0, max: 60_000, duration: true },
  // A slot must hold one record and stay addressable by the ring's u32 offsets (at most 1 GiB here).
  { name: 'ring-slot-bytes', type: 'number', arg: 'BYTES', help: 'record bytes one batch slot holds (4 slots per worker); a larger record is a dead letter', default: DEFAULT_RING.dataBytes, integer: true, min: 1024, max: 1 << 30 },
  { name: 'batch-records', type: 'number', arg: 'N', help: 'records of one worker batch while the worker keeps up: smaller batches keep event-to-store latency low, larger ones write each busy tile less often (README, Benchmarks)', default: DEFAULT_BATCH_RECORDS, integer: true, min: 1, max: 1 << 20 },
  { name: 'batch-records-max', type: 'number', arg: 'N', help: `most records a worker's batch grows to (doubling) while the source outruns the worker, back to --batch-records when it waits for records; = --batch-records for fixed batches (default: the larger of ${DEFAULT_MAX_BATCH_RECORDS} and --batch-records)`, integer: true, min: 1, max: 1 << 20 },
  { name: 'evaluator', type: 'string', arg: 'spark|column-refs', help: 'expression evaluator', default: 'spark', choices: ['spark', 'column-refs'] },
  { name: 'progress', type: 'number', arg: 'MS', help: 'interval of the live view on a terminal (default 1 s), of the status line otherwise (default 30 s); 0 = off', min: 0, duration: true },
  { name: 'json', type: 'boolean', help: 'print the final summary as JSON' },
  { name: 'checkpoints', type: 'string', arg: 'on|off', help: 'per-partition checkpoints in the store (restored when a partition is assigned); default on for Kafka sources, off for others', choices: ['on', 'off'] },
  { name: 'checkpoint-interval', type: 'number', arg: 'MS', help: 'time between checkpoints (units allowed: 10s)', default: 10_000, min: 1, duration: true },
  { name: 'group-id', type: 'string', arg: 'ID', help: 'Kafka consumer group (default tilekiln-<groupBy>)' },
  { name: 'dead-letter-topic', type: 'string', arg: 'TOPIC', help: 'Kafka topic for dead letters of a Kafka source (default <topic>.tilekiln-dlq); --dead-letter FILE writes to a file instead' },
  { name: 'start-from', type: 'string', arg: 'earliest|latest', help: 'where a partition without committed offset or checkpoint starts', default: 'earliest', choices: ['earliest', 'latest'] },
  { name: 'framing', type: 'string', arg: 'raw|confluent', help: 'Avro records as plain binary, or in the Confluent wire format (magic byte + schema id); confluent with --schema-registry', default: 'raw', choices: ['raw', 'confluent'] },
  { name: 'schema-registry', type: 'string', arg: 'URL', help: 'Confluent-compatible schema registry (http[s]://[USER:PASS@]HOST:PORT[/PATH]): reader schema = the subject\'s latest (or --schema), each record decoded with its writer schema by id' },
  { name: 'schema-subject', type: 'string', arg: 'SUBJECT', help: 'registry subject of the record values (default <topic>-value)' },
  { name: 'kafka-library', type: 'string', arg: 'kafkajs|platformatic', help: 'Kafka client library', default: 'platformatic', choices: ['kafkajs', 'platformatic'] },
  { name: 'kafka-fetch-bytes', type: 'number', arg: 'BYTES', help: 'most bytes one Kafka fetch returns (a partition gets a quarter); the client decodes a whole fetch into one object per record, so this bounds the source\'s memory', default: DEFAULT_FETCH_MAX_BYTES, integer: true, min: 64 << 10, max: 1 << 30 },
  { name: 'kafka-session-timeout', type: 'number', arg: 'MS', help: 'consumer-group session timeout: how long a crashed member holds its partitions', default: 10_000, min: 1, max: 3_600_000, duration: true },
  { name: 'kafka-group-protocol', type: 'string', arg: 'classic|consumer', help: 'consumer-group protocol: classic (JoinGroup/SyncGroup), or consumer (KIP-848, Kafka 4.0+, platformatic only)', default: 'classic', choices: ['classic', 'consumer'] },
  { name: 'instance-id', type: 'string', arg: 'ID', help: 'static group membership (group.instance.id, platformatic only): a daemon restarted with the same ID gets its partitions back without a rebalance' },
  { name: 'kafka-ssl', type: 'boolean', help: 'TLS to the brokers' },
  { name: 'kafka-sasl-mechanism', type: 'string', arg: 'plain|scram-sha-256|scram-sha-512', help: 'SASL mechanism', choices: ['plain', 'scram-sha-256', 'scram-sha-512'] },
  { name: 'kafka-sasl-username', type: 'string', arg: 'USER', help: 'SASL user' },
  { name: 'kafka-sasl-password', type: 'string', arg: 'PASSWORD', help: 'SASL password (prefer the environment variable)' },
  { name: 'repartition', type: 'boolean', help: 'the topic is not keyed by the GroupBy\'s entity: shuffle it through <topic>.tilekiln-by-<groupBy> (created with the topic\'s partition count) and aggregate that' },
  { name: 'repartition-replicas', type: 'number', arg: 'N', help: 'replication factor of the repartitioned topic when it is created', default: 1, integer: true, min: 1, max: 32_767 },
  { name: 'metrics-port', type: 'number', arg: 'PORT', help: 'serve the status page, Prometheus /metrics, /healthz and /readyz of the running engine on this port (0 = off)', default: 0, integer: true, min: 0, max: 65_535 },
  { name: 'metrics-host', type: 'string', arg: 'HOST', help: 'address the --metrics-port server listens on (0.0.0.0 for every interface)', default: '127.0.0.1' },
  ...LOGGING
] as const satisfies readonly OptionSpec[]

const PRODUCE = [
  { name: 'brokers', type: 'string', arg: 'HOST:PORT', help: 'bootstrap brokers (comma-separated)', default: '127.0.0.1:9092' },
  { name: 'topic', type: 'string', arg: 'TOPIC', help: 'topic to write (created with --partitions if missing)' },
  { name: 'group-by', type: 'string', arg: 'FILE', help: 'the GroupBy whose input to generate' },
  { name: 'count', type: 'number', arg: 'N', help: 'number of events', default: 100_000, integer: true, min: 0 },
  { name: 'seed', type: 'number', arg: 'S', help: 'random seed', default: 1, integer: true },
  { name: 'partitions', type: 'number', arg: 'P', help: 'topic partitions', default: 4, integer: true, min: 1, max: 100_000 },
  { name: 'rate', type: 'number', arg: 'R', help: 'records per second at most (0 = as fast as possible)', default: 0, min: 0 },
  { name: 'spread', type: 'boolean', help: 'spread records over partitions round-robin instead of keying them by entity (a topic that needs run --repartition)' },
  { name: 'format', type: 'string', arg: 'avro|json', help: 'record encoding', default: 'avro', choices: ['avro', 'json'] },
  { name: 'malformed-fraction', type: 'number', arg: 'F', help: 'fraction of records replaced by garbage bytes', default: 0, min: 0, max: 1 },
  { name: 'keys', type: 'number', arg: 'N', help: 'distinct entity keys', default: 1000, integer: true, min: 1 },
  { name: 'key-type', type: 'string', arg: 'long|string', help: 'type of generated key values', default: 'long', choices: ['long', 'string'] },
  { name: 'zipf', type: 'number', arg: 'S', help: 'key skew (0 = uniform)', default: 0, min: 0 },
  { name: 'span', type: 'number', arg: 'MS', help: 'event times span this far back from now (units allowed: 30d)', default: 30 * 86_400_000, min: 0, duration: true },
  { name: 'disorder', type: 'number', arg: 'MS', help: 'event times jitter back by up to this much', default: 60_000, min: 0, duration: true },
  { name: 'late', type: 'number', arg: 'F', help: 'fraction of very late events', default: 0, min: 0, max: 1 },
  { name: 'schema', type: 'string', arg: 'FILE', help: 'input Avro schema (default: derived from the GroupBy\'s selects)' },
  { name: 'schema-out', type: 'string', arg: 'FILE', help: 'write the Avro schema of the produced records here (give it to run --schema)' },
  { name: 'schema-registry', type: 'string', arg: 'URL', help: 'register the records\' schema in this Confluent-compatible registry and write the Confluent wire format (magic byte 0 + schema id)' },
  { name: 'schema-subject', type: 'string', arg: 'SUBJECT', help: 'registry subject to register under (default <topic>-value)' },
  { name: 'batch', type: 'number', arg: 'N', help: 'records per produce request', default: 5000, integer: true, min: 1, max: 1_000_000 },
  { name: 'kafka-library', type: 'string', arg: 'kafkajs|platformatic', help: 'Kafka client library', default: 'platformatic', choices: ['kafkajs', 'platformatic'] },
  ...LOGGING
] as const satisfies readonly OptionSpec[]

const FETCH = [
  { name: 'group-by', type: 'string', arg: 'FILE', help: 'compiled Chronon GroupBy JSON' },
  { name: 'store', type: 'string', arg: 'SPEC', help: 'embedded:DIR or redis://HOST:PORT[/DB][?prefix=P]', default: 'embedded:.tilekiln/store' },
  { name: 'key', type: 'list', arg: 'COL=VALUE', help: 'a key column value (repeat for composite keys); COL alone asks for a null value' },
  { name: 'at', type: 'string', arg: 'TIME', help: 'query time: ISO-8601 (2023-12-02, 2023-12-02T10:00:00Z; UTC unless it has an offset) or epoch milliseconds; default now' },
  { name: 'flavour', type: 'string', arg: 'airbnb|zipline', help: 'which Chronon fork wrote the GroupBy', choices: ['airbnb', 'zipline'] },
  HEAD_TILE,
  READ_ROLLUPS,
  { name: 'json', type: 'boolean', help: 'print one JSON object: output column → value' },
  ...LOGGING
] as const satisfies readonly OptionSpec[]

const SERVE = [
  { name: 'group-by', type: 'list', arg: 'FILE', help: 'a GroupBy to serve (repeat for several)' },
  { name: 'store', type: 'string', arg: 'SPEC', help: 'embedded:DIR or redis://HOST:PORT[/DB][?prefix=P]', default: 'embedded:.tilekiln/store' },
  { name: 'port', type: 'number', arg: 'PORT', help: 'HTTP port', default: 8080, integer: true, min: 0, max: 65_535 },
  { name: 'host', type: 'string', arg: 'HOST', help: 'address to listen on', default: '127.0.0.1' },
  HEAD_TILE,
  READ_ROLLUPS,
  ...LOGGING
] as const satisfies readonly OptionSpec[]

const DUMP = [
  { name: 'store', type: 'string', arg: 'SPEC', help: 'embedded:DIR or redis://HOST:PORT[/DB][?prefix=P]', default: 'embedded:.tilekiln/store' },
  { name: 'group-by', type: 'string', arg: 'FILE', help: 'only the entries of this GroupBy (its dataset), and decode them with it' },
  { name: 'key', type: 'list', arg: 'COL=VALUE', help: 'only the entries of this entity key (repeat for composite keys; needs --group-by)' },
  { name: 'json', type: 'boolean', help: 'one JSON object per entry, decoded: the key, the tile (start, size, complete) and its IRs by tile part, or an untiled event\'s input columns (needs --group-by)' },
  { name: 'flavour', type: 'string', arg: 'airbnb|zipline', help: 'which Chronon fork wrote the GroupBy', choices: ['airbnb', 'zipline'] },
  ...LOGGING
] as const satisfies readonly OptionSpec[]

const USAGE = `tilekiln — Chronon GroupBy tiles from event streams, on Node.js

Commands:
  tilekiln run   --group-by FILE --source SPEC [--store SPEC] [--workers N] [--trigger always|buffered:MS] [--until-end] …
  tilekiln fetch --group-by FILE --key COL=VALUE [--key …] [--store SPEC] [--at TIME] [--json]
  tilekiln produce --brokers HOST:PORT --topic T --group-by FILE --count N [--partitions P] [--format avro|json] …
  tilekiln serve --group-by FILE [--group-by …] [--store SPEC] [--port 8080]   HTTP read API + /metrics
  tilekiln dump  [--store SPEC] [--group-by FILE [--key COL=VALUE] [--json]]   the store's entries in key order
  tilekiln help [COMMAND]                full option lists
  tilekiln --version

Run 'tilekiln COMMAND --help' for every flag of a command.`

type RunOptions = Options<typeof RUN>
type ProduceOptions = Options<typeof PRODUCE>
type FetchOptions = Options<typeof FETCH>
type ServeOptions = Options<typeof SERVE>
type DumpOptions = Options<typeof DUMP>

function loadPlan (path: string | undefined, flavour?: 'airbnb' | 'zipline', sourceIndex?: number): Plan {
  if (path === undefined) throw new TilekilnError('TK_USAGE', '--group-by FILE is required')
  const json = readJsonFile(path, 'the GroupBy')
  return compilePlan(json, { flavour, sourceIndex, fallbackName: basename(path).replace(/\.json$/, '') })
}

function parseTrigger (s: string): { kind: 'always' } | { kind: 'buffered', millis: number } {
  if (s === 'always') return { kind: 'always' }
  if (s.startsWith('buffered')) {
    const ms = s === 'buffered' ? 100 : parseNumberWithUnit(s.slice('buffered:'.length))
    if (!Number.isFinite(ms) || ms <= 0) throw new TilekilnError('TK_USAGE', `bad trigger '${s}': use buffered:MS with MS > 0`)
    return { kind: 'buffered', millis: ms }
  }
  throw new TilekilnError('TK_USAGE', `unknown trigger '${s}': use always or buffered:MS`)
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')

async function deadLetterSink (o: RunOptions, src: string, plan: Plan, explicitFile: boolean): Promise<DeadLetterSink> {
  if (!src.startsWith('kafka:') || explicitFile) return new FileDeadLetters(o.deadLetter)
  const { brokers, topic } = parseKafkaSpec(src, plan)
  const dlqTopic = o.deadLetterTopic ?? `${topic}.tilekiln-dlq`
  const client = await createKafkaClient({ library: o.kafkaLibrary, brokers, clientId: `tilekiln-${plan.cleanName}-dlq` })
  const admin = await client.admin()
  try { await admin.createTopic(dlqTopic, { partitions: 1 }) } finally { await admin.close() }
  const producer = client.producer({ acks: 'all', idempotent: true })
  await producer.connect()
  return new KafkaDeadLetters(producer, dlqTopic, plan.name)
}

interface RepartitionPlan { readonly input: string, readonly output: string, readonly partitions: number, readonly brokers: string[] }

/** The input topic's partition count, and the repartitioned topic, created with as many partitions if missing. */
async function prepareRepartition (spec: string, plan: Plan, k: KafkaSpecOptions, replicas: number): Promise<RepartitionPlan> {
  if (!spec.startsWith('kafka:')) throw new TilekilnError('TK_USAGE', '--repartition shuffles a Kafka topic: use it with --source kafka:…')
  const { brokers, topic } = parseKafkaSpec(spec, plan)
  const output = repartitionTopic(topic, plan.cleanName)
  const client = await createKafkaClient(kafkaClientOptions(brokers, k, `tilekiln-${plan.cleanName}-admin`))
  const admin = await client.admin()
  try {
    const partitions = await admin.partitionCount(topic)
    if (partitions < 1) throw new TilekilnError('TK_SOURCE', `topic ${topic} does not exist or has no partitions`, { topic })
    await admin.createTopic(output, { partitions, replicationFactor: replicas })
    const have = await partitionCountOfNewTopic(admin, output)
    if (have !== partitions) {
      throw new TilekilnError('TK_SOURCE', `the repartitioned topic ${output} has ${have} partition(s) but ${topic} has ${partitions}: partition counts changed (that remaps keys); delete ${output} and the checkpoints to start over`, { topic: output })
    }
    return { input: topic, output, partitions, brokers }
  } finally {
    await admin.close()
  }
}

/**
 * A topic just created (here, or by another daemon starting beside this one) may not be in every broker's metadata
 * yet (UNKNOWN_TOPIC_OR_PARTITION for a moment): asked again for up to 15 s before that is an error.
 */
async function partitionCountOfNewTopic (admin: KafkaAdmin, topic: string): Promise<number> {
  const until = Date.now() + 15_000
  for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
    try {
      const n = await admin.partitionCount(topic)
      if (n > 0 || Date.now() > until) return n
    } catch (e) {
      if (Date.now() > until) throw e
    }
    await new Promise(resolve => setTimeout(resolve, delay))
  }
}

async function run (o: RunOptions, given: ReadonlySet<string>): Promise<number> {
  const plan = loadPlan(o.groupBy, o.flavour, o.sourceIndex)
  const untiled = o.untiled
  if (untiled && given.has('rollups') && o.rollups !== 'none') throw new TilekilnError('TK_USAGE', '--rollups rolls tiles up; an untiled run writes no tiles: drop one of --rollups and --untiled')
  if (untiled && given.has('trigger')) throw new TilekilnError('TK_USAGE', '--trigger decides when tiles are written; an untiled run writes every event as it comes: drop one of --trigger and --untiled')
  if (o.source === undefined) throw new TilekilnError('TK_USAGE', '--source SPEC is required')
  if (o.batchRecordsMax !== undefined && o.batchRecordsMax < o.batchRecords) throw new TilekilnError('TK_USAGE', `--batch-records-max ${o.batchRecordsMax} is below --batch-records ${o.batchRecords}: a batch starts at --batch-records and grows up to the most (give the same number for fixed batches)`)
  const isKafka = o.source.startsWith('kafka:')
  const kafka: KafkaSpecOptions = {
    groupId: o.groupId,
    library: o.kafkaLibrary,
    startFrom: o.startFrom,
    // A registry means the Confluent wire format; an explicit --framing raw with it is refused in openSource.
    framing: o.schemaRegistry !== undefined && !given.has('framing') ? 'confluent' : o.framing,
    schemaRegistry: o.schemaRegistry,
    schemaSubject: o.schemaSubject,
    untilEnd: o.untilEnd,
    ssl: o.kafkaSsl,
    saslMechanism: o.kafkaSaslMechanism,
    saslUsername: o.kafkaSaslUsername,
    saslPassword: o.kafkaSaslPassword,
    sessionTimeoutMs: o.kafkaSessionTimeout,
    groupProtocol: o.kafkaGroupProtocol,
    instanceId: o.instanceId,
    fetchMaxBytes: o.kafkaFetchBytes
  }
  const repartition = o.repartition
    ? await prepareRepartition(o.source, plan, kafka, o.repartitionReplicas)
    : null
  const source = await openSource(repartition === null ? o.source : `kafka:${repartition.brokers.join(',')}/${repartition.output}`, plan, {
    schema: o.schema,
    format: o.format,
    fileWatermarks: o.fileWatermarks,
    kafka: repartition === null ? kafka : { ...kafka, repartitioned: true, schemaSubject: kafka.schemaSubject ?? `${repartition.input}-value` }
  })
  const store = openStore(o.store, { sync: o.storeSync })
  const deadLetters = await deadLetterSink(o, o.source, plan, given.has('dead-letter'))
  const checkpoints = o.checkpoints === undefined ? isKafka : o.checkpoints === 'on'
  const screenOut = terminalLogs() ? process.stderr : null
  const progressMs = o.progress ?? (screenOut !== null ? 1000 : 30_000)
  const engine = new Engine({
    groupBy: plan.json,
    planOptions: { flavour: plan.flavour, sourceIndex: o.sourceIndex, fallbackName: plan.name },
    source,
    store,
    deadLetters,
    workers: o.workers,
    trigger: parseTrigger(o.trigger),
    allowedLatenessMillis: o.allowedLateness,
    outOfOrdernessMillis: o.outOfOrderness,
    writer: { maxInFlight: o.kvInflight, timeoutMillis: o.kvTimeout, maxQueuedPuts: o.kvQueue, maxCoalescedPuts: o.kvCoalesce },
    lingerMillis: o.linger,
    ring: { dataBytes: o.ringSlotBytes },
    batch: { records: o.batchRecords, ...(o.batchRecordsMax === undefined ? {} : { maxRecords: o.batchRecordsMax }) },
    evaluator: o.evaluator,
    servingInfo: o.replaceKeySchema ? 'replace' : 'check',
    untiled,
    rollups: parseRollups(o.rollups),
    ...(checkpoints ? { checkpoints: { intervalMillis: o.checkpointInterval } } : {}),
    ...(repartition === null ? {} : { repartitioned: { origins: repartition.partitions } })
  })
  if (repartition !== null && !checkpoints) throw new TilekilnError('TK_USAGE', '--repartition needs checkpoints (its exactly-once rests on them): drop --checkpoints off')
  const shuffle = repartition === null
    ? null
    : new Shuffle({
      client: await createKafkaClient(kafkaClientOptions(repartition.brokers, kafka, `tilekiln-${plan.cleanName}-shuffle`)),
      input: repartition.input,
      output: repartition.output,
      groupId: `${kafka.groupId ?? `tilekiln-${plan.cleanName}`}.shuffle`,
      partitions: repartition.partitions,
      probe: createRecordProbe(engine.bound, source.format, 2, queryCompiler(o.evaluator)),
      storage: storeCheckpoints(store, checkpointScope(plan.streamingDataset, `shuffle:${repartition.input}`), { log: getLogger() }),
      metrics: engine.metrics,
      sessionTimeoutMs: kafka.sessionTimeoutMs,
      checkpointIntervalMillis: o.checkpointInterval,
      startFrom: o.startFrom,
      log: getLogger(),
      onFailure: e => {
        getLogger().error(`the shuffle stage failed, stopping: ${describeError(e)}`)
        engine.stop()
      }
    })
  const metricsPort = o.metricsPort
  engine.metrics.includeProcessMetrics()
  const stats = new LiveStats(engine)
  // The status page looks keys up in the store being written: its read side is loaded once the engine wrote the
  // serving info (the sampler below checks).
  const served = new Map<string, Served>()
  let readSide: Promise<void> | null = null
  const loadServed = (): void => {
    if (readSide !== null || !engine.storeConnected) return
    readSide = loadReadSide(plan, store).then(r => { served.set(plan.name, { read: r, store }) }, e => { getLogger().warn(`the status page cannot look keys up: ${describeError(e)}`) })
  }
  const metricsHttp = metricsPort > 0 ? featureServer(served, engine.metrics, { health: engine, status: { mode: 'run', title: `${plan.name} from ${source.description}`, samples: () => stats.history } }) : null
  if (metricsHttp !== null) {
    const host = o.metricsHost
    const port = await listen(metricsHttp, metricsPort, host)
    const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
    getLogger().info({ port, host }, `status page on ${base}/ (metrics ${base}/metrics, health ${base}/healthz and ${base}/readyz)`)
  }
  getLogger().info({ groupBy: plan.name, source: source.description, store: store.description, workers: o.workers }, `running ${plan.name} (${untiled ? `untiled: one stored event per row, ${plan.aggregationInputs.length} input column(s)` : `${plan.tileParts.length} tile part(s), ${plan.tileSizeMillis / 60000}-minute tiles`}) from ${source.description} into ${store.description} with ${o.workers} worker(s)${checkpoints ? ', checkpoints in the store' : ''}`)
  // On a terminal one screen redrawn in place; otherwise a status line now and then (the status page samples too).
  const screen = screenOut !== null && progressMs > 0 ? new LiveScreen(screenOut, `${plan.name} from ${source.description}`, untiled) : null
  let lastLine = Date.now()
  const sampler = progressMs > 0 || metricsHttp !== null
    ? setInterval(() => {
      const s = stats.sample()
      if (metricsHttp !== null) loadServed()
      if (screen !== null) screen.draw(s)
      else if (progressMs > 0 && s.at - lastLine >= progressMs - 5) { lastLine = s.at; getLogger().info({ progress: s }, statusLine(s, untiled)) }
    }, Math.min(1000, progressMs > 0 ? progressMs : 1000))
    : undefined
  let stopping = false
  let stopWatch: NodeJS.Timeout | undefined
  const onSignal = (): void => {
    if (stopping) process.exit(130)
    stopping = true
    getLogger().info('stopping (flushing what is in flight; press Ctrl-C again to abort)…')
    engine.stop()
    // A stop that takes long says what it waits for, every STOP_REPORT_MILLIS (a stuck daemon is then diagnosable
    // from its log; a supervisor's SIGKILL would otherwise leave no trace of why).
    const since = Date.now()
    stopWatch = setInterval(() => {
      getLogger().warn({ stoppingForMillis: Date.now() - since }, `still stopping after ${Math.round((Date.now() - since) / 1000)} s: waiting for ${engine.stopPhase ?? 'the run to end'}`)
    }, STOP_REPORT_MILLIS)
    stopWatch.unref()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    if (shuffle !== null) {
      await shuffle.start()
      getLogger().info(`shuffling ${repartition!.input} (${repartition!.partitions} partitions) into ${repartition!.output} by the entity key`)
    }
    const summary = await engine.run()
    clearInterval(sampler)
    screen?.close()
    await shuffle?.stop()
    shuffle?.check()
    if (o.json) {
      process.stdout.write(JSON.stringify({ ...summary, metrics: Object.fromEntries(Object.values(M).map(n => [n, engine.metrics.counter(n)])) }) + '\n')
    } else {
      // The whole run: rates and p99 since the start.
      getLogger().info(statusLine({ ...new LiveStats(engine).sample(), p99LatencyMillis: summary.latency.count === 0 ? Number.NaN : summary.latency.p99 }, untiled))
      if (summary.restoredPartitions > 0 || summary.checkpointsTaken > 0) getLogger().info(`${summary.restoredPartitions === 0 ? 'started fresh' : `restored ${summary.restoredPartitions} partition(s) from their checkpoints`}, took ${summary.checkpointsTaken} checkpoint(s)`)
      getLogger().info(`done. ${fmt(summary.records)} events in ${(summary.elapsedMillis / 1000).toFixed(1)} s (${fmt(summary.eventsPerSecond)} ev/s), ${fmt(summary.tilesWritten)} ${untiled ? 'event' : 'tile'} writes, ${fmt(summary.deadLetters)} dead letter(s)${summary.deadLetters > 0 ? ` in ${deadLetters.description}` : ''}; event-to-store latency p50 ${summary.latency.p50} ms, p99 ${summary.latency.p99} ms`)
    }
    return 0
  } finally {
    clearInterval(sampler)
    clearInterval(stopWatch)
    screen?.close()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await closeWithin(shuffle?.stop().catch(() => {}))
    metricsHttp?.close()
    // Dead letters still being written when the wait ends may be lost: that fails the run. The store acknowledged
    // everything the run counted before engine.run() settled, so a store close that hangs only costs its client.
    if (!await closeWithin(deadLetters.close())) throw new TilekilnError('TK_DEAD_LETTER', `the dead-letter output ${deadLetters.description} did not finish closing within ${CLOSE_MILLIS / 1000} s: dead letters it had not written yet may be lost`)
    if (!await closeWithin(store.close())) getLogger().warn(`closing the store ${store.description} did not finish within ${CLOSE_MILLIS / 1000} s; everything the run wrote was acknowledged, exiting without it`)
  }
}

/** `--rollups` of a reader → FetchOptions.rollups: undefined for auto (every size the GroupBy can have). */
function readRollups (spec: string, plan: Plan): readonly number[] | undefined {
  const sizes = parseRollups(spec)
  // A size the GroupBy's tiles cannot be rolled up into is refused, as run refuses it.
  return sizes === null ? undefined : resolveRollups(plan, sizes)
}

async function fetch (o: FetchOptions): Promise<number> {
  const plan = loadPlan(o.groupBy, o.flavour)
  const at = o.at === undefined ? Date.now() : parseInstant(o.at, '--at')
  const rollups = readRollups(o.rollups, plan)
  const store = openStore(o.store, { readOnly: true })
  try {
    const read = await loadReadSide(plan, store)
    const keyValues = parseKeyFlags(o.key, read)
    const result = await fetchFeatures(read, store, keyValues, at, { headTile: o.headTile, rollups })
    if (o.json) {
      process.stdout.write(JSON.stringify(result.features) + '\n')
    } else {
      const what = result.eventsRead === undefined
        ? `${result.tilesRead} tile(s)`
        : `${result.eventsRead} event(s)${result.skippedEvents! > 0 ? `, ${result.skippedEvents} left out of some column: their tensors' lengths differ` : ''}`
      process.stdout.write(`${plan.name} at ${new Date(at).toISOString()} for ${plan.keyColumns.map((k, i) => `${k}=${String(keyValues[i])}`).join(', ')} (${what})\n`)
      const width = Math.max(...Object.keys(result.features).map(k => k.length))
      for (const [k, v] of Object.entries(result.features)) process.stdout.write(`  ${k.padEnd(width)}  ${JSON.stringify(v)}\n`)
    }
    return 0
  } finally {
    await store.close()
  }
}

/** `--key COL=VALUE` flags → the key values in key-column order, typed by the stored key schema. */
function parseKeyFlags (flags: readonly string[], read: ReadSide): unknown[] {
  const plan = read.plan
  // --key COL=VALUE, or --key COL alone for a null key value (Chronon tiles null keys)
  const given = new Map<string, string | null>()
  for (const kv of flags) {
    const eq = kv.indexOf('=')
    if (eq === 0 || kv === '') throw new TilekilnError('TK_USAGE', `--key must be COL=VALUE (or COL for a null value), got '${kv}'`)
    if (eq < 0) given.set(kv, null)
    else given.set(kv.slice(0, eq), kv.slice(eq + 1))
  }
  for (const k of given.keys()) {
    if (plan.keyColumns.includes(k)) continue
    const guess = didYouMean(k, plan.keyColumns)
    throw new TilekilnError('TK_USAGE', `'${k}' is not a key column of ${plan.name}${guess === undefined ? '' : `; did you mean ${guess}?`} (key columns: ${plan.keyColumns.join(', ')})`)
  }
  return plan.keyColumns.map(k => {
    const text = given.get(k)
    if (text === undefined) throw new TilekilnError('TK_USAGE', `missing --key ${k}=VALUE (key columns: ${plan.keyColumns.join(', ')})`)
    if (text === null) return null
    try {
      return read.keyCodec.parseText(k, text)
    } catch (e) {
      throw new TilekilnError('TK_USAGE', (e as Error).message)
    }
  })
}

async function produceCommand (o: ProduceOptions): Promise<number> {
  const plan = loadPlan(o.groupBy)
  if (o.topic === undefined) throw new TilekilnError('TK_USAGE', '--topic is required')
  const r = await produce({
    brokers: o.brokers,
    topic: o.topic,
    plan,
    count: o.count,
    seed: o.seed,
    partitions: o.partitions,
    format: o.format,
    malformedFraction: o.malformedFraction,
    keys: o.keys,
    keyType: o.keyType,
    keyed: !o.spread,
    rate: o.rate,
    zipf: o.zipf,
    spanMillis: o.span,
    disorderMillis: o.disorder,
    lateFraction: o.late,
    schema: o.schema === undefined ? undefined : readJsonFile(o.schema, 'the schema file'),
    schemaOut: o.schemaOut,
    schemaRegistry: o.schemaRegistry,
    schemaSubject: o.schemaSubject,
    library: o.kafkaLibrary,
    batch: o.batch
  })
  process.stdout.write(JSON.stringify(r) + '\n')
  getLogger().info(`produced ${fmt0(r.records)} records (${fmt0(r.malformed)} malformed)${r.schemaId === undefined ? '' : ` with schema id ${r.schemaId}`} to ${o.topic} in ${r.seconds.toFixed(1)} s (${fmt0(r.recordsPerSecond)} rec/s)`)
  return 0
}

const fmt0 = (n: number): string => Math.round(n).toLocaleString('en-US')

async function serve (o: ServeOptions): Promise<number> {
  const files = o.groupBy
  if (files.length === 0) throw new TilekilnError('TK_USAGE', '--group-by FILE is required (repeat it to serve several)')
  const plans = files.map(f => loadPlan(f))
  const rollups = plans.map(p => readRollups(o.rollups, p))
  const store = openStore(o.store, { readOnly: true })
  const served = new Map<string, Served>()
  try {
    for (const [i, plan] of plans.entries()) served.set(plan.name, { read: await loadReadSide(plan, store), store, headTile: o.headTile, rollups: rollups[i] })
  } catch (e) {
    await store.close()
    throw e
  }
  const metrics = new Metrics('serve')
  metrics.includeProcessMetrics()
  const feed = new FetchStats(metrics, `${[...served.keys()].join(', ')} from ${store.description}`)
  const server = featureServer(served, metrics, { status: feed })
  const port = await listen(server, o.port, o.host)
  getLogger().info({ port }, `serving ${[...served.keys()].join(', ')} from ${store.description} on http://${o.host}:${port} (status page at /, GET /v1/features/<groupBy>?<key>=<value>[&at=<ms>], /metrics)`)
  await new Promise<void>(resolve => {
    const stop = (): void => { server.close(() => resolve()) }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  feed.close()
  await store.close()
  return 0
}

async function dump (o: DumpOptions): Promise<number> {
  if (o.groupBy === undefined && (o.key.length > 0 || o.json)) throw new TilekilnError('TK_USAGE', `--${o.json ? 'json' : 'key'} decodes with the GroupBy: give --group-by FILE`)
  const plan = o.groupBy === undefined ? undefined : loadPlan(o.groupBy, o.flavour)
  const store = openStore(o.store, { readOnly: true })
  try {
    const read = plan === undefined ? undefined : await loadReadSide(plan, store)
    const lines = await dumpStore(store, process.stdout, {
      ...(read === undefined ? {} : { read }),
      ...(read === undefined || o.key.length === 0 ? {} : { keyValues: parseKeyFlags(o.key, read) }),
      json: o.json
    })
    // Every run leaves at least its serving info: nothing at all means the wrong server, database or prefix.
    if (lines === 0 && read === undefined) throw new TilekilnError('TK_STORE', `${store.description} holds nothing: check the store spec (a Redis store's database and prefix); a run writes its GroupBy's serving info there first`, { store: store.description })
    return 0
  } finally {
    await store.close()
  }
}

interface Command {
  readonly summary: string
  readonly specs: readonly OptionSpec[]
  /** Parses the arguments against the command's own specs and runs it with the typed options. */
  readonly exec: (argv: readonly string[], otherNames: ReadonlySet<string>) => Promise<number>
}

function command<const T extends readonly OptionSpec[]> (name: string, summary: string, specs: T, fn: (o: Options<T>, given: ReadonlySet<string>) => Promise<number>): Command {
  return {
    summary,
    specs,
    exec: async (argv, otherNames) => {
      const { options, given } = parseOptions(argv, specs, name, otherNames)
      // Every command's table spreads LOGGING, so both are there (checked against their choices by the parser).
      const logging = options as unknown as { logLevel: LogLevel, logFormat: 'auto' | 'json' | 'pretty' }
      configureLogging({ level: logging.logLevel, format: logging.logFormat })
      return await fn(options, given)
    }
  }
}

const COMMANDS: Record<string, Command> = {
  run: command('run', 'consume a source and keep the GroupBy\'s tiles fresh in the store', RUN, run),
  produce: command('produce', 'write generated GroupBy-shaped events to a Kafka topic (a load generator)', PRODUCE, produceCommand),
  fetch: command('fetch', 'read a key\'s windowed feature values from the tiles', FETCH, fetch),
  serve: command('serve', 'HTTP read API for feature values, and Prometheus metrics', SERVE, serve),
  dump: command('dump', 'print the store\'s entries in key order: hex lines (key, value), or decoded JSON with --group-by … --json', DUMP, dump)
}

/** Own entries only: `tilekiln constructor` is not Object.prototype.constructor. */
function commandNamed (name: string): Command | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
}

/** The package's version, from package.json (two levels above dist/src/cli, or above src/cli). */
function version (): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string, version?: string }
      if (pkg.name === 'tilekiln' && typeof pkg.version === 'string') return pkg.version
    } catch {}
  }
  return 'unknown'
}

export async function main (argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv
  if (cmd === undefined || cmd === '--help' || cmd === '-h') { process.stdout.write(USAGE + '\n'); return cmd === undefined ? 1 : 0 }
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') { process.stdout.write(`tilekiln ${version()} (Node.js ${process.versions.node})\n`); return 0 }
  if (cmd === 'help') {
    const c = rest[0] === undefined ? undefined : commandNamed(rest[0])
    if (rest[0] === undefined) {
      process.stdout.write(USAGE + '\n\n' + Object.entries(COMMANDS).map(([n, x]) => helpText(n, x.summary, x.specs)).join('\n\n') + '\n')
      return 0
    }
    if (c === undefined) return unknownCommand(rest[0])
    process.stdout.write(helpText(rest[0], c.summary, c.specs) + '\n')
    return 0
  }
  const command = commandNamed(cmd)
  if (command === undefined) return unknownCommand(cmd)
  if (rest.includes('--help') || rest.includes('-h')) { process.stdout.write(helpText(cmd, command.summary, command.specs) + '\n'); return 0 }
  try {
    const otherNames = new Set(Object.entries(COMMANDS).filter(([n]) => n !== cmd).flatMap(([, c]) => c.specs.map(s => s.name)))
    return await command.exec(rest, otherNames)
  } catch (e) {
    const tag = isTilekilnError(e) ? ` [${e.code}]` : ''
    const debug = !isTilekilnError(e) && process.env.TILEKILN_DEBUG !== undefined
    getLogger().error({ code: isTilekilnError(e) ? e.code : undefined, ...(debug ? { err: e } : {}) }, `tilekiln ${cmd}: ${describeError(e)}${tag}`)
    return isTilekilnError(e) && e.code === 'TK_USAGE' ? 2 : 1
  }
}

function unknownCommand (name: string): number {
  const guess = didYouMean(name, Object.keys(COMMANDS))
  getLogger().error(`unknown command '${name}'${guess === undefined ? '' : `; did you mean '${guess}'?`} (the commands: ${Object.keys(COMMANDS).join(', ')}; tilekiln help)`)
  return 2
}
