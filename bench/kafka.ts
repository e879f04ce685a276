// The daemon consuming from a real Kafka broker on this machine (the broker shares the two cores — every number
// here includes its CPU): produce N events of the bundled GroupBy to a 4-partition topic first, then time the
// engine consuming them into the embedded LMDB store, once per Kafka client library. The producer and each
// library's engine run in processes of their own, so that each engine's CPU and memory are its own. Prints events/s,
// consumer lag over time and event-to-store latency, and writes bench/results/kafka.json.
//
//   npm run bench:kafka                         1,000,000 events, 100,000 keys, 2 workers
//   npm run bench:kafka -- --events 2000000 --workers 1 --brokers 127.0.0.1:9092 --only kafkajs
//   npm run bench:kafka -- --rollups none          the GroupBy's own tiles only (the daemon's default also writes
//                                                  rolled-up 1 h and 1 d tiles for this GroupBy's 1 d and 7 d windows)
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { heapFlags } from '../src/cli/heap-flags.ts'
import { produce, type ProduceOptions, type ProduceSummary } from '../src/cli/produce.ts'
import { asStruct, fromAvroSchema } from '../src/codec/input-schema.ts'
import { compilePlan } from '../src/config/plan.ts'
import { MemoryDeadLetters } from '../src/engine/dead-letter.ts'
import { Engine, type Progress } from '../src/engine/engine.ts'
import { EmbeddedStore } from '../src/sink/embedded-store.ts'
import { openKafkaSource } from '../src/source/kafka.ts'
import type { KafkaLibrary } from '../src/kafka/types.ts'
import { startKafka } from '../test/services/kafka.ts'
import { printTable, writeResults } from './report.ts'

const GROUP_BY = fileURLToPath(new URL('../../examples/group_bys/clicks.v1.json', import.meta.url))

function arg (name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1]! : dflt
}

const groupBy = JSON.parse(readFileSync(GROUP_BY, 'utf8'))
const plan = compilePlan(groupBy)

// The producer's own process (see below): produce, print the summary, exit.
if (process.argv.includes('--produce-only')) {
  const o = JSON.parse(arg('produce-only', '{}')) as Omit<ProduceOptions, 'plan'>
  const summary = await produce({ ...o, plan })
  process.stdout.write(JSON.stringify({ ...summary, peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) }) + '\n')
  process.exit(0)
}

const events = Number(arg('events', '1000000'))
const workers = Number(arg('workers', '2'))
const keys = Number(arg('keys', '100000'))
const storeSync = arg('store-sync', 'commit') as 'commit' | 'checkpoint'
const rollups = arg('rollups', 'auto')
if (rollups !== 'auto' && rollups !== 'none') throw new Error(`--rollups must be auto or none, got ${rollups}`)
/** Most records a worker batch grows to (0: the engine's default). */
const batchMax = Number(arg('batch-max', '0'))

/** What a consuming process is told: one library's run over the produced topic. */
interface Consume { library: KafkaLibrary, brokers: string, topic: string, schemaFile: string, dir: string, brokerPid: number | null }
type Row = Record<string, string | number>

/** A process's CPU seconds so far (Linux /proc; 0 when it is gone or /proc is missing). */
function cpuSecondsOf (pid: number | null): number {
  if (pid === null) return 0
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100 // utime + stime, in clock ticks of 1/100 s (USER_HZ)
  } catch {
    return 0
  }
}

/** The engine consuming the topic with one client library, in this process; its row and its lag over time. */
async function consume (c: Consume): Promise<{ row: Row, lag: [number, number][] }> {
  const avroSchema = JSON.parse(readFileSync(c.schemaFile, 'utf8'))
  const store = new EmbeddedStore(join(c.dir, 'store'), { sync: storeSync })
  const source = await openKafkaSource({
    client: { library: c.library, brokers: c.brokers, clientId: 'tilekiln-bench' },
    topic: c.topic,
    groupId: `bench-${c.library}-${Date.now()}`,
    format: { kind: 'avro', schema: asStruct(fromAvroSchema(avroSchema), 'schema'), avroSchema, framing: 'raw' },
    untilEnd: true,
    startFrom: 'earliest',
    sessionTimeoutMs: 10_000
  })
  // The first progress sample with tiles written: from there on the rate is the sustained one (before it, the
  // consumer joins its group — about a second — and the pipeline fills).
  let steadyFrom: [number, number] | null = null
  const lag: [number, number][] = []
  const engine = new Engine({
    groupBy,
    source,
    store,
    deadLetters: new MemoryDeadLetters(),
    workers,
    // null: the engine's default for this GroupBy (as the daemon's --rollups auto); []: none.
    rollups: rollups === 'auto' ? null : [],
    ...(batchMax > 0 ? { batch: { maxRecords: batchMax } } : {}),
    progressMillis: 500,
    onProgress: (p: Progress) => {
      const written = p.records - p.lagRecords
      if (steadyFrom === null && written > 0) steadyFrom = [p.elapsedMillis, written]
      lag.push([Math.round(p.elapsedMillis), events - written])
    },
    log: () => {}
  })
  // CPU seconds of this process (engine, workers, client, LMDB threads) and of the broker while the engine runs:
  // on 2 shared cores, where the rate goes is their sum per event.
  const cpuBefore = process.cpuUsage()
  const brokerBefore = cpuSecondsOf(c.brokerPid)
  // Resident memory while the engine runs, sampled every 50 ms (this process holds nothing else).
  let peakRss = process.memoryUsage.rss()
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()) }, 50)
  const r = await engine.run().finally(() => clearInterval(sampler))
  const cpu = process.cpuUsage(cpuBefore)
  const brokerCpu = cpuSecondsOf(c.brokerPid) - brokerBefore
  await store.close()
  if (r.records !== events) throw new Error(`${c.library}: consumed ${r.records} of ${events} events`)
  const seconds = r.elapsedMillis / 1000
  const row: Row = {
    library: c.library,
    workers,
    rollups,
    events: r.records,
    seconds: Number(seconds.toFixed(2)),
    'events/s': Math.round(r.records / seconds),
    'sustained events/s': steadyFrom === null ? '—' : Math.round((r.records - steadyFrom[1]) / ((r.elapsedMillis - steadyFrom[0]) / 1000)),
    'tile writes': r.tilesWritten,
    'p50 ms': r.latency.p50,
    'p99 ms': r.latency.p99,
    'p999 ms': r.latency.p999,
    'engine CPU s/1M': Number(((cpu.user + cpu.system) / 1e6 / (r.records / 1e6)).toFixed(2)),
    'broker CPU s/1M': c.brokerPid === null ? '—' : Number((brokerCpu / (r.records / 1e6)).toFixed(2)),
    'peak RSS MB': Math.round(peakRss / 1048576),
    'process peak RSS MB': Math.round(process.resourceUsage().maxRSS / 1024)
  }
  return { row, lag }
}

// A consuming process (see below): one library's run, its result on stdout.
if (process.argv.includes('--consume-only')) {
  process.stdout.write(JSON.stringify(await consume(JSON.parse(arg('consume-only', '{}')) as Consume)) + '\n')
  process.exit(0)
}

/** Runs this script in a child process with `args`; its last stdout line, parsed. */
function child<T> (args: string[]): T {
  const out = execFileSync(process.execPath, [...heapFlags([]), fileURLToPath(import.meta.url), ...args], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 600_000, maxBuffer: 16 << 20
  })
  return JSON.parse(out.trim().split('\n').at(-1)!) as T
}

const work = mkdtempSync(join(tmpdir(), 'tilekiln-bench-kafka-'))
const external = process.argv.includes('--brokers')
const broker = external ? null : await startKafka({ log: m => process.stderr.write(m + '\n') })
const brokers = external ? arg('brokers', '127.0.0.1:9092') : broker!.brokers

try {
  const topic = `bench-clicks-${Date.now()}`
  const schemaFile = join(work, 'schema.avsc')
  process.stderr.write(`producing ${events.toLocaleString('en-US')} events to ${topic} on ${brokers}…\n`)
  // The producer and each library's engine run in processes of their own, so that the engine's memory is its own:
  // what a producer or an earlier run leaves behind (client buffers, heap a process keeps) does not count.
  const options: Omit<ProduceOptions, 'plan'> = {
    brokers, topic, count: events, seed: 3, partitions: 4, format: 'avro', malformedFraction: 0, keys, zipf: 0,
    spanMillis: 3_600_000, disorderMillis: 10_000, lateFraction: 0, schemaOut: schemaFile, library: 'kafkajs', batch: 10_000,
    keyType: 'long'
  }
  const produced = child<ProduceSummary & { peakRssMB: number }>(['--produce-only', JSON.stringify(options)])
  process.stderr.write(`produced in ${produced.seconds.toFixed(1)} s (${Math.round(produced.recordsPerSecond).toLocaleString('en-US')} rec/s), producer's peak RSS ${produced.peakRssMB} MB\n`)
  const rows: Row[] = []
  const lagSeries: Record<string, [number, number][]> = {}
  const only = arg('only', '')
  // This run's options, for each consuming process (which library it runs is its own).
  const forwarded = process.argv.slice(2).filter((a, i, all) => a !== '--only' && all[i - 1] !== '--only')
  for (const library of (['kafkajs', 'platformatic'] as KafkaLibrary[]).filter(l => only === '' || l === only)) {
    const dir = mkdtempSync(join(work, `${library}-`))
    const started = Date.now()
    const c: Consume = { library, brokers, topic, schemaFile, dir, brokerPid: broker?.pid ?? null }
    const { row, lag } = child<{ row: Row, lag: [number, number][] }>([...forwarded, '--consume-only', JSON.stringify(c)])
    rows.push(row)
    lagSeries[library] = lag
    process.stderr.write(`  ${library}: ${JSON.stringify(row)} (wall ${((Date.now() - started) / 1000).toFixed(1)} s)\n`)
    rmSync(dir, { recursive: true, force: true })
  }
  printTable(`tilekiln from Kafka (${events.toLocaleString('en-US')} Avro events, 4 partitions, ${keys.toLocaleString('en-US')} keys, ${plan.name}) → embedded LMDB; broker on the same 2 cores`, rows)
  process.stdout.write('\nconsumer lag (records not yet written to the store) every 0.5 s:\n')
  for (const [lib, series] of Object.entries(lagSeries)) {
    process.stdout.write(`  ${lib.padEnd(12)} ${series.map(([t, l]) => `${(t / 1000).toFixed(1)}s:${Math.round(l / 1000)}k`).join(' ')}\n`)
  }
  process.stdout.write(`\nwritten ${writeResults('kafka', { rows, lag: lagSeries, produced })}\n`)
} finally {
  await broker?.stop()
  rmSync(work, { recursive: true, force: true })
}
