// Several daemons share one topic through Kafka's consumer group (issue 8's acceptance test): a 12-partition topic,
// 300,000 events (out of order, and late ones), consumed by 3 daemons in one group; mid-run one is SIGKILLed, a 4th
// joins, and one is frozen (SIGSTOP) past its session timeout, then resumed (SIGCONT). The store they leave must be
// byte-identical to one daemon's run over the same topic, every key's features must equal the brute-force oracle
// (late events decided by each partition's own clock), and the frozen daemon's late writes must have been refused
// (fenced). The test is here; test/integration/scale-out-{redis,cluster,repartition}.test.ts run it on Redis, on a
// 3-node Redis Cluster, and on a topic not keyed by the entity with --repartition, one file each so that the test
// runner can run them side by side.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { T } from '../../src/api/data-type.ts'
import { produce, produceGeneratorOptions, type ProduceOptions } from '../../src/cli/produce.ts'
import { openStore } from '../../src/cli/specs.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { fetchFeatures, loadReadSide } from '../../src/fetch/tiled-read.ts'
import { createKafkaClient } from '../../src/kafka/client.ts'
import { generateEvents, generatorSchema } from '../../src/source/generator.ts'
import { repartitionTopic } from '../../src/source/repartition.ts'
import { tileStartOf } from '../../src/window/resolution.ts'
import { naiveColumns } from './engine.ts'
import { groupByPath, repoRoot } from './reference.ts'
import { storeLines } from './store-dump.ts'
import { threadStates } from '../services/process.ts'
import { naiveFeatures, type NaiveEvent } from '../reference/naive.ts'
import { matchesNaive } from '../reference/naive-ops.ts'

const BROKERS = process.env.TILEKILN_TEST_KAFKA
const REDIS = process.env.TILEKILN_TEST_REDIS
const CLUSTER = process.env.TILEKILN_TEST_REDIS_CLUSTER
const GB = groupByPath('airbnb-chronon/api/py/test/sample/production/group_bys/quickstart/returns.v1')
const plan = compilePlan(JSON.parse(readFileSync(GB, 'utf8')))
const NOW = Date.UTC(2026, 10, 1)
const OOO = 300_000
const PARTITIONS = 12
const EVENTS = 300_000
const SESSION_MS = 6000
const work = mkdtempSync(join(tmpdir(), 'tilekiln-scale-'))

const skip = BROKERS === undefined || REDIS === undefined ? 'needs Kafka and Redis: run through `npm test`' : false

/** Where the daemons keep their tiles, and whether the topic is keyed by the entity (else they run --repartition). */
export type ScaleOutVariant = 'Redis' | 'Redis Cluster' | 'Redis, a topic not keyed by the entity, --repartition' | 'embedded LMDB'

function produceOptions (topic: string, keyed: boolean, schemaOut: string, count = EVENTS): ProduceOptions {
  return {
    brokers: BROKERS!, topic, plan, count, seed: 23, partitions: PARTITIONS, format: 'avro', malformedFraction: 0, keys: 3000, zipf: 0.7,
    spanMillis: 30 * 86_400_000, disorderMillis: 420_000, lateFraction: 0.003, schemaOut, library: 'kafkajs', batch: 5000, keyType: 'long', now: NOW, keyed,
    // A live stream: the events arrive over ~20 s, while daemons come and go.
    rate: 15_000
  }
}

interface Daemon {
  readonly name: string
  readonly child: ChildProcess
  readonly done: Promise<{ code: number, stdout: string, stderr: string }>
  /** What it logged so far. */
  stderr (): string
}

/** A `tilekiln run` daemon that is SIGKILLed if it is still running after `timeoutMs`. */
function daemon (name: string, args: readonly string[], timeoutMs = 300_000): Daemon {
  // A daemon still running at the timeout is asked for a diagnostic report first (SIGUSR2), whose outcome goes into its
  // stderr below: a daemon that hung on SIGTERM then tells from the failure alone whether its main thread was blocked.
  const reports = mkdtempSync(join(work, `${name}-report-`))
  const child = spawn(process.execPath, ['--report-on-signal', '--report-signal=SIGUSR2', `--report-directory=${reports}`, join(repoRoot, 'bin', 'tilekiln.js'), ...args], { cwd: repoRoot, env: process.env })
  let stdout = ''
  let stderr = ''
  // Kept on disk as it comes (TILEKILN_TEST_KEEP=1 keeps the directory), so a hung run can be diagnosed.
  const log = join(work, `${name}.log`)
  child.stdout!.on('data', d => { stdout += String(d) })
  child.stderr!.on('data', d => { stderr += String(d); appendFileSync(log, String(d)) })
  const timer = setTimeout(() => {
    // Said in its stderr, which a failed assertion prints: a code of 128 is then not taken for the test's own kill.
    child.kill('SIGCONT')
    // Its threads first (a busy loop and a blocking call look alike from the report alone), then the report.
    void threadStates(child.pid!).catch(() => '(unreadable)').then(threads => {
      const note = `\n[test] ${name}'s threads over one second:\n${threads}\n`
      stderr += note
      appendFileSync(log, note)
      child.kill('SIGUSR2')
    })
    setTimeout(() => {
      // No report: the main thread did not get back to its event loop (Node writes it from there): it is blocked.
      let stack = '(no diagnostic report within 3 s: the main thread is blocked, not waiting)'
      try {
        const file = readdirSync(reports).find(f => f.endsWith('.json'))
        if (file !== undefined) {
          const r = JSON.parse(readFileSync(join(reports, file), 'utf8')) as { javascriptStack?: { message?: string, stack?: string[] } }
          stack = ['(its event loop ran: it is waiting, not blocked)', r.javascriptStack?.message ?? '', ...(r.javascriptStack?.stack ?? [])].join('\n  ')
        }
      } catch {}
      const note = `\n[test] ${name} was still running after ${timeoutMs} ms: SIGKILLed. Its main thread's JavaScript stack then:\n  ${stack}\n`
      stderr += note
      appendFileSync(log, note)
      child.kill('SIGKILL')
    }, 4000)
  }, timeoutMs)
  const done = new Promise<{ code: number, stdout: string, stderr: string }>(resolve => {
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code: code ?? (signal !== null ? 128 : 1), stdout, stderr }) })
  })
  return { name, child, done, stderr: () => stderr }
}

/** Waits until the daemon logged a line matching `re` (it owns partitions, say). */
async function waitForLog (d: Daemon, re: RegExp, timeoutMs: number): Promise<void> {
  const started = Date.now()
  while (!re.test(d.stderr())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${d.name} did not log ${String(re)} within ${timeoutMs} ms:\n${d.stderr().slice(-2000)}`)
    await sleep(100)
  }
}

/** The partitions a daemon owns after the lifecycle lines it logged so far (take-overs add; revocations, losses and
 * fencings remove). */
function ownedNow (log: string): Set<number> {
  const owned = new Set<number>()
  for (const m of log.matchAll(/partition (\d+): (?:took over|assigned again, kept)|partition\(s\) ([\d, ]+) (?:revoked|lost|fenced)/g)) {
    if (m[1] !== undefined) owned.add(Number(m[1]))
    else for (const p of m[2]!.split(', ')) owned.delete(Number(p))
  }
  return owned
}

/**
 * Waits until the daemon owns partitions right now. An old "took over" line proves nothing: an eager rebalance
 * (kafkajs) revokes everything first, a cooperative one (platformatic) may move some of them away.
 */
async function waitOwning (d: Daemon, timeoutMs: number): Promise<void> {
  const started = Date.now()
  for (;;) {
    if (ownedNow(d.stderr()).size > 0) return
    if (Date.now() - started > timeoutMs) throw new Error(`${d.name} did not own partitions within ${timeoutMs} ms:\n${d.stderr().slice(-2000)}`)
    await sleep(100)
  }
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
const t0 = Date.now()
/** Phase timings on the test's output (the test is long; this shows where its time goes). */
const phase = (what: string): void => { process.stderr.write(`scale-out +${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}\n`) }

/**
 * Waits until the group has committed (i.e. checkpointed) every partition of `topic` up to its end, and the ends
 * stayed the same for `stableMs` (a shuffle stage may still be publishing). Gives up after `timeoutMs`.
 */
async function waitCaughtUp (groups: readonly { group: string, topic: string }[], timeoutMs: number, stableMs = 3000): Promise<void> {
  const client = await createKafkaClient({ brokers: BROKERS!, library: 'kafkajs' })
  const admin = await client.admin()
  try {
    const started = Date.now()
    let since = -1
    let last = ''
    while (Date.now() - started < timeoutMs) {
      let done = true
      let state = ''
      for (const { group, topic } of groups) {
        const ends = await admin.endOffsets(topic)
        const committed = await admin.committedOffsets(group, topic)
        for (const [p, end] of ends) {
          state += `${topic}/${p}:${end};`
          if ((committed.get(p) ?? 0) < end) done = false
        }
      }
      if (done && state === last) {
        if (since < 0) since = Date.now()
        if (Date.now() - since >= stableMs) return
      } else {
        since = -1
      }
      last = state
      await sleep(500)
    }
    throw new Error(`the group did not catch up within ${timeoutMs} ms`)
  } finally {
    await admin.close()
  }
}

/** The oracle: every produced event with whether its partition's (origin's) clock makes it late. */
function oracle (keyed: boolean): { byKey: Map<number, NaiveEvent[]>, late: number } {
  const gen = produceGeneratorOptions(produceOptions('x', keyed, join(work, 'unused.avsc')), NOW)
  const { schema, roles } = generatorSchema(plan, gen)
  const max = new Map<number, number>()
  const byKey = new Map<number, NaiveEvent[]>()
  let late = 0
  for (const ev of generateEvents(plan, gen, schema, roles)) {
    const origin = keyed ? ev.partition : ev.seq % PARTITIONS
    const m = max.get(origin) ?? -Infinity
    const tileStart = tileStartOf(ev.ts, plan.tileSizeMillis)
    if (ev.ts > m) max.set(origin, ev.ts)
    if (tileStart + plan.tileSizeMillis - 1 <= m - OOO - 1) { late++; continue }
    const row: Record<string, unknown> = {}
    schema.fields.forEach((f, i) => { row[f.name] = ev.values[i] })
    const k = ev.keyValues[0] as number
    let list = byKey.get(k)
    if (list === undefined) { list = []; byKey.set(k, list) }
    list.push({ ts: ev.ts, row })
  }
  return { byKey, late }
}

/** The scale-out test on one variant, as a describe block of one test; `skipIt` (a reason) skips it, still registered:
 * a file registers the same tests on every run (scripts/test.mjs compares them with earlier runs). */
export function scaleOutTest (name: ScaleOutVariant, skipIt: string | false = false): void {
  const v = {
    'Redis': { name, store: REDIS, keyed: true },
    'Redis Cluster': { name, store: CLUSTER, keyed: true },
    'Redis, a topic not keyed by the entity, --repartition': { name, store: REDIS, keyed: false },
    'embedded LMDB': { name, store: `embedded:${join(work, 'lmdb')}`, keyed: true }
  }[name]
  describe('scale-out: daemons sharing a topic through the consumer group', { skip, concurrency: false }, () => {
    // TILEKILN_TEST_KEEP=1 keeps the daemons' logs, dead letters and (on a difference) store dumps for a post-mortem.
    after(() => { if (process.env.TILEKILN_TEST_KEEP === undefined) rmSync(work, { recursive: true, force: true }) })
    test(`${v.name}: 3 daemons, one SIGKILLed, a 4th joining, one frozen past its session: the store equals one daemon's, fetch equals the oracle, the frozen daemon was fenced`, { skip: v.store === undefined ? 'no Redis Cluster started' : skipIt, timeout: 600_000 }, async () => {
      const id = `${process.pid}-${v.name.length}-${v.keyed ? 'k' : 'r'}`
      const topic = `scale-${id}`
      const schemaFile = join(work, `${id}.avsc`)
      await produce(produceOptions(topic, v.keyed, schemaFile, 0)) // the topic (and the schema file), empty
      phase(`${v.name}: topic ${topic} created`)
      const storeSpec = (prefix: string): string => v.store!.startsWith('embedded:')
        ? `${v.store!}-${prefix}`
        : `${v.store!.replace(/\/\d*$/, '')}${v.store!.startsWith('redis+cluster') ? '' : '/0'}?prefix=${prefix}`
      const args = (prefix: string, group: string, extra: string[] = []): string[] => [
        'run', '--group-by', GB, '--source', `kafka:${BROKERS}/${topic}`, '--schema', schemaFile, '--store', storeSpec(prefix),
        '--group-id', group, '--workers', '1', '--checkpoint-interval', '500', '--kafka-session-timeout', String(SESSION_MS),
        '--progress', '5000', '--json', '--dead-letter', join(work, `${prefix}.dlq.jsonl`), ...(v.keyed ? [] : ['--repartition']), ...extra]
      const caughtUp = (group: string): { group: string, topic: string }[] => v.keyed
        ? [{ group, topic }]
        : [{ group, topic: repartitionTopic(topic, plan.cleanName) }, { group: `${group}.shuffle`, topic }]

      // Three daemons; then one killed, a fourth, one frozen.
      const group = `multi-${id}`
      const d = [1, 2, 3].map(i => daemon(`${id}-d${i}`, args(`multi${id}`, group)))
      const producing = produce(produceOptions(topic, v.keyed, schemaFile))
      // Each daemon must own partitions (be mid-stream) when it is killed or frozen.
      const owns = /partition \d+: took over/
      await waitForLog(d[0]!, owns, 60_000)
      await sleep(3000)
      d[0]!.child.kill('SIGKILL')
      phase('d1 SIGKILLed, d4 started')
      d.push(daemon(`${id}-d4`, args(`multi${id}`, group)))
      const frozen = d[1]!
      // The rebalance d4's arrival causes must be over (d4 owns partitions), and d2 must own some after it: a daemon
      // frozen mid-rebalance owns nothing and has nothing to be fenced for.
      await waitForLog(d[3]!, owns, 60_000)
      await waitOwning(frozen, 60_000)
      await sleep(1500)
      await waitOwning(frozen, 60_000)
      frozen.child.kill('SIGSTOP')
      phase('d2 frozen')
      await sleep(SESSION_MS + 6000)
      frozen.child.kill('SIGCONT')
      phase('d2 resumed')
      await producing
      phase('all events produced')
      await waitCaughtUp(caughtUp(group), 240_000)
      phase('the group caught up: SIGTERM')
      for (const x of d.slice(1)) x.child.kill('SIGTERM')
      const results = await Promise.all(d.map(x => x.done))
      phase('daemons exited')
      assert.equal(results[0]!.code, 128, 'd1 was killed')
      for (const r of results.slice(1)) assert.equal(r.code, 0, r.stderr.slice(-3000))
      const zombie = JSON.parse(results[1]!.stdout) as { fencedWrites: number }
      assert.ok(zombie.fencedWrites > 0, `the frozen daemon's late writes were refused: fencedWrites = ${zombie.fencedWrites}\n${results[1]!.stderr.slice(-3000)}`)

      // One daemon alone: the reference store.
      const refGroup = `ref-${id}`
      const ref = daemon(`${id}-reference`, args(`ref${id}`, refGroup, ['--workers', '2']))
      await waitCaughtUp(caughtUp(refGroup), 240_000)
      ref.child.kill('SIGTERM')
      const refResult = await ref.done
      assert.equal(refResult.code, 0, refResult.stderr)
      phase('reference run done')

      // Byte-identical stores.
      const refStore = openStore(storeSpec(`ref${id}`), { readOnly: true })
      const multiStore = openStore(storeSpec(`multi${id}`), { readOnly: true })
      try {
        // Both at once: reading a store is mostly waiting on Redis (SCAN pages, ZRANGE pipelines).
        const [a, b] = await Promise.all([storeLines(refStore), storeLines(multiStore)])
        phase(`stores read (${a.length} entries)`)
        assert.ok(a.length > 10_000, `reference entries: ${a.length}`)
        const differ = a.filter((l, i) => l !== b[i])
        if (differ.length > 0 || a.length !== b.length) {
          writeFileSync(join(work, `${id}-reference.dump`), a.join('\n') + '\n')
          writeFileSync(join(work, `${id}-multi.dump`), b.join('\n') + '\n')
        }
        assert.equal(b.length, a.length, 'entries')
        assert.equal(differ.length, 0, `${differ.length} entries differ, e.g. ${differ[0]}`)

        // Every key's features equal the oracle's (late events decided by each partition's clock).
        const { byKey, late } = oracle(v.keyed)
        phase('oracle computed')
        assert.ok(late > 100, `late events in the stream: ${late}`)
        const read = await loadReadSide(plan, multiStore)
        const columns = naiveColumns(plan, T.struct('Row', [{ name: 'user_id', type: T.long }, { name: 'refund_amt', type: T.double }]) as never)
        let compared = 0
        // Every key once, a fifth of them twice (mid-stream, where windows hold both complete and open tiles).
        const queries = [...byKey].flatMap(([key, events]) =>
          (key % 5 === 0 ? [NOW - 9 * 86_400_000 + 7_777, NOW + 3_600_000] : [NOW + 3_600_000]).map(q => ({ key, events, q })))
        // 32 fetches in flight at a time: one after the other, the check waited ~20 s on Redis round trips.
        for (let i = 0; i < queries.length; i += 32) {
          const chunk = queries.slice(i, i + 32)
          const fetched = await Promise.all(chunk.map(async ({ key, q }) => await fetchFeatures(read, multiStore, [key], q, { headTile: 'start' }))) // the oracle's tiled mode is the start rule
          chunk.forEach(({ key, events, q }, j) => {
            const { features } = fetched[j]!
            const expected = naiveFeatures(events, columns, q, plan.tileSizeMillis)
            for (const c of columns) {
              assert.ok(matchesNaive(features[c.name], expected[c.name]), `key ${key} at ${q}: ${c.name} = ${JSON.stringify(features[c.name])}, oracle ${JSON.stringify(expected[c.name])}`)
              compared++
            }
          })
        }
        assert.ok(compared > 3000 * columns.length * 0.9, `compared ${compared}`)
        phase(`fetch equals the oracle (${compared} features)`)
      } finally {
        await refStore.close()
        await multiStore.close()
      }
    })
  })
}
