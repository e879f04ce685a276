// Several daemons sharing one topic (issue 8), on a 12-partition topic with a real broker and a real Redis on this
// machine (everything on the same cores). For 1, 2 and 3 daemons in one consumer group:
//
//   throughput      a backlog of --events, consumed by the daemons started together: events ÷ (start → every
//                   partition's checkpointed offset at the topic's end), group join included
//   hand-over       a live stream (--rate events/s for --seconds): after a quarter of it one more daemon joins (the
//                   group moves partitions to it), after half of it that daemon leaves (they move back), after three
//                   quarters one of the original daemons is SIGKILLed and started again (its partitions move once its
//                   session expires, and again when it is back). Per moved partition: the revocation (or, for a
//                   killed owner, the assignment to the next one) → the new owner's first tiles written, p50/p99
//                   (from the daemons' own log lines, which carry wall-clock times: one machine, one clock); and the
//                   checkpoint bytes each new owner restored
//
// On two cores more daemons cannot add throughput (they share the cores); the figure that matters here is the pause.
//
//   npm run bench:scale                                  600,000 events backlog; 8,000 events/s for 40 s live; kafkajs
//   npm run bench:scale -- --kafka-library kafkajs  (eager rebalancing: every partition pauses; default platformatic)
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as hdr from 'hdr-histogram-js'
import { produce } from '../src/cli/produce.ts'
import { compilePlan } from '../src/config/plan.ts'
import { createKafkaClient } from '../src/kafka/client.ts'
import type { KafkaLibrary } from '../src/kafka/types.ts'
import { startKafka } from '../test/services/kafka.ts'
import { startRedis } from '../test/services/redis.ts'
import { positiveArg, printTable, writeResults } from './report.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const GROUP_BY = join(ROOT, 'examples', 'group_bys', 'clicks.v1.json')
const arg = (name: string, dflt: string): string => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1]! : dflt }
const events = positiveArg('events', 600_000)
const keys = positiveArg('keys', 20_000)
const library = arg('kafka-library', 'platformatic') as KafkaLibrary
const PARTITIONS = 12
const plan = compilePlan(JSON.parse(readFileSync(GROUP_BY, 'utf8')))
const work = mkdtempSync(join(tmpdir(), 'tilekiln-bench-scale-'))
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

interface Daemon { readonly child: ChildProcess, readonly log: string[], readonly done: Promise<number> }

function daemon (args: string[]): Daemon {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'tilekiln.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
  const log: string[] = []
  let rest = ''
  child.stderr!.on('data', d => {
    const lines = (rest + String(d)).split('\n')
    rest = lines.pop()!
    log.push(...lines)
  })
  const timer = setTimeout(() => child.kill('SIGKILL'), 600_000)
  return { child, log, done: new Promise(resolve => child.on('exit', code => { clearTimeout(timer); resolve(code ?? 1) })) }
}

const rate = positiveArg('rate', 8000)
const liveSeconds = positiveArg('seconds', 40)

interface Pauses {
  moves: number, p50: number | string, p99: number | string, max: number | string, restoredMean: number | string
  /** The new owner's part of the pause: its assignment → its first tiles written (restore, first fetch, first write). */
  ownerP50: number | string, ownerP99: number | string
}

/** Pauses and restored bytes from the daemons' log lines. */
function pausesOf (logs: readonly string[]): Pauses {
  const ends: [number, number][] = [] // [partition, time its previous owner let go (revoked) or it was assigned]
  const firsts: [number, number, number][] = [] // [partition, time, ms since its assignment]
  const bytes: number[] = []
  for (const l of logs) {
    let m = /partition\(s\) ([\d, ]+) revoked by the group \(at ([^)]+)\)/.exec(l)
    if (m !== null) for (const p of m[1]!.split(',').map(Number)) ends.push([p, Date.parse(m[2]!)])
    m = /partition (\d+): tiles of its first records written (\d+) ms after it was assigned \(at ([^)]+)\)/.exec(l)
    if (m !== null) firsts.push([Number(m[1]), Date.parse(m[3]!), Number(m[2])])
    m = /partition \d+: took over at .*?, (\d+) bytes; restored/.exec(l)
    if (m !== null) bytes.push(Number(m[1]))
  }
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 })
  const owner = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 })
  for (const [, , sinceAssigned] of firsts) owner.recordValue(Math.max(1, sinceAssigned))
  const used = new Set<number>()
  for (const [p, at] of ends) {
    // The first write of this partition after the revocation, by whichever daemon got it next.
    let best = -1
    firsts.forEach(([q, t], i) => { if (q === p && t >= at && !used.has(i) && (best < 0 || t < firsts[best]![1])) best = i })
    if (best < 0) continue
    used.add(best)
    h.recordValue(Math.max(1, firsts[best]![1] - at))
  }
  // A killed owner never logs a revocation: its partitions' pause is counted from their assignment to the next owner.
  firsts.forEach(([, , sinceAssigned], i) => { if (!used.has(i)) h.recordValue(Math.max(1, sinceAssigned)) })
  return {
    moves: h.totalCount,
    p50: h.totalCount === 0 ? '—' : h.getValueAtPercentile(50),
    p99: h.totalCount === 0 ? '—' : h.getValueAtPercentile(99),
    max: h.totalCount === 0 ? '—' : h.maxValue,
    restoredMean: bytes.length === 0 ? '—' : Math.round(bytes.reduce((a, b) => a + b, 0) / bytes.length),
    ownerP50: owner.totalCount === 0 ? '—' : owner.getValueAtPercentile(50),
    ownerP99: owner.totalCount === 0 ? '—' : owner.getValueAtPercentile(99)
  }
}

const kafka = await startKafka({ log: m => process.stderr.write(m + '\n') })
const redis = await startRedis()
try {
  const client = await createKafkaClient({ brokers: kafka.brokers, library: 'kafkajs' })
  const topic = `scale-${Date.now()}`
  const schemaFile = join(work, 'schema.avsc')
  process.stderr.write(`producing ${events.toLocaleString('en-US')} events to ${topic} (${PARTITIONS} partitions)…\n`)
  await produce({
    brokers: kafka.brokers, topic, plan, count: events, seed: 5, partitions: PARTITIONS, format: 'avro', malformedFraction: 0, keys, zipf: 0,
    spanMillis: 3_600_000, disorderMillis: 10_000, lateFraction: 0, schemaOut: schemaFile, library: 'kafkajs', batch: 10_000, keyType: 'long'
  })
  const admin = await client.admin()
  const ends = await admin.endOffsets(topic)
  const total = [...ends.values()].reduce((a, b) => a + b, 0)
  const rows: Record<string, string | number>[] = []
  const results: unknown[] = []
  const argsFor = (t: string, group: string, prefix: string): string[] => ['run', '--group-by', GROUP_BY, '--source', `kafka:${kafka.brokers}/${t}`, '--schema', schemaFile,
    '--store', `${redis.url}/0?prefix=${prefix}`, '--group-id', group, '--workers', '1', '--checkpoint-interval', '1000',
    '--kafka-session-timeout', '6000', '--kafka-library', library, '--progress', '0', '--dead-letter', join(work, `${prefix}.dlq.jsonl`)]
  const caughtUp = async (group: string, t: string, want: ReadonlyMap<number, number>): Promise<boolean> => {
    const committed = await admin.committedOffsets(group, t)
    return [...want].every(([p, end]) => (committed.get(p) ?? 0) >= end)
  }
  for (const n of [1, 2, 3]) {
    // Throughput: the backlog.
    const group = `bench-scale-${n}-${Date.now()}`
    const started = Date.now()
    const daemons = Array.from({ length: n }, () => daemon(argsFor(topic, group, `tp${n}`)))
    while (!await caughtUp(group, topic, ends)) {
      if (Date.now() - started > 540_000) throw new Error(`${n} daemon(s): backlog not consumed after 9 minutes`)
      await sleep(200)
    }
    const seconds = (Date.now() - started) / 1000
    for (const d of daemons) d.child.kill('SIGTERM')
    await Promise.all(daemons.map(d => d.done))

    // Hand-over: a live stream while daemons join, leave, and one is killed and restarted.
    const live = `scale-live-${n}-${Date.now()}`
    const liveGroup = `bench-live-${n}-${Date.now()}`
    const liveArgs = argsFor(live, liveGroup, `live${n}`)
    await produce({ brokers: kafka.brokers, topic: live, plan, count: 0, seed: 6, partitions: PARTITIONS, format: 'avro', malformedFraction: 0, keys, zipf: 0, spanMillis: 3_600_000, disorderMillis: 10_000, lateFraction: 0, library: 'kafkajs', batch: 1000, keyType: 'long' })
    const members = Array.from({ length: n }, () => daemon(liveArgs))
    const all: Daemon[] = [...members]
    await sleep(3000)
    const stream = produce({ brokers: kafka.brokers, topic: live, plan, count: rate * liveSeconds, seed: 6, partitions: PARTITIONS, format: 'avro', malformedFraction: 0, keys, zipf: 0, spanMillis: 3_600_000, disorderMillis: 10_000, lateFraction: 0, library: 'kafkajs', batch: 1000, keyType: 'long', rate })
    const quarter = liveSeconds * 250
    await sleep(quarter)
    const extra = daemon(liveArgs)
    all.push(extra)
    await sleep(quarter)
    extra.child.kill('SIGTERM')
    await sleep(quarter)
    members[0]!.child.kill('SIGKILL')
    await members[0]!.done
    const back = daemon(liveArgs)
    all.push(back)
    await stream
    const liveEnds = await admin.endOffsets(live)
    const t0 = Date.now()
    while (!await caughtUp(liveGroup, live, liveEnds)) {
      if (Date.now() - t0 > 300_000) throw new Error(`${n} daemon(s): the live stream was not consumed 5 minutes after it ended`)
      await sleep(200)
    }
    for (const d of all) d.child.kill('SIGTERM')
    await Promise.all(all.map(d => d.done))
    const p = pausesOf(all.flatMap(d => d.log))
    const row = {
      daemons: n,
      'backlog events/s': Math.round(total / seconds),
      'backlog s': Number(seconds.toFixed(1)),
      'partitions moved': p.moves,
      'pause p50 ms': p.p50,
      'pause p99 ms': p.p99,
      'pause max ms': p.max,
      'new owner p50 ms': p.ownerP50,
      'new owner p99 ms': p.ownerP99,
      'restored bytes/partition': p.restoredMean
    }
    rows.push(row)
    results.push(row)
    process.stderr.write(`${n} daemon(s): ${JSON.stringify(row)}\n`)
  }
  await admin.close()
  printTable(`scale-out on ${PARTITIONS} partitions, ${keys.toLocaleString('en-US')} keys, Redis, ${library}: a ${total.toLocaleString('en-US')}-event backlog; then ${rate.toLocaleString('en-US')} events/s for ${liveSeconds} s while a daemon joins, leaves, and one is SIGKILLed and restarted`, rows)
  process.stderr.write(`results: ${writeResults(`scale-${library}`, { events: total, keys, partitions: PARTITIONS, library, rate, liveSeconds, rows: results })}\n`)
} finally {
  await redis.stop()
  await kafka.stop()
  rmSync(work, { recursive: true, force: true })
}
