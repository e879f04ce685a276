// A real Apache Kafka broker for tests, benchmarks and local use: Kafka 4.x jars from Maven Central (fetched once into
// a cache outside the repository), run as one KRaft process that is both broker and controller, on 127.0.0.1.
//
//   const kafka = await startKafka()        // ephemeral ports, temp dir, killed on stop() and on process exit
//   await createTopic(kafka.brokers, 'events', 4)
//   …
//   await kafka.stop()
//
// `npm run kafka:start` uses the same code with `detached: true` and a data dir under .kafka/.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import kafkajs from 'kafkajs'
import { freePort, ownChild, rememberStart, sleep, tailFile, terminate } from './process.ts'

const { Kafka, logLevel } = kafkajs

export const DEFAULT_KAFKA_VERSION = '4.1.1'

export interface StartKafkaOptions {
  /** Kafka release from Maven Central (`org.apache.kafka:kafka_2.13`). Default 4.1.1, or $TILEKILN_KAFKA_VERSION. */
  version?: string
  /** Client port; 0 or absent picks a free one. */
  port?: number
  /** Where config, log and data live. Absent: a fresh temp dir, deleted by a clean stop(). */
  dir?: string
  /** Java heap, MiB. Default 512. */
  heapMb?: number
  /** Run on after this process exits (for `npm run kafka:start`): no exit hook, no watchdog. */
  detached?: boolean
  /** Milliseconds to wait for the broker to serve metadata. Default 60 s. */
  startTimeoutMs?: number
  /** Extra or overriding server.properties entries. */
  config?: Record<string, string | number | boolean>
  /** Progress messages (download, start). Default: stderr. */
  log?: (msg: string) => void
}

export interface KafkaService {
  /** `127.0.0.1:PORT`, what clients take as their bootstrap list. */
  brokers: string
  port: number
  pid: number
  dir: string
  logFile: string
  stop: () => Promise<void>
}

function cacheRoot (): string {
  return process.env.TILEKILN_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tilekiln')
}

/**
 * The jar directory of a Kafka release, downloading it with Maven on first use. The download goes to a private temp
 * dir renamed into place at the end, so concurrent first uses (a test run and a bench) never see half a directory.
 */
export function ensureKafkaJars (version = DEFAULT_KAFKA_VERSION, log: (msg: string) => void = defaultLog): string {
  const home = join(cacheRoot(), `kafka-${version}`)
  const libs = join(home, 'libs')
  if (existsSync(join(home, '.complete'))) return libs
  mkdirSync(cacheRoot(), { recursive: true })
  const work = mkdtempSync(join(cacheRoot(), `.kafka-${version}-`))
  try {
    // log4j-slf4j-impl binds Kafka's slf4j 1.7 API to the log4j2 that kafka_2.13 already depends on; without it the
    // broker logs nothing and a failed start cannot be diagnosed.
    writeFileSync(join(work, 'pom.xml'), `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>tilekiln.test</groupId><artifactId>kafka-runtime</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${version}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
`)
    log(`tilekiln: fetching Apache Kafka ${version} from Maven Central into ${home} (once)…`)
    const t0 = Date.now()
    const r = spawnSync('mvn', ['-B', '-q', '-f', join(work, 'pom.xml'), 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${join(work, 'libs')}`], { encoding: 'utf8', maxBuffer: 64 << 20 })
    if (r.error !== undefined || r.status !== 0) {
      const why = r.error !== undefined ? r.error.message : `exit ${String(r.status)}`
      throw new Error(`could not fetch Kafka ${version} with Maven (${why}); is Maven installed (mvn)?\n${(r.stdout ?? '') + (r.stderr ?? '')}`.trimEnd())
    }
    const jars = readdirSync(join(work, 'libs')).filter(f => f.endsWith('.jar'))
    if (!jars.some(f => f.startsWith(`kafka_2.13-${version}`))) throw new Error(`Maven fetched no kafka_2.13-${version}.jar into ${work}`)
    writeFileSync(join(work, '.complete'), jars.sort().join('\n') + '\n')
    try {
      renameSync(work, home)
    } catch (e) {
      // Another process finished first; its copy is as good as ours.
      if (!existsSync(join(home, '.complete'))) throw e
    }
    log(`tilekiln: Kafka ${version} fetched in ${((Date.now() - t0) / 1000).toFixed(1)} s (${jars.length} jars)`)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  return libs
}

function defaultLog (msg: string): void { process.stderr.write(msg + '\n') }

function javaBin (): string {
  return process.env.JAVA_HOME !== undefined ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java'
}

const LOG4J2 = `status = error
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
`

function serverProperties (port: number, controllerPort: number, dataDir: string, extra: Record<string, string | number | boolean>): string {
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': dataDir,
    'num.partitions': 1,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    // Internal topics sized for one broker; one offsets partition keeps the first group join fast.
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    // Keep every record: the tests produce events of 2023 with their event time as the record's timestamp, which the
    // default 7-day retention deletes at its next check (every 5 minutes): a test's topic then lost its first batches
    // mid-test (seen: a consumer starting at offset 6,667 of 20,000, the earliest offset the broker still had).
    'log.retention.ms': -1,
    // The consumer group protocol (KIP-848) takes session timeout and heartbeat interval from the broker, with floors of
    // 45 s and 5 s: the tests' groups run with the 10 s session tilekiln's classic members use, and 1 s heartbeats
    // (an assignment change reaches a member with its next heartbeat).
    'group.consumer.min.session.timeout.ms': 6000,
    'group.consumer.session.timeout.ms': 10_000,
    'group.consumer.min.heartbeat.interval.ms': 500,
    'group.consumer.heartbeat.interval.ms': 1000,
    // Two cores shared with the clients under test: fewer threads than the server defaults (3 network, 8 io).
    'num.network.threads': 2,
    'num.io.threads': 4,
    ...extra
  }
  return Object.entries(props).map(([k, v]) => `${k}=${String(v)}`).join('\n') + '\n'
}

class KafkaStartError extends Error {}

/**
 * A KRaft cluster id: 16 random bytes in base64url (22 characters), as `kafka-storage random-uuid` prints. The top bit
 * of the first byte is cleared so the id never starts with '-' (base64url index 62): the storage tool's argument
 * parser would take such an id for an option (`argument --cluster-id/-t: expected one argument`, once in 64 starts).
 * Kafka's own Uuid.randomUuid() rejects ids starting with '-' for the same reason.
 */
export function kraftClusterId (bytes: Buffer = randomBytes(16)): string {
  const b = Buffer.from(bytes)
  b[0] = b[0]! & 0x7f
  return b.toString('base64url')
}

/** Starts a broker and resolves once it serves metadata (so topics can be created and clients connect at once). */
export async function startKafka (opts: StartKafkaOptions = {}): Promise<KafkaService> {
  const version = opts.version ?? process.env.TILEKILN_KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION
  const log = opts.log ?? defaultLog
  const libs = ensureKafkaJars(version, log)
  const temp = opts.dir === undefined
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tilekiln-kafka-'))
  mkdirSync(dir, { recursive: true })
  // An ephemeral port can be taken between our probe and the JVM's bind; that shows up as an early exit, so retry.
  const attempts = opts.port !== undefined && opts.port !== 0 ? 1 : 3
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(version, libs, dir, temp, opts, log)
    } catch (e) {
      if (!(e instanceof KafkaStartError) || attempt >= attempts || !/Address already in use|BindException/.test(e.message)) {
        throw e
      }
      log(`tilekiln: Kafka lost a port race, retrying (${e.message.split('\n')[0] ?? ''})`)
    }
  }
}

async function startOnce (version: string, libs: string, dir: string, temp: boolean, opts: StartKafkaOptions, log: (msg: string) => void): Promise<KafkaService> {
  const port = opts.port !== undefined && opts.port !== 0 ? opts.port : await freePort()
  let controllerPort = await freePort()
  while (controllerPort === port) controllerPort = await freePort()
  const dataDir = join(dir, 'data')
  const logFile = join(dir, 'server.log')
  const propsFile = join(dir, 'server.properties')
  const log4jFile = join(dir, 'log4j2.properties')
  writeFileSync(propsFile, serverProperties(port, controllerPort, dataDir, opts.config ?? {}))
  writeFileSync(log4jFile, LOG4J2)
  const classpath = join(libs, '*')
  const common = [`-Dlog4j2.configurationFile=${log4jFile}`, `-Dkafka.logs.dir=${dir}`, '-Djava.awt.headless=true', '-cp', classpath]

  // A data dir is formatted once (meta.properties present = formatted); a kept .kafka/ dir restarts with its topics.
  if (!existsSync(join(dataDir, 'meta.properties'))) {
    const clusterId = kraftClusterId()
    // The format step is a short-lived JVM: C1 only and the serial collector start it noticeably faster.
    const f = spawnSync(javaBin(), ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', ...common,
      'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', propsFile], { encoding: 'utf8', maxBuffer: 64 << 20 })
    if (f.error !== undefined || f.status !== 0) {
      writeFileSync(join(dir, 'format.log'), (f.stdout ?? '') + (f.stderr ?? ''))
      const why = f.error !== undefined ? f.error.message : `exit ${String(f.status)}`
      throw new Error(`kafka-storage format failed (${why}); is Java 17+ installed? Log: ${join(dir, 'format.log')}\n${tailFile(join(dir, 'format.log'))}`)
    }
  }

  const heap = opts.heapMb ?? 512
  const out = openSync(logFile, 'a')
  let child: ChildProcess
  try {
    child = spawn(javaBin(), [
      `-Xms${Math.min(heap, 256)}m`, `-Xmx${heap}m`, '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20',
      '-XX:+ExitOnOutOfMemoryError', ...common, 'kafka.Kafka', propsFile
    ], { detached: opts.detached === true, stdio: ['ignore', out, out] })
  } finally {
    closeSync(out)
  }
  const pid = child.pid
  if (pid === undefined) throw new Error(`could not start java (${javaBin()}); is Java 17+ installed?`)
  const state: { exited: string | null } = { exited: null }
  child.once('exit', (code, sig) => { state.exited = sig !== null ? `signal ${sig}` : `exit code ${String(code)}` })
  child.once('error', e => { state.exited = e.message })
  if (opts.detached === true) {
    child.unref()
    rememberStart(pid)
  } else {
    ownChild(child)
  }

  const brokers = `127.0.0.1:${port}`
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000)
  const t0 = Date.now()
  try {
    for (;;) {
      if (state.exited !== null) throw new KafkaStartError(`Kafka exited during start-up (${state.exited}); its log is ${logFile}:\n${tailFile(logFile)}`)
      if (Date.now() > deadline) throw new KafkaStartError(`Kafka did not serve metadata on ${brokers} within ${opts.startTimeoutMs ?? 60_000} ms; its log is ${logFile}:\n${tailFile(logFile)}`)
      if (await servesMetadata(brokers)) break
      await sleep(100)
    }
  } catch (e) {
    await terminate(pid, 2000)
    throw e
  }
  log(`tilekiln: Kafka ${version} ready on ${brokers} in ${((Date.now() - t0) / 1000).toFixed(1)} s (pid ${pid}, log ${logFile})`)

  let stopped: Promise<void> | null = null
  const stop = async (): Promise<void> => {
    stopped ??= (async () => {
      // A temp broker's data is thrown away, so there is nothing to shut down cleanly for; a kept one gets time to
      // close its logs so the next start skips log recovery.
      await terminate(pid, temp ? 3000 : 30_000)
      if (temp) rmSync(dir, { recursive: true, force: true })
    })()
    await stopped
  }
  return { brokers, port, pid, dir, logFile, stop }
}

/** True once the broker answers a metadata request listing itself (it is registered and unfenced). */
async function servesMetadata (brokers: string): Promise<boolean> {
  const admin = new Kafka({ brokers: [brokers], clientId: 'tilekiln-probe', logLevel: logLevel.NOTHING, connectionTimeout: 1000, requestTimeout: 2000, retry: { retries: 0 } }).admin()
  try {
    await admin.connect()
    const cluster = await admin.describeCluster()
    return cluster.brokers.length > 0
  } catch {
    return false
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

/** Creates a topic (replication 1) and waits for its partition leaders. An existing topic is left as it is. */
export async function createTopic (brokers: string, name: string, partitions: number, config: Record<string, string> = {}): Promise<void> {
  const admin = new Kafka({ brokers: [brokers], clientId: 'tilekiln-test-admin', logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: name, numPartitions: partitions, replicationFactor: 1, configEntries: Object.entries(config).map(([n, v]) => ({ name: n, value: v })) }]
    })
  } finally {
    await admin.disconnect()
  }
}

