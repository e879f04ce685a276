// The daemon against a real Kafka broker (started by the test runner): end to end against the oracle, crash
// recovery (SIGKILL at random moments and at chosen fault points, restart, compare the store byte for byte with
// an uninterrupted run), a broker restart, and malformed records to the dead-letter topic.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { before, after, describe, test } from 'node:test'
import { produce, produceGeneratorOptions, type ProduceOptions } from '../../src/cli/produce.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { fetchFeatures, loadReadSide } from '../../src/fetch/tiled-read.ts'
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'
import { createKafkaClient } from '../../src/kafka/client.ts'
import type { KafkaRecord, ProducerRecord } from '../../src/kafka/types.ts'
import { generateEvents, generatorSchema } from '../../src/source/generator.ts'
import { checkpointScope } from '../../src/checkpoint/storage.ts'
import { decodeCheckpoint } from '../../src/checkpoint/partition-checkpoint.ts'
import { startKafka } from '../services/kafka.ts'
import { freePort, sleep, waitForExit } from '../services/process.ts'
import { startTilekiln, tilekiln } from '../helpers/cli.ts'
import { naiveColumns } from '../helpers/engine.ts'
import { groupByPath } from '../helpers/reference.ts'
import { dumpLines } from '../helpers/store-dump.ts'
import { naiveFeatures, type NaiveEvent } from '../reference/naive.ts'
import { matchesNaive } from '../reference/naive-ops.ts'
import { T } from '../../src/api/data-type.ts'
import { Random } from '../../src/source/generator.ts'

const BROKERS = process.env.TILEKILN_TEST_KAFKA
const GB = groupByPath('airbnb-chronon/api/py/test/sample/production/group_bys/quickstart/returns.v1')
const plan = compilePlan(JSON.parse(readFileSync(GB, 'utf8')))
const NOW = Date.UTC(2026, 10, 1)
const work = mkdtempSync(join(tmpdir(), 'tilekiln-kafka-'))
const schemaFile = join(work, 'schema.avsc')

function produceOptions (topic: string, count: number, malformed = 0): ProduceOptions {
  return {
    brokers: BROKERS!, topic, plan, count, seed: 7, partitions: 4, format: 'avro', malformedFraction: malformed, keys: 2000, zipf: 0.8,
    spanMillis: 30 * 86_400_000, disorderMillis: 60_000, lateFraction: 0, schemaOut: schemaFile, library: 'kafkajs', batch: 5000,
    keyType: 'long', now: NOW
  }
}

/**
 * `incarnation` picks the consumer group: a restart in the same group waits for the crashed member's session to
 * expire (10 s) before it gets its partitions, so crash loops use a fresh group per restart. Recovery does not
 * depend on the group: partitions seek to the checkpoint's positions.
 */
function runArgs (topic: string, dir: string, workers: number, extra: string[] = [], incarnation = 0): string[] {
  return ['run', '--group-by', GB, '--source', `kafka:${BROKERS}/${topic}`, '--schema', schemaFile, '--store', `embedded:${join(dir, 'store')}`,
    '--group-id', `g-${topic}-${dir.split('-').pop()}-${incarnation}`, '--workers', String(workers), '--until-end',
    '--progress', '0', '--json', ...extra]
}

const skip = BROKERS === undefined ? 'needs a Kafka broker: run through `npm test`' : false

async function waitFor (cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`)
    await sleep(50)
  }
}

/** A topic's records (key, value, partition), each partition cut in two halves, in order. */
async function readHalves (brokers: string, topic: string): Promise<[ProducerRecord[], ProducerRecord[]]> {
  const client = await createKafkaClient({ brokers, library: 'kafkajs' })
  const admin = await client.admin()
  const ends = await admin.endOffsets(topic)
  await admin.close()
  const got = new Map<number, KafkaRecord[]>()
  const total = [...ends.values()].reduce((a, b) => a + b, 0)
  let n = 0
  const consumer = client.consumer({ topic, groupId: `copy-${topic}`, onBatch: b => { const l = got.get(b.partition) ?? []; l.push(...b.records); got.set(b.partition, l); n += b.records.length } })
  await consumer.start()
  try { await waitFor(() => n >= total, 120_000, () => `${total} records of ${topic} (have ${n})`) } finally { await consumer.stop() }
  const first: ProducerRecord[] = []
  const second: ProducerRecord[] = []
  for (const [partition, recs] of got) {
    recs.forEach((r, i) => (i < recs.length / 2 ? first : second).push({ partition, key: r.key, value: r.value }))
  }
  return [first, second]
}

describe('Kafka source', { skip }, () => {
  const topic = `returns-${process.pid}`
  let reference: string[] = []

  before(async () => {
    await produce(produceOptions(topic, 200_000))
  })
  // TILEKILN_TEST_KEEP=1 keeps the stores, checkpoints and logs for a post-mortem.
  after(() => { if (process.env.TILEKILN_TEST_KEEP === undefined) rmSync(work, { recursive: true, force: true }) })

  test('200,000 Avro events from a 4-partition topic: fetch for every key equals the oracle', async () => {
    const dir = mkdtempSync(join(work, 'ref-'))
    const r = await tilekiln(runArgs(topic, dir, 2))
    assert.equal(r.code, 0, r.stderr)
    const summary = JSON.parse(r.stdout)
    assert.equal(summary.records, 200_000)
    assert.equal(summary.deadLetters, 0)
    reference = await dumpLines(join(dir, 'store'))

    const gen = produceGeneratorOptions(produceOptions(topic, 200_000), NOW)
    const { schema, roles } = generatorSchema(plan, gen)
    const byKey = new Map<number, NaiveEvent[]>()
    for (const ev of generateEvents(plan, gen, schema, roles)) {
      const row: Record<string, unknown> = {}
      schema.fields.forEach((f, i) => { row[f.name] = ev.values[i] })
      const k = ev.keyValues[0] as number
      byKey.set(k, [...(byKey.get(k) ?? []), { ts: ev.ts, row }])
    }
    const store = new EmbeddedStore(join(dir, 'store'), { readOnly: true })
    try {
      const read = await loadReadSide(plan, store)
      const columns = naiveColumns(plan, T.struct('Row', [{ name: 'user_id', type: T.long }, { name: 'refund_amt', type: T.double }]) as never)
      let compared = 0
      for (const [key, events] of byKey) {
        for (const q of [NOW - 10 * 86_400_000 + 12_345, NOW + 3_600_000]) {
          const { features } = await fetchFeatures(read, store, [key], q)
          const expected = naiveFeatures(events, columns, q, plan.tileSizeMillis)
          for (const c of columns) {
            assert.ok(matchesNaive(features[c.name], expected[c.name]), `key ${key} at ${q}: ${c.name} = ${JSON.stringify(features[c.name])}, oracle ${JSON.stringify(expected[c.name])}`)
            compared++
          }
        }
      }
      assert.ok(compared > 2000 * 9)
    } finally {
      await store.close()
    }
  })

  for (const workers of [1, 2, 3]) {
    test(`crash test: SIGKILLed 10 times (at random moments and fault points), restarted, the store equals an uninterrupted run's (${workers} worker(s))`, async () => {
      assert.ok(reference.length > 0, 'the reference run must have succeeded')
      const dir = mkdtempSync(join(work, `crash${workers}-`))
      const rnd = new Random(workers * 101)
      // Fault points first, while most of the topic is still unread; then kills at random moments.
      const faults: (string | undefined)[] = ['write-mid-batch:3', 'checkpoint-before-write:3', 'checkpoint-before-commit:2', 'handover-after-epoch:2']
      let kills = 0
      for (let i = 0; i < 10; i++) {
        const fault = faults[i]
        const p = startTilekiln(runArgs(topic, dir, workers, ['--checkpoint-interval', '200'], i), fault === undefined ? {} : { TILEKILN_FAULT: fault })
        // The whole topic takes ~1–2 s to consume here (plus ~0.5 s to start): kill early and often.
        const delay = fault !== undefined ? 20_000 : 200 + rnd.int(700)
        const timer = setTimeout(() => p.child.kill('SIGKILL'), delay)
        const r = await p.done
        clearTimeout(timer)
        if (process.env.TILEKILN_TEST_KEEP !== undefined) writeFileSync(join(dir, `incarnation-${i}.log`), `fault=${fault} code=${r.code}\n${r.stderr}`)
        if (r.code !== 0) kills++
        else break // finished before the kill: nothing left to crash
      }
      assert.ok(kills >= 6, `only ${kills} run(s) were killed`)
      const final = await tilekiln(runArgs(topic, dir, workers, ['--checkpoint-interval', '300'], 99))
      assert.equal(final.code, 0, final.stderr)
      const lines = await dumpLines(join(dir, 'store'))
      assert.equal(lines.length, reference.length)
      for (let i = 0; i < lines.length; i++) assert.equal(lines[i], reference[i], `entry ${i} differs`)
    })
  }

  test('SIGTERM: the daemon stops fetching, drains, checkpoints, commits and exits 0; a restart in the same group finishes the job', async () => {
    assert.ok(reference.length > 0, 'the reference run must have succeeded')
    const dir = mkdtempSync(join(work, 'term-'))
    const args = runArgs(topic, dir, 2, [], 0).filter(a => a !== '--until-end')
    const p = startTilekiln(args)
    await sleep(1500)
    const killedAt = Date.now()
    p.child.kill('SIGTERM')
    const r = await p.done
    assert.equal(r.code, 0, r.stderr)
    assert.ok(Date.now() - killedAt < 15_000, 'graceful stop within 15 s')
    const store = new EmbeddedStore(join(dir, 'store'), { readOnly: true })
    const positions = new Map<number, number>()
    try {
      for (let p = 0; p < 4; p++) {
        const cp = await store.readCheckpoint(checkpointScope(plan.streamingDataset, topic), p)
        assert.ok(cp !== null, `a final checkpoint was written for partition ${p}`)
        positions.set(p, decodeCheckpoint(cp.bytes, `of partition ${p}`).header.next)
      }
    } finally {
      await store.close()
    }
    const client = await createKafkaClient({ brokers: BROKERS!, library: 'kafkajs' })
    const admin = await client.admin()
    const committed = await admin.committedOffsets(args[args.indexOf('--group-id') + 1]!, topic)
    await admin.close()
    for (const [partition, next] of positions) assert.equal(committed.get(partition), next, `partition ${partition}: committed offset = checkpoint position`)
    // Same group, until the end: no session to wait out (the member left cleanly), nothing lost or doubled.
    const again = await tilekiln([...args, '--until-end'])
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stderr, /took over at offset/)
    assert.deepEqual(await dumpLines(join(dir, 'store')), reference)
  })

  for (const library of ['kafkajs', 'platformatic'] as const) {
    test(`${library}: the broker killed and restarted mid-run, two cores saturated by CPU burners: the daemon consumes again within 15 s of the broker's return, and the final store is again identical`, { timeout: 400_000 }, async () => {
      assert.ok(reference.length > 0, 'the reference run must have succeeded')
      const port = await freePort()
      const brokerDir = mkdtempSync(join(work, 'broker-'))
      let broker = await startKafka({ port, dir: brokerDir, log: () => {} })
      // Two busy loops on a two-core machine: the broker's restart, its group coordinator and the daemon all run on
      // what is left, as in a CI run on a busy machine (where this once took 629 s).
      const burners = [0, 1].map(() => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }))
      let daemon: ReturnType<typeof startTilekiln> | null = null
      try {
        // The reference's 200,000 records, per partition in order: the first half before the outage, the second after
        // the broker is back — so the daemon can only finish by consuming from the restarted broker (it could
        // otherwise have fetched the whole topic ahead before the broker went down).
        const staging = `staging-${library}-${process.pid}`
        await produce({ ...produceOptions(staging, 200_000), brokers: broker.brokers })
        const halves = await readHalves(broker.brokers, staging)
        const t = `restart-${library}-${process.pid}`
        const client = await createKafkaClient({ brokers: broker.brokers, library: 'kafkajs' })
        const admin = await client.admin()
        await admin.createTopic(t, { partitions: 4 })
        await admin.close()
        const send = async (recs: ProducerRecord[]): Promise<void> => { const pr = client.producer(); await pr.send(t, recs); await pr.close() }
        await send(halves[0])
        const dir = mkdtempSync(join(work, 'restart-'))
        // (Each partition's clock follows its own data, so an outage cannot make other partitions' records late.)
        const args = runArgs(t, dir, 2, ['--checkpoint-interval', '500', '--progress', '250', '--kafka-library', library])
          .filter(a => a !== '--until-end')
          .map(a => a === `kafka:${BROKERS}/${t}` ? `kafka:${broker.brokers}/${t}` : a)
        const p = startTilekiln(args, {}, 360_000)
        daemon = p
        // The live line, time-stamped on arrival: when did the event count move?
        const seen: Array<{ t: number, events: number }> = []
        const events = (): number => seen.at(-1)?.events ?? 0
        p.child.stderr!.on('data', d => {
          for (const m of String(d).matchAll(/events ([\d,]+)/g)) seen.push({ t: Date.now(), events: Number(m[1]!.replace(/,/g, '')) })
        })
        const half = halves[0].length
        await waitFor(() => events() >= half, 120_000, () => `the daemon to consume the first ${half} records (at ${events()})`)
        // Killed, not stopped: a clean broker shutdown could still serve fetches while it closes.
        process.kill(broker.pid, 'SIGKILL')
        await waitForExit(broker.pid, 10_000)
        await sleep(3000)
        broker = await startKafka({ port, dir: brokerDir, log: () => {} })
        const back = Date.now()
        // A few new records first (quick to write, so what is timed is the daemon, not the producer), then the rest.
        const head = halves[1].filter((_, i) => i < 400)
        await send(head)
        const written = Date.now() - back
        await send(halves[1].slice(head.length))
        await waitFor(() => events() > half, 60_000, () => `the daemon to consume again after the broker was back (at ${events()})`)
        const took = seen.find(x => x.events > half)!.t - back
        process.stderr.write(`  ${library}: consumed again ${took} ms after the broker was back (the first new records were written ${written} ms after it; CPU burners running)\n`)
        await waitFor(() => events() >= 200_000, 120_000, () => `all 200,000 records (at ${events()})`)
        p.child.kill('SIGTERM')
        const r = await p.done
        assert.equal(r.code, 0, r.stderr.slice(-4000))
        assert.ok(took <= 15_000, `consumed again ${took} ms after the broker was back; log:\n${r.stderr.split('\n').filter(l => !l.startsWith('tilekiln ')).slice(-30).join('\n')}`)
        assert.deepEqual(await dumpLines(join(dir, 'store')), reference)
      } finally {
        daemon?.child.kill('SIGKILL')
        for (const b of burners) b.kill('SIGKILL')
        await broker.stop()
      }
    })
  }

  test('1,000 malformed records go to the dead-letter topic with their reasons; every good event is counted', async () => {
    const t = `malformed-${process.pid}`
    const o = produceOptions(t, 20_000, 0.05)
    const produced = await produce(o)
    assert.ok(produced.malformed > 900 && produced.malformed < 1100, String(produced.malformed))
    const dir = mkdtempSync(join(work, 'dlq-'))
    const r = await tilekiln(runArgs(t, dir, 2))
    assert.equal(r.code, 0, r.stderr)
    const summary = JSON.parse(r.stdout)
    assert.equal(summary.deadLetters, produced.malformed)
    assert.equal(summary.metrics.rows_aggregated, 20_000 - produced.malformed)
    // Read the dead-letter topic back.
    const client = await createKafkaClient({ brokers: BROKERS!, library: 'kafkajs' })
    const seen: { reason: string, offset: string }[] = []
    let gotAll!: () => void
    const all = new Promise<void>(resolve => { gotAll = resolve })
    const consumer = client.consumer({
      groupId: `dlq-reader-${process.pid}`,
      topic: `${t}.tilekiln-dlq`,
      onBatch: b => {
        for (const rec of b.records) seen.push({ reason: rec.headers['tilekiln.reason']!.toString(), offset: rec.headers['tilekiln.offset']!.toString() })
        if (seen.length >= produced.malformed) gotAll()
      }
    })
    await consumer.start()
    await Promise.race([all, new Promise(resolve => setTimeout(resolve, 30_000))])
    await consumer.stop()
    assert.equal(seen.length, produced.malformed)
    for (const s of seen) assert.match(s.reason, /Avro|truncated|trailing|union|invalid/i)
  })
})
