// Kafka client throughput: how fast each client library can hand records to the engine, with no processing at all.
// This decides which library the Kafka source uses (issue 4's target for the whole daemon is ≥150k events/s from
// the local broker on a 2-core box, broker included).
//
//   npm run bench:kafka-clients [-- --records 1000000 --rounds 3 --partitions 4 --value-bytes 90 --only kafkajs,platformatic]
//
// Starts its own broker (test/services/kafka.ts), produces the records once, then consumes the whole topic with a
// fresh consumer group per run, libraries interleaved round-robin (the machine is noisy; interleaving keeps the
// comparison fair). Rows: our client layer on each library, plus kafkajs used directly (eachBatch, nothing else) to
// show what the layer costs. Client and broker CPU time are measured separately: the broker shares the two cores.
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import kafkajs from 'kafkajs'
import { createKafkaClient } from '../src/kafka/client.ts'
import type { KafkaLibrary } from '../src/kafka/types.ts'
import { startKafka, DEFAULT_KAFKA_VERSION } from '../test/services/kafka.ts'
import { positiveArg, printTable, writeResults } from './report.ts'


const RECORDS = positiveArg('records', 1_000_000)
const ROUNDS = positiveArg('rounds', 3)
const PARTITIONS = positiveArg('partitions', 4)
const VALUE_BYTES = positiveArg('value-bytes', 90)
const KEY_SPACE = 100_000

type Variant = KafkaLibrary | 'kafkajs-direct'
const ALL_VARIANTS: Variant[] = ['kafkajs', 'platformatic', 'kafkajs-direct']
const onlyAt = process.argv.indexOf('--only')
const VARIANTS: Variant[] = onlyAt < 0 ? ALL_VARIANTS : (process.argv[onlyAt + 1] ?? '').split(',').map(v => {
  if (!ALL_VARIANTS.includes(v as Variant)) throw new Error(`--only takes a comma list of ${ALL_VARIANTS.join(', ')}`)
  return v as Variant
})

interface Run {
  variant: Variant
  round: number
  records: number
  payloadBytes: number
  /** start() → partitions assigned: connect + group join. */
  joinMs: number
  /** partitions assigned → last record (first fetch included). */
  consumeMs: number
  recordsPerSec: number
  mbPerSec: number
  clientCpuUsPerRecord: number
  brokerCpuUsPerRecord: number
  rssMb: number
}

/** utime+stime of a process, in µs (Linux /proc; clock ticks are 100 Hz here). */
function procCpuUs (pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10_000
}

function selfCpuUs (): number {
  const u = process.cpuUsage()
  return u.user + u.system
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

async function produce (brokers: string, topic: string): Promise<number> {
  const client = await createKafkaClient({ library: 'platformatic', brokers })
  const admin = await client.admin()
  await admin.createTopic(topic, { partitions: PARTITIONS })
  await admin.close()
  // Idempotent: a send the library retries (a request that timed out on a loaded machine) must not land twice — a CI
  // run's smoke round once read 8,750 distinct offsets from 5,000 records produced with acks=leader.
  const producer = client.producer({ idempotent: true, acks: 'all' })
  const value = Buffer.alloc(VALUE_BYTES, 'x')
  const BATCH = 10_000
  const inflight: Array<Promise<void>> = []
  let bytes = 0
  for (let i = 0; i < RECORDS; i += BATCH) {
    const recs = []
    for (let j = i; j < Math.min(RECORDS, i + BATCH); j++) {
      const key = Buffer.from(`user-${String(j % KEY_SPACE).padStart(6, '0')}`)
      bytes += key.length + value.length
      recs.push({ key, value, partition: j % PARTITIONS, timestamp: 1_700_000_000_000 + j })
    }
    inflight.push(producer.send(topic, recs))
    if (inflight.length >= 4) await inflight.shift()
  }
  await Promise.all(inflight)
  await producer.close()
  return bytes
}

async function consumeOnce (variant: Variant, round: number, brokers: string, topic: string, brokerPid: number): Promise<Run> {
  const groupId = `bench-${variant}-${round}-${Date.now()}`
  let n = 0
  let bytes = 0
  // The clock starts when the group has assigned the partitions, so the first fetch counts but the join does not.
  let tAssigned = 0
  let cpu0 = 0
  let bcpu0 = 0
  const assigned = (): void => { tAssigned = performance.now(); cpu0 = selfCpuUs(); bcpu0 = procCpuUs(brokerPid) }
  let done!: () => void
  const finished = new Promise<void>(resolve => { done = resolve })
  const lastOffset = new Map<number, number>()
  // A single-member group can still be rebalanced (its session expired on a loaded machine; seen once in CI on Node
  // 24): then the partitions come back, and without a committed offset they would start over. The bench continues
  // where it was, as the engine does from its checkpoints, and counts each offset once; an offset delivered twice
  // within one assignment is a consumer bug and fails the run.
  let assignments = 0
  let revocations = ''
  let duplicates = 0
  let error: Error | null = null
  const take = (partition: number, offset: number): boolean => {
    if (offset <= (lastOffset.get(partition) ?? -1)) { duplicates++; return false }
    lastOffset.set(partition, offset)
    return true
  }
  const t0 = performance.now()
  let stop: () => Promise<void>

  if (variant === 'kafkajs-direct') {
    const c = new kafkajs.Kafka({ brokers: [brokers], logLevel: kafkajs.logLevel.NOTHING }).consumer({ groupId, maxBytesPerPartition: 4 << 20, maxBytes: 16 << 20, maxWaitTimeInMs: 500 })
    c.on(c.events.GROUP_JOIN, () => { if (assignments++ === 0) assigned() })
    await c.connect()
    await c.subscribe({ topic, fromBeginning: true })
    await c.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        // kafkajs direct starts a partition given again from the beginning (no commits): count each offset once.
        for (const m of batch.messages) if (take(batch.partition, Number(m.offset))) { n++; bytes += (m.key?.length ?? 0) + (m.value?.length ?? 0) }
        if (n >= RECORDS) done()
      }
    })
    stop = async () => { await c.disconnect() }
  } else {
    const client = await createKafkaClient({ library: variant, brokers })
    const c = client.consumer({
      groupId,
      topic,
      onAssigned: added => {
        if (assignments++ === 0) assigned()
        // Partitions given back continue after the last offset delivered.
        return new Map(added.filter(p => lastOffset.has(p)).map(p => [p, lastOffset.get(p)! + 1]))
      },
      onRevoked: (removed, reason) => { revocations += ` ${removed.join(',')} (${reason})` },
      onBatch: b => {
        const rs = b.records
        for (let i = 0; i < rs.length; i++) {
          const r = rs[i]!
          if (!take(b.partition, r.offset)) error ??= new Error(`${variant}: partition ${b.partition} offset ${r.offset} delivered twice (${assignments} assignment(s), revoked:${revocations || ' none'})`)
          else { n++; bytes += (r.key?.length ?? 0) + (r.value?.length ?? 0) }
        }
        if (n >= RECORDS || error !== null) done()
      }
    })
    await c.start()
    stop = async () => { await c.stop() }
  }
  await finished
  const tEnd = performance.now()
  const cpu = selfCpuUs() - cpu0
  const bcpu = procCpuUs(brokerPid) - bcpu0
  await stop()
  if (error !== null) throw error
  if (n !== RECORDS) throw new Error(`${variant}: got ${n} records, expected ${RECORDS} (${assignments} assignment(s), ${duplicates} offset(s) delivered again)`)
  if (assignments > 1) console.error(`${variant} round ${round}: the group was rebalanced (${assignments} assignments, revoked:${revocations || ' none'}); ${duplicates} offset(s) delivered again were not counted`)
  for (let p = 0; p < PARTITIONS; p++) {
    const expect = Math.floor(RECORDS / PARTITIONS) + (p < RECORDS % PARTITIONS ? 1 : 0) - 1
    if (lastOffset.get(p) !== expect) throw new Error(`${variant}: partition ${p} ended at offset ${String(lastOffset.get(p))}, expected ${expect}`)
  }
  const consumeMs = tEnd - tAssigned
  return {
    variant,
    round,
    records: n,
    payloadBytes: bytes,
    joinMs: Math.round(tAssigned - t0),
    consumeMs: Math.round(consumeMs),
    recordsPerSec: Math.round(n / (consumeMs / 1000)),
    mbPerSec: Number((bytes / 1e6 / (consumeMs / 1000)).toFixed(1)),
    clientCpuUsPerRecord: Number((cpu / n).toFixed(2)),
    brokerCpuUsPerRecord: Number((bcpu / n).toFixed(2)),
    rssMb: Math.round(process.memoryUsage().rss / 1e6)
  }
}

const kafka = await startKafka({ log: m => { console.error(m) } })
let exitCode = 0
try {
  const topic = `bench-clients-${Date.now()}`
  const tp = performance.now()
  const payload = await produce(kafka.brokers, topic)
  const produceMs = performance.now() - tp
  console.error(`produced ${RECORDS.toLocaleString('en-US')} records (${(payload / RECORDS).toFixed(0)} B key+value each) to ${PARTITIONS} partitions in ${(produceMs / 1000).toFixed(1)} s (${Math.round(RECORDS / (produceMs / 1000)).toLocaleString('en-US')} records/s, platformatic producer, idempotent)`)

  const runs: Run[] = []
  for (let round = 1; round <= ROUNDS; round++) {
    // Rotate the order each round so no library always runs first (page cache, JIT warm-up of shared code).
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round - 1) % VARIANTS.length]!)
    for (const v of order) {
      const r = await consumeOnce(v, round, kafka.brokers, topic, kafka.pid)
      runs.push(r)
      console.error(`  round ${round} ${v.padEnd(14)} ${r.recordsPerSec.toLocaleString('en-US').padStart(10)} records/s  ${String(r.mbPerSec).padStart(6)} MB/s  client ${r.clientCpuUsPerRecord} µs/rec  broker ${r.brokerCpuUsPerRecord} µs/rec  join ${r.joinMs} ms`)
    }
  }

  const summary = VARIANTS.map(v => {
    const rs = runs.filter(r => r.variant === v)
    return {
      client: v === 'kafkajs-direct' ? 'kafkajs 2.2.4, direct eachBatch (baseline)' : v === 'kafkajs' ? 'tilekiln layer on kafkajs 2.2.4' : 'tilekiln layer on @platformatic/kafka 1.35',
      'records/s (median)': median(rs.map(r => r.recordsPerSec)).toLocaleString('en-US'),
      'records/s (min–max)': `${Math.min(...rs.map(r => r.recordsPerSec)).toLocaleString('en-US')}–${Math.max(...rs.map(r => r.recordsPerSec)).toLocaleString('en-US')}`,
      'MB/s': median(rs.map(r => r.mbPerSec)),
      'client CPU µs/record': median(rs.map(r => r.clientCpuUsPerRecord)),
      'broker CPU µs/record': median(rs.map(r => r.brokerCpuUsPerRecord)),
      'join ms': median(rs.map(r => r.joinMs))
    }
  })
  printTable(`Kafka client consumption, ${RECORDS.toLocaleString('en-US')} records × ${(payload / RECORDS).toFixed(0)} B, ${PARTITIONS} partitions, ${ROUNDS} rounds, Kafka ${DEFAULT_KAFKA_VERSION} on the same ${cpus().length}-core machine`, summary)

  const out = writeResults('kafka-clients', {
    kafka: DEFAULT_KAFKA_VERSION,
    records: RECORDS,
    partitions: PARTITIONS,
    payloadBytesPerRecord: payload / RECORDS,
    produce: { ms: Math.round(produceMs), recordsPerSec: Math.round(RECORDS / (produceMs / 1000)) },
    summary,
    runs
  })
  console.log(`\nwrote ${out}`)
} catch (e) {
  console.error(e)
  console.error(`broker log: ${kafka.logFile}`)
  exitCode = 1
} finally {
  await kafka.stop()
}
process.exit(exitCode)
