// Several daemons sharing one topic (issue 8): for 1, 2 and 3 daemons in one consumer group on a 12-partition topic
// (a real broker and a real Redis on this machine, everything on the same cores), the throughput of the group, and
// what moving partitions costs. Each scenario starts its daemons together; when a third of the events are consumed
// one more daemon joins (a rebalance moves partitions to it) and when two thirds are, it leaves (they move back).
//
//   events/s        events ÷ (first daemon started → every partition's checkpointed offset at the topic's end)
//   pause           per moved partition: the old owner's revocation → the new owner's first tiles written
//                   (from the daemons' own log lines, which carry wall-clock times; one machine, one clock)
//   restored bytes  the checkpoint a new owner read, per partition moved
//
// On two cores more daemons cannot add throughput (they share the cores); the figure that matters here is the pause.
//
//   npm run bench:scale                                 600,000 events, 20,000 keys, kafkajs
//   npm run bench:scale -- --events 300000 --kafka-library platformatic
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
const library = arg('kafka-library', 'kafkajs') as KafkaLibrary
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
  for (const n of [1, 2, 3]) {
    const group = `bench-scale-${n}-${Date.now()}`
    const args = ['run', '--group-by', GROUP_BY, '--source', `kafka:${kafka.brokers}/${topic}`, '--schema', schemaFile,
      '--store', `${redis.url}/0?prefix=scale${n}`, '--group-id', group, '--workers', '1', '--checkpoint-interval', '1000',
      '--kafka-session-timeout', '6000', '--kafka-library', library, '--progress', '0', '--dead-letter', join(work, `dlq-${n}.jsonl`)]
    const started = Date.now()
    const daemons = Array.from({ length: n }, () => daemon(args))
    let extra: Daemon | null = null
    let left = false
    let consumed = 0
    for (;;) {
      const committed = await admin.committedOffsets(group, topic)
      consumed = [...ends].reduce((a, [p]) => a + Math.min(committed.get(p) ?? 0, ends.get(p)!), 0)
      if (consumed >= total) break
      if (extra === null && consumed >= total / 3) extra = daemon(args)
      if (extra !== null && !left && consumed >= 2 * total / 3) { extra.child.kill('SIGTERM'); left = true }
      if (Date.now() - started > 540_000) throw new Error(`${n} daemon(s): not caught up after 9 minutes (${consumed} of ${total})`)
      await sleep(200)
    }
    const seconds = (Date.now() - started) / 1000
    if (extra !== null && !left) extra.child.kill('SIGTERM')
    for (const d of daemons) d.child.kill('SIGTERM')
    await Promise.all([...daemons, ...(extra === null ? [] : [extra])].map(d => d.done))
    // Pauses: a partition's revocation (its old owner's line) → its next owner's first tiles written.
    const all = [...daemons, ...(extra === null ? [] : [extra])].flatMap(d => d.log)
    const revoked: [number, number][] = []
    const firsts: [number, number][] = []
    const bytes: number[] = []
    for (const l of all) {
      let m = /partition\(s\) ([\d, ]+) revoked by the group \(at ([^)]+)\)/.exec(l)
      if (m !== null) for (const p of m[1]!.split(',').map(Number)) revoked.push([p, Date.parse(m[2]!)])
      m = /partition (\d+): tiles of its first records written \d+ ms after it was assigned \(at ([^)]+)\)/.exec(l)
      if (m !== null) firsts.push([Number(m[1]), Date.parse(m[2]!)])
      m = /partition \d+: took over at .*?, (\d+) bytes; restored/.exec(l)
      if (m !== null) bytes.push(Number(m[1]))
    }
    const pause = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 })
    for (const [p, at] of revoked) {
      const next = firsts.filter(([q, t]) => q === p && t >= at).sort((a, b) => a[1] - b[1])[0]
      if (next !== undefined) pause.recordValue(Math.max(1, next[1] - at))
    }
    const row = {
      daemons: n,
      'events/s': Math.round(events / seconds),
      seconds: Number(seconds.toFixed(1)),
      'partition moves': pause.totalCount,
      'pause p50 ms': pause.totalCount === 0 ? '—' : pause.getValueAtPercentile(50),
      'pause p99 ms': pause.totalCount === 0 ? '—' : pause.getValueAtPercentile(99),
      'restored bytes/partition (mean)': bytes.length === 0 ? '—' : Math.round(bytes.reduce((a, b) => a + b, 0) / bytes.length)
    }
    rows.push(row)
    results.push({ ...row, restoredBytes: bytes })
    process.stderr.write(`${n} daemon(s): ${JSON.stringify(row)}\n`)
  }
  await admin.close()
  printTable(`scale-out: ${events.toLocaleString('en-US')} events, ${PARTITIONS} partitions, ${keys.toLocaleString('en-US')} keys, Redis, ${library}; one extra daemon joins at 1/3 and leaves at 2/3`, rows)
  process.stderr.write(`results: ${writeResults('scale', { events, keys, partitions: PARTITIONS, library, rows: results })}\n`)
} finally {
  await redis.stop()
  await kafka.stop()
  rmSync(work, { recursive: true, force: true })
}
