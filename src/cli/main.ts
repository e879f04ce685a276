// The `tilekiln` command: run | fetch | dump | help.

import { basename } from 'node:path'
import { compilePlan, type Plan } from '../config/plan.ts'
import { type DeadLetterSink, FileDeadLetters } from '../engine/dead-letter.ts'
import { KafkaDeadLetters } from '../engine/dead-letter-kafka.ts'
import { createKafkaClient } from '../kafka/client.ts'
import { produce } from './produce.ts'
import { Engine } from '../engine/engine.ts'
import { DEFAULT_RING } from '../route/ring.ts'
import { describeError, isTilekilnError, TilekilnError } from '../errors.ts'
import { featureServer, listen, type Served } from '../fetch/http.ts'
import { FetchStats } from '../fetch/status-page.ts'
import { fetchFeatures, type HeadTileRule, loadReadSide } from '../fetch/tiled-read.ts'
import { configureLogging, getLogger, LOG_LEVELS, type LogLevel, terminalLogs } from '../log/logger.ts'
import { LiveStats } from '../engine/live-stats.ts'
import { LiveScreen, statusLine } from './live-view.ts'
import { M, Metrics } from '../metrics/metrics.ts'
import { checkpointScope, storeCheckpoints } from '../checkpoint/storage.ts'
import { queryCompiler } from '../expr/index.ts'
import { createRecordProbe } from '../route/record-probe.ts'
import { repartitionTopic, Shuffle } from '../source/repartition.ts'
import { writeSortedDump } from '../sink/dump.ts'
import { helpText, type OptionSpec, parseNumberWithUnit, parseOptions, type ParsedOptions } from './options.ts'
import { kafkaClientOptions, type KafkaSpecOptions, openSource, openStore, parseKafkaSpec, readJsonFile } from './specs.ts'

/** Every command logs (log/logger.ts): JSON lines on stderr, readable ones when stderr is a terminal. */
const LOGGING: OptionSpec[] = [
  { name: 'log-level', type: 'string', arg: LOG_LEVELS.join('|'), help: 'least level of the lines logged on stderr', default: 'info' },
  { name: 'log-format', type: 'string', arg: 'auto|json|pretty', help: 'JSON lines, or readable lines; auto = readable on a terminal', default: 'auto' }
]

const RUN: OptionSpec[] = [
  { name: 'group-by', type: 'string', arg: 'FILE', help: 'compiled Chronon GroupBy JSON (airbnb or Zipline flavour)' },
  { name: 'source', type: 'string', arg: 'SPEC', help: 'file:PATH (.jsonl/.csv/.avro) | generator[:k=v,…] | kafka:HOST:PORT/TOPIC' },
  { name: 'store', type: 'string', arg: 'SPEC', help: 'embedded:DIR (LMDB, no server), redis://HOST:PORT[/DB][?prefix=P&ttl=T&wait=N] or redis+cluster://HOST:PORT,HOST:PORT…[?…]', default: 'embedded:.tilekiln/store' },
  { name: 'workers', type: 'number', arg: 'N', help: 'worker threads (each owns a share of the keys)', default: 1 },
  { name: 'trigger', type: 'string', arg: 'always|buffered:MS', help: 'when tiles are written: on every batch of events, or at most every MS per tile', default: 'always' },
  { name: 'until-end', type: 'boolean', help: 'stop when a bounded source is exhausted (files, generator with count=N); files always end' },
  { name: 'untiled', type: 'boolean', help: 'store every evaluated row (one put per event, aggregated at fetch time) instead of tiles' },
  { name: 'allowed-lateness', type: 'number', arg: 'MS', help: 'how long after the watermark passes a tile it still accepts events', default: 0 },
  { name: 'out-of-orderness', type: 'number', arg: 'MS', help: 'a partition\'s watermark = its max event time − this', default: 300_000 },
  { name: 'dead-letter', type: 'string', arg: 'FILE', help: 'JSON-lines file for records that cannot be aggregated', default: '.tilekiln/dead-letter.jsonl' },
  { name: 'schema', type: 'string', arg: 'FILE', help: 'Avro record schema (JSON) of the input; inferred from JSON/CSV files when absent (give it in production: an inferred type is a guess from the data)' },
  { name: 'format', type: 'string', arg: 'json|csv|avro', help: 'input format of a file source (default: from the extension)' },
  { name: 'file-watermarks', type: 'string', arg: 'end|event', help: "a file's event time ends when the file does (end), or advances while reading (event)", default: 'end' },
  { name: 'flavour', type: 'string', arg: 'airbnb|zipline', help: 'which Chronon fork wrote the GroupBy (operations 18–20 differ); detected when absent' },
  { name: 'source-index', type: 'number', arg: 'N', help: 'which of the GroupBy\'s sources to run (default: the first with a topic)' },
  { name: 'kv-inflight', type: 'number', arg: 'N', help: 'store write requests in flight', default: 10 },
  { name: 'kv-timeout', type: 'number', arg: 'MS', help: 'a store write not acknowledged in time is retried', default: 1000 },
  { name: 'kv-queue', type: 'number', arg: 'PUTS', help: 'queued tile writes above which reading pauses (backpressure)', default: 250_000 },
  { name: 'linger', type: 'number', arg: 'MS', help: 'how long a partly filled batch waits for more records', default: 5 },
  { name: 'ring-slot-bytes', type: 'number', arg: 'BYTES', help: 'record bytes one batch slot holds (4 slots per worker); a larger record is a dead letter', default: DEFAULT_RING.dataBytes },
  { name: 'evaluator', type: 'string', arg: 'spark|column-refs', help: 'expression evaluator', default: 'spark' },
  { name: 'progress', type: 'number', arg: 'MS', help: 'interval of the live view on a terminal (default 1 s), of the status line otherwise (default 30 s); 0 = off' },
  { name: 'json', type: 'boolean', help: 'print the final summary as JSON' },
  { name: 'checkpoints', type: 'string', arg: 'on|off', help: 'per-partition checkpoints in the store (restored when a partition is assigned); default on for Kafka sources, off for others' },
  { name: 'checkpoint-interval', type: 'number', arg: 'MS', help: 'time between checkpoints (units allowed: 10s)', default: 10_000 },
  { name: 'group-id', type: 'string', arg: 'ID', help: 'Kafka consumer group (default tilekiln-<groupBy>)' },
  { name: 'dead-letter-topic', type: 'string', arg: 'TOPIC', help: 'Kafka topic for dead letters of a Kafka source (default <topic>.tilekiln-dlq); --dead-letter FILE writes to a file instead' },
  { name: 'start-from', type: 'string', arg: 'earliest|latest', help: 'where a partition without committed offset or checkpoint starts', default: 'earliest' },
  { name: 'framing', type: 'string', arg: 'raw|confluent', help: 'Avro records as plain binary, or in the Confluent wire format (magic byte + schema id); confluent with --schema-registry', default: 'raw' },
  { name: 'schema-registry', type: 'string', arg: 'URL', help: 'Confluent-compatible schema registry (http[s]://[USER:PASS@]HOST:PORT[/PATH]): reader schema = the subject\'s latest (or --schema), each record decoded with its writer schema by id' },
  { name: 'schema-subject', type: 'string', arg: 'SUBJECT', help: 'registry subject of the record values (default <topic>-value)' },
  { name: 'kafka-library', type: 'string', arg: 'kafkajs|platformatic', help: 'Kafka client library', default: 'kafkajs' },
  { name: 'kafka-session-timeout', type: 'number', arg: 'MS', help: 'consumer-group session timeout: how long a crashed member holds its partitions', default: 10_000 },
  { name: 'kafka-group-protocol', type: 'string', arg: 'classic|consumer', help: 'consumer-group protocol: classic (JoinGroup/SyncGroup), or consumer (KIP-848, Kafka 4.0+, platformatic only)', default: 'classic' },
  { name: 'instance-id', type: 'string', arg: 'ID', help: 'static group membership (group.instance.id, platformatic only): a daemon restarted with the same ID gets its partitions back without a rebalance' },
  { name: 'kafka-ssl', type: 'boolean', help: 'TLS to the brokers' },
  { name: 'kafka-sasl-mechanism', type: 'string', arg: 'plain|scram-sha-256|scram-sha-512', help: 'SASL mechanism' },
  { name: 'kafka-sasl-username', type: 'string', arg: 'USER', help: 'SASL user' },
  { name: 'kafka-sasl-password', type: 'string', arg: 'PASSWORD', help: 'SASL password (prefer the environment variable)' },
  { name: 'repartition', type: 'boolean', help: 'the topic is not keyed by the GroupBy\'s entity: shuffle it through <topic>.tilekiln-by-<groupBy> (created with the topic\'s partition count) and aggregate that' },
  { name: 'repartition-replicas', type: 'number', arg: 'N', help: 'replication factor of the repartitioned topic when it is created', default: 1 },
  { name: 'metrics-port', type: 'number', arg: 'PORT', help: 'serve the status page, Prometheus /metrics, /healthz and /readyz of the running engine on this port (0 = off)', default: 0 },
  { name: 'metrics-host', type: 'string', arg: 'HOST', help: 'address the --metrics-port server listens on (0.0.0.0 for every interface)', default: '127.0.0.1' },
  ...LOGGING
]

const PRODUCE: OptionSpec[] = [
  { name: 'brokers', type: 'string', arg: 'HOST:PORT', help: 'bootstrap brokers (comma-separated)', default: '127.0.0.1:9092' },
  { name: 'topic', type: 'string', arg: 'TOPIC', help: 'topic to write (created with --partitions if missing)' },
  { name: 'group-by', type: 'string', arg: 'FILE', help: 'the GroupBy whose input to generate' },
  { name: 'count', type: 'number', arg: 'N', help: 'number of events', default: 100_000 },
  { name: 'seed', type: 'number', arg: 'S', help: 'random seed', default: 1 },
  { name: 'partitions', type: 'number', arg: 'P', help: 'topic partitions', default: 4 },
  { name: 'rate', type: 'number', arg: 'R', help: 'records per second at most (0 = as fast as possible)', default: 0 },
  { name: 'spread', type: 'boolean', help: 'spread records over partitions round-robin instead of keying them by entity (a topic that needs run --repartition)' },
  { name: 'format', type: 'string', arg: 'avro|json', help: 'record encoding', default: 'avro' },
  { name: 'malformed-fraction', type: 'number', arg: 'F', help: 'fraction of records replaced by garbage bytes', default: 0 },
  { name: 'keys', type: 'number', arg: 'N', help: 'distinct entity keys', default: 1000 },
  { name: 'key-type', type: 'string', arg: 'long|string', help: 'type of generated key values', default: 'long' },
  { name: 'zipf', type: 'number', arg: 'S', help: 'key skew (0 = uniform)', default: 0 },
  { name: 'span', type: 'number', arg: 'MS', help: 'event times span this far back from now (units allowed: 30d)', default: 30 * 86_400_000 },
  { name: 'disorder', type: 'number', arg: 'MS', help: 'event times jitter back by up to this much', default: 60_000 },
  { name: 'late', type: 'number', arg: 'F', help: 'fraction of very late events', default: 0 },
  { name: 'schema', type: 'string', arg: 'FILE', help: 'input Avro schema (default: derived from the GroupBy\'s selects)' },
  { name: 'schema-out', type: 'string', arg: 'FILE', help: 'write the Avro schema of the produced records here (give it to run --schema)' },
  { name: 'schema-registry', type: 'string', arg: 'URL', help: 'register the records\' schema in this Confluent-compatible registry and write the Confluent wire format (magic byte 0 + schema id)' },
  { name: 'schema-subject', type: 'string', arg: 'SUBJECT', help: 'registry subject to register under (default <topic>-value)' },
  { name: 'batch', type: 'number', arg: 'N', help: 'records per produce request', default: 5000 },
  { name: 'kafka-library', type: 'string', arg: 'kafkajs|platformatic', help: 'Kafka client library', default: 'kafkajs' },
  ...LOGGING
]

const FETCH: OptionSpec[] = [
  { name: 'group-by', type: 'string', arg: 'FILE', help: 'compiled Chronon GroupBy JSON' },
  { name: 'store', type: 'string', arg: 'SPEC', help: 'embedded:DIR or redis://HOST:PORT[/DB][?prefix=P]', default: 'embedded:.tilekiln/store' },
  { name: 'key', type: 'list', arg: 'COL=VALUE', help: 'a key column value (repeat for composite keys); COL alone asks for a null value' },
  { name: 'at', type: 'number', arg: 'MILLIS', help: 'query time (epoch ms); default now' },
  { name: 'flavour', type: 'string', arg: 'airbnb|zipline', help: 'which Chronon fork wrote the GroupBy' },
  { name: 'head-tile', type: 'string', arg: 'start|latest', help: 'which time of a tile decides whether a window takes it: its start (Zipline) or its latest event (airbnb); default: the GroupBy\'s flavour' },
  { name: 'json', type: 'boolean', help: 'print one JSON object: output column → value' },
  ...LOGGING
]

const SERVE: OptionSpec[] = [
  { name: 'group-by', type: 'list', arg: 'FILE', help: 'a GroupBy to serve (repeat for several)' },
  { name: 'store', type: 'string', arg: 'SPEC', help: 'embedded:DIR or redis://HOST:PORT[/DB][?prefix=P]', default: 'embedded:.tilekiln/store' },
  { name: 'port', type: 'number', arg: 'PORT', help: 'HTTP port', default: 8080 },
  { name: 'host', type: 'string', arg: 'HOST', help: 'address to listen on', default: '127.0.0.1' },
  { name: 'head-tile', type: 'string', arg: 'start|latest', help: 'which time of a tile decides whether a window takes it: its start (Zipline) or its latest event (airbnb); default: the GroupBy\'s flavour' },
  ...LOGGING
]

const DUMP: OptionSpec[] = [
  { name: 'store', type: 'string', arg: 'SPEC', help: 'embedded:DIR or redis://HOST:PORT[/DB][?prefix=P]', default: 'embedded:.tilekiln/store' },
  ...LOGGING
]

const USAGE = `tilekiln — Chronon GroupBy tiles from event streams, on Node.js

Commands:
  tilekiln run   --group-by FILE --source SPEC [--store SPEC] [--workers N] [--trigger always|buffered:MS] [--until-end] …
  tilekiln fetch --group-by FILE --key COL=VALUE [--key …] [--store SPEC] [--at MILLIS] [--json]
  tilekiln produce --brokers HOST:PORT --topic T --group-by FILE --count N [--partitions P] [--format avro|json] …
  tilekiln serve --group-by FILE [--group-by …] [--store SPEC] [--port 8080]   HTTP read API + /metrics
  tilekiln dump  [--store SPEC]          every key and value in the store, as sorted hex lines
  tilekiln help [COMMAND]                full option lists

Run 'tilekiln COMMAND --help' for every flag of a command.`

function loadPlan (path: unknown, flavour: unknown, sourceIndex?: unknown): Plan {
  if (typeof path !== 'string') throw new TilekilnError('TK_USAGE', '--group-by FILE is required')
  const json = readJsonFile(path, 'the GroupBy')
  return compilePlan(json, {
    flavour: flavour as 'airbnb' | 'zipline' | undefined,
    sourceIndex: sourceIndex as number | undefined,
    fallbackName: basename(path).replace(/\.json$/, '')
  })
}

/** A slot must hold one record and stay addressable by the u32 offsets of the ring (at most 1 GiB here). */
function ringSlotBytes (n: number): number {
  if (!Number.isSafeInteger(n) || n < 1024 || n > 1 << 30) throw new TilekilnError('TK_USAGE', `--ring-slot-bytes must be an integer from 1024 to ${1 << 30}, got ${n}`)
  return n
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

async function deadLetterSink (o: ParsedOptions, plan: Plan, explicitFile: boolean): Promise<DeadLetterSink> {
  const src = o.source as string
  if (!src.startsWith('kafka:') || explicitFile) return new FileDeadLetters(o['dead-letter'] as string)
  const { brokers, topic } = parseKafkaSpec(src, plan)
  const dlqTopic = (o['dead-letter-topic'] as string | undefined) ?? `${topic}.tilekiln-dlq`
  const client = await createKafkaClient({ library: o['kafka-library'] as 'kafkajs', brokers, clientId: `tilekiln-${plan.cleanName}-dlq` })
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
    const have = await admin.partitionCount(output)
    if (have !== partitions) {
      throw new TilekilnError('TK_SOURCE', `the repartitioned topic ${output} has ${have} partition(s) but ${topic} has ${partitions}: partition counts changed (that remaps keys); delete ${output} and the checkpoints to start over`, { topic: output })
    }
    return { input: topic, output, partitions, brokers }
  } finally {
    await admin.close()
  }
}

async function run (o: ParsedOptions, given: ReadonlySet<string>): Promise<number> {
  const plan = loadPlan(o['group-by'], o.flavour, o['source-index'])
  const untiled = o.untiled === true
  if (untiled && given.has('trigger')) throw new TilekilnError('TK_USAGE', '--trigger decides when tiles are written; an untiled run writes every event as it comes: drop one of --trigger and --untiled')
  if (typeof o.source !== 'string') throw new TilekilnError('TK_USAGE', '--source SPEC is required')
  const isKafka = o.source.startsWith('kafka:')
  const kafka: KafkaSpecOptions = {
    groupId: o['group-id'] as string | undefined,
    library: o['kafka-library'] as string,
    startFrom: o['start-from'] as string,
    // A registry means the Confluent wire format; an explicit --framing raw with it is refused in openSource.
    framing: o['schema-registry'] !== undefined && !given.has('framing') ? 'confluent' : o.framing as string,
    schemaRegistry: o['schema-registry'] as string | undefined,
    schemaSubject: o['schema-subject'] as string | undefined,
    untilEnd: o['until-end'] === true,
    ssl: o['kafka-ssl'] === true,
    saslMechanism: o['kafka-sasl-mechanism'] as string | undefined,
    saslUsername: o['kafka-sasl-username'] as string | undefined,
    saslPassword: o['kafka-sasl-password'] as string | undefined,
    sessionTimeoutMs: o['kafka-session-timeout'] as number,
    groupProtocol: o['kafka-group-protocol'] as string,
    instanceId: o['instance-id'] as string | undefined
  }
  const repartition = o.repartition === true
    ? await prepareRepartition(o.source, plan, kafka, o['repartition-replicas'] as number)
    : null
  const source = await openSource(repartition === null ? o.source : `kafka:${repartition.brokers.join(',')}/${repartition.output}`, plan, {
    schema: o.schema as string | undefined,
    format: o.format as string | undefined,
    fileWatermarks: o['file-watermarks'] as string | undefined,
    kafka: repartition === null ? kafka : { ...kafka, repartitioned: true, schemaSubject: kafka.schemaSubject ?? `${repartition.input}-value` }
  })
  const store = openStore(o.store as string)
  const deadLetters = await deadLetterSink(o, plan, given.has('dead-letter'))
  const cpFlag = o.checkpoints as string | undefined
  if (cpFlag !== undefined && cpFlag !== 'on' && cpFlag !== 'off') throw new TilekilnError('TK_USAGE', `--checkpoints must be on or off, not '${cpFlag}'`)
  const checkpoints = cpFlag === undefined ? isKafka : cpFlag === 'on'
  const screenOut = terminalLogs() ? process.stderr : null
  const progressMs = given.has('progress') ? o.progress as number : screenOut !== null ? 1000 : 30_000
  if (!Number.isFinite(progressMs) || progressMs < 0) throw new TilekilnError('TK_USAGE', `--progress must be 0 (off) or an interval in ms, not ${progressMs}`)
  const engine = new Engine({
    groupBy: plan.json,
    planOptions: { flavour: plan.flavour, sourceIndex: o['source-index'] as number | undefined, fallbackName: plan.name },
    source,
    store,
    deadLetters,
    workers: o.workers as number,
    trigger: parseTrigger(o.trigger as string),
    allowedLatenessMillis: o['allowed-lateness'] as number,
    outOfOrdernessMillis: o['out-of-orderness'] as number,
    writer: { maxInFlight: o['kv-inflight'] as number, timeoutMillis: o['kv-timeout'] as number, maxQueuedPuts: o['kv-queue'] as number },
    lingerMillis: o.linger as number,
    ring: { dataBytes: ringSlotBytes(o['ring-slot-bytes'] as number) },
    evaluator: o.evaluator as 'spark' | 'column-refs',
    untiled,
    ...(checkpoints ? { checkpoints: { intervalMillis: o['checkpoint-interval'] as number } } : {}),
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
      probe: createRecordProbe(engine.bound, source.format, 2, queryCompiler(o.evaluator as 'spark')),
      storage: storeCheckpoints(store, checkpointScope(plan.streamingDataset, `shuffle:${repartition.input}`), { log: getLogger() }),
      metrics: engine.metrics,
      sessionTimeoutMs: kafka.sessionTimeoutMs,
      checkpointIntervalMillis: o['checkpoint-interval'] as number,
      startFrom: kafka.startFrom as 'earliest',
      log: getLogger(),
      onFailure: e => {
        getLogger().error(`the shuffle stage failed, stopping: ${describeError(e)}`)
        engine.stop()
      }
    })
  const metricsPort = o['metrics-port'] as number
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
    const host = o['metrics-host'] as string
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
  const onSignal = (): void => {
    if (stopping) process.exit(130)
    stopping = true
    getLogger().info('stopping (flushing what is in flight; press Ctrl-C again to abort)…')
    engine.stop()
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
    if (o.json === true) {
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
    screen?.close()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await shuffle?.stop().catch(() => {})
    metricsHttp?.close()
    await deadLetters.close()
    await store.close()
  }
}

async function fetch (o: ParsedOptions): Promise<number> {
  const plan = loadPlan(o['group-by'], o.flavour)
  const store = openStore(o.store as string, { readOnly: true })
  try {
    const read = await loadReadSide(plan, store)
    // --key COL=VALUE, or --key COL alone for a null key value (Chronon tiles null keys)
    const given = new Map<string, string | null>()
    for (const kv of (o.key as string[] | undefined) ?? []) {
      const eq = kv.indexOf('=')
      if (eq === 0 || kv === '') throw new TilekilnError('TK_USAGE', `--key must be COL=VALUE (or COL for a null value), got '${kv}'`)
      if (eq < 0) given.set(kv, null)
      else given.set(kv.slice(0, eq), kv.slice(eq + 1))
    }
    const keyValues = plan.keyColumns.map(k => {
      const text = given.get(k)
      if (text === undefined) throw new TilekilnError('TK_USAGE', `missing --key ${k}=VALUE (key columns: ${plan.keyColumns.join(', ')})`)
      if (text === null) return null
      try {
        return read.keyCodec.parseText(k, text)
      } catch (e) {
        throw new TilekilnError('TK_USAGE', (e as Error).message)
      }
    })
    for (const k of given.keys()) if (!plan.keyColumns.includes(k)) throw new TilekilnError('TK_USAGE', `'${k}' is not a key column (key columns: ${plan.keyColumns.join(', ')})`)
    const at = (o.at as number | undefined) ?? Date.now()
    if (!Number.isSafeInteger(at)) throw new TilekilnError('TK_USAGE', `--at must be epoch milliseconds (an integer), got ${at}`)
    const result = await fetchFeatures(read, store, keyValues, at, { headTile: headTileOption(o) })
    if (o.json === true) {
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

async function produceCommand (o: ParsedOptions): Promise<number> {
  const plan = loadPlan(o['group-by'], undefined)
  if (typeof o.topic !== 'string') throw new TilekilnError('TK_USAGE', '--topic is required')
  const fmt = o.format as string
  if (fmt !== 'avro' && fmt !== 'json') throw new TilekilnError('TK_USAGE', '--format must be avro or json')
  const r = await produce({
    brokers: o.brokers as string,
    topic: o.topic,
    plan,
    count: o.count as number,
    seed: o.seed as number,
    partitions: o.partitions as number,
    format: fmt,
    malformedFraction: o['malformed-fraction'] as number,
    keys: o.keys as number,
    keyType: o['key-type'] === 'string' ? 'string' : 'long',
    keyed: o.spread !== true,
    rate: o.rate as number,
    zipf: o.zipf as number,
    spanMillis: o.span as number,
    disorderMillis: o.disorder as number,
    lateFraction: o.late as number,
    schema: o.schema === undefined ? undefined : readJsonFile(o.schema as string, 'the schema file'),
    schemaOut: o['schema-out'] as string | undefined,
    schemaRegistry: o['schema-registry'] as string | undefined,
    schemaSubject: o['schema-subject'] as string | undefined,
    library: o['kafka-library'] as 'kafkajs',
    batch: o.batch as number
  })
  process.stdout.write(JSON.stringify(r) + '\n')
  getLogger().info(`produced ${fmt0(r.records)} records (${fmt0(r.malformed)} malformed)${r.schemaId === undefined ? '' : ` with schema id ${r.schemaId}`} to ${o.topic} in ${r.seconds.toFixed(1)} s (${fmt0(r.recordsPerSecond)} rec/s)`)
  return 0
}

const fmt0 = (n: number): string => Math.round(n).toLocaleString('en-US')

/** --head-tile start|latest, or undefined (the GroupBy's flavour decides). */
function headTileOption (o: ParsedOptions): HeadTileRule | undefined {
  const v = o['head-tile']
  if (v === undefined) return undefined
  if (v !== 'start' && v !== 'latest') throw new TilekilnError('TK_USAGE', `--head-tile must be start or latest, got '${String(v)}'`)
  return v
}

async function serve (o: ParsedOptions): Promise<number> {
  const files = (o['group-by'] as string[] | undefined) ?? []
  if (files.length === 0) throw new TilekilnError('TK_USAGE', '--group-by FILE is required (repeat it to serve several)')
  const store = openStore(o.store as string, { readOnly: true })
  const served = new Map<string, Served>()
  for (const f of files) {
    const plan = loadPlan(f, undefined)
    served.set(plan.name, { read: await loadReadSide(plan, store), store, headTile: headTileOption(o) })
  }
  const metrics = new Metrics('serve')
  metrics.includeProcessMetrics()
  const feed = new FetchStats(metrics, `${[...served.keys()].join(', ')} from ${store.description}`)
  const server = featureServer(served, metrics, { status: feed })
  const port = await listen(server, o.port as number, o.host as string)
  getLogger().info({ port }, `serving ${[...served.keys()].join(', ')} from ${store.description} on http://${o.host as string}:${port} (status page at /, GET /v1/features/<groupBy>?<key>=<value>[&at=<ms>], /metrics)`)
  await new Promise<void>(resolve => {
    const stop = (): void => { server.close(() => resolve()) }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  feed.close()
  await store.close()
  return 0
}

async function dump (o: ParsedOptions): Promise<number> {
  const store = openStore(o.store as string, { readOnly: true })
  try {
    // Sorted in bounded memory (an external merge sort through temp files for large stores).
    await writeSortedDump(store, process.stdout)
    return 0
  } finally {
    await store.close()
  }
}

const COMMANDS: Record<string, { summary: string, specs: OptionSpec[], fn: (o: ParsedOptions, given: ReadonlySet<string>) => Promise<number> }> = {
  run: { summary: 'consume a source and keep the GroupBy\'s tiles fresh in the store', specs: RUN, fn: run },
  produce: { summary: 'write generated GroupBy-shaped events to a Kafka topic (a load generator)', specs: PRODUCE, fn: produceCommand },
  fetch: { summary: 'read a key\'s windowed feature values from the tiles', specs: FETCH, fn: fetch },
  serve: { summary: 'HTTP read API for feature values, and Prometheus metrics', specs: SERVE, fn: serve },
  dump: { summary: 'print every key and value in the store as sorted hex lines', specs: DUMP, fn: dump }
}

/** Own entries only: `tilekiln constructor` is not Object.prototype.constructor. */
function commandNamed (name: string): (typeof COMMANDS)[string] | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined
}

export async function main (argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv
  if (cmd === undefined || cmd === '--help' || cmd === '-h') { process.stdout.write(USAGE + '\n'); return cmd === undefined ? 1 : 0 }
  if (cmd === 'help') {
    const c = rest[0] === undefined ? undefined : commandNamed(rest[0])
    if (c === undefined) {
      process.stdout.write(USAGE + '\n\n' + Object.entries(COMMANDS).map(([n, x]) => helpText(n, x.summary, x.specs)).join('\n\n') + '\n')
    } else {
      process.stdout.write(helpText(rest[0]!, c.summary, c.specs) + '\n')
    }
    return 0
  }
  const command = commandNamed(cmd)
  if (command === undefined) { getLogger().error(`unknown command '${cmd}' (the commands: ${Object.keys(COMMANDS).join(', ')}; tilekiln help)`); return 2 }
  if (rest.includes('--help') || rest.includes('-h')) { process.stdout.write(helpText(cmd, command.summary, command.specs) + '\n'); return 0 }
  try {
    const { options, given } = parseOptions(rest, command.specs, cmd)
    configureLogging({ level: logLevel(options['log-level']), format: logFormat(options['log-format']) })
    return await command.fn(options, given)
  } catch (e) {
    const tag = isTilekilnError(e) ? ` [${e.code}]` : ''
    const debug = !isTilekilnError(e) && process.env.TILEKILN_DEBUG !== undefined
    getLogger().error({ code: isTilekilnError(e) ? e.code : undefined, ...(debug ? { err: e } : {}) }, `tilekiln ${cmd}: ${describeError(e)}${tag}`)
    return isTilekilnError(e) && e.code === 'TK_USAGE' ? 2 : 1
  }
}

function logLevel (v: unknown): LogLevel {
  if (typeof v === 'string' && (LOG_LEVELS as readonly string[]).includes(v)) return v as LogLevel
  throw new TilekilnError('TK_USAGE', `--log-level must be one of ${LOG_LEVELS.join(', ')}, not '${String(v)}'`)
}

function logFormat (v: unknown): 'auto' | 'json' | 'pretty' {
  if (v === 'auto' || v === 'json' || v === 'pretty') return v
  throw new TilekilnError('TK_USAGE', `--log-format must be auto, json or pretty, not '${String(v)}'`)
}
