// The untiled daemon (run --untiled) against a real Kafka broker (started by the test runner): end to end against
// the oracle's untiled mode, and crash recovery — SIGKILLed at fault points (mid-write, mid-checkpoint, between
// checkpoint and offset commit) and at random moments, restarted each time (with 3 or 1 workers: an untiled
// checkpoint holds positions only), the store's full contents must equal an uninterrupted untiled run's byte for
// byte. Replaying past the last checkpoint rewrites events that were already stored: their identities (partition,
// offset, row) make that a no-op, so nothing is doubled.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { T } from '../../src/api/data-type.ts'
import { produce, produceGeneratorOptions, type ProduceOptions } from '../../src/cli/produce.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { fetchFeatures, loadReadSide } from '../../src/fetch/tiled-read.ts'
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'
import { generateEvents, generatorSchema, Random } from '../../src/source/generator.ts'
import { startTilekiln, tilekiln } from '../helpers/cli.ts'
import { naiveColumns } from '../helpers/engine.ts'
import { groupByPath } from '../helpers/reference.ts'
import { dumpLines } from '../helpers/store-dump.ts'
import { naiveFeatures, type NaiveEvent } from '../reference/naive.ts'
import { matchesNaive } from '../reference/naive-ops.ts'

const BROKERS = process.env.TILEKILN_TEST_KAFKA
const GB = groupByPath('airbnb-chronon/api/py/test/sample/production/group_bys/quickstart/returns.v1')
const plan = compilePlan(JSON.parse(readFileSync(GB, 'utf8')))
const NOW = Date.UTC(2026, 10, 1)
const COUNT = 100_000

const skip = BROKERS === undefined ? 'needs a Kafka broker: run through `npm test`' : false

describe('Kafka source, untiled', { skip }, () => {
  const work = mkdtempSync(join(tmpdir(), 'tilekiln-kafka-untiled-'))
  const schemaFile = join(work, 'schema.avsc')
  const topic = `returns-untiled-${process.pid}`
  let reference: string[] = []

  const produceOptions = (): ProduceOptions => ({
    brokers: BROKERS!, topic, plan, count: COUNT, seed: 13, partitions: 4, format: 'avro', malformedFraction: 0, keys: 1500, zipf: 0.8,
    spanMillis: 30 * 86_400_000, disorderMillis: 60_000, lateFraction: 0, schemaOut: schemaFile, library: 'kafkajs', batch: 5000,
    keyType: 'long', now: NOW
  })

  /** A fresh consumer group per incarnation: recovery seeks to the checkpoint's offsets whatever the group. */
  const runArgs = (dir: string, workers: number, extra: string[] = [], incarnation = 0): string[] =>
    ['run', '--untiled', '--group-by', GB, '--source', `kafka:${BROKERS}/${topic}`, '--schema', schemaFile, '--store', `embedded:${join(dir, 'store')}`,
      '--group-id', `g-${topic}-${dir.split('-').pop()}-${incarnation}`, '--workers', String(workers),
      '--until-end', '--progress', '0', '--json', ...extra]

  before(async () => { await produce(produceOptions()) })
  after(() => rmSync(work, { recursive: true, force: true }))

  test(`${COUNT.toLocaleString('en-US')} Avro events from a 4-partition topic, untiled: one entry per event, fetch for every key equals the untiled oracle`, async () => {
    const dir = mkdtempSync(join(work, 'ref-'))
    const r = await tilekiln(runArgs(dir, 2))
    assert.equal(r.code, 0, r.stderr)
    const summary = JSON.parse(r.stdout)
    assert.equal(summary.records, COUNT)
    assert.equal(summary.deadLetters, 0)
    assert.equal(summary.tilesWritten, COUNT, 'one put per event')
    reference = await dumpLines(join(dir, 'store'))
    assert.equal(reference.length, 1 + COUNT, 'the serving info and one entry per event')

    const gen = produceGeneratorOptions(produceOptions(), NOW)
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
      assert.equal(read.serving.untiled, true)
      const columns = naiveColumns(plan, T.struct('Row', [{ name: 'user_id', type: T.long }, { name: 'refund_amt', type: T.double }]) as never)
      let compared = 0
      for (const [key, events] of byKey) {
        // SUM, COUNT, AVERAGE: the order of equal event times does not matter (sums within 1e-9).
        events.sort((a, b) => a.ts - b.ts)
        for (const q of [NOW - 10 * 86_400_000 + 12_345, NOW + 3_600_000 + 1]) {
          const { features } = await fetchFeatures(read, store, [key], q)
          const expected = naiveFeatures(events, columns, q, plan.tileSizeMillis, 'untiled')
          for (const c of columns) {
            assert.ok(matchesNaive(features[c.name], expected[c.name]), `key ${key} at ${q}: ${c.name} = ${JSON.stringify(features[c.name])}, oracle ${JSON.stringify(expected[c.name])}`)
            compared++
          }
        }
      }
      assert.ok(compared > 1000 * 9)
    } finally {
      await store.close()
    }
  })

  test('crash test, untiled: SIGKILLed 8 times (fault points first, then random moments), restarted with 3 or 1 workers, the store equals an uninterrupted run\'s', async () => {
    assert.ok(reference.length > 0, 'the reference run must have succeeded')
    const dir = mkdtempSync(join(work, 'crash-'))
    const rnd = new Random(202)
    const faults: (string | undefined)[] = ['write-mid-batch:3', 'checkpoint-before-write:2', undefined, 'checkpoint-before-commit:2']
    let kills = 0
    for (let i = 0; i < 8; i++) {
      const fault = faults[i]
      const p = startTilekiln(runArgs(dir, i % 2 === 0 ? 3 : 1, ['--checkpoint-interval', '300'], i), fault === undefined ? {} : { TILEKILN_FAULT: fault })
      const timer = setTimeout(() => p.child.kill('SIGKILL'), 250 + rnd.int(900))
      const r = await p.done
      clearTimeout(timer)
      if (r.code !== 0) kills++
      else break // finished before the kill: nothing left to crash
    }
    // The three fault points crash their run while input is left (it is: they come first); random kills land or
    // not, depending on how fast the machine consumes the topic.
    assert.ok(kills >= 3, `only ${kills} run(s) were killed`)
    const final = await tilekiln(runArgs(dir, 2, ['--checkpoint-interval', '300'], 99))
    assert.equal(final.code, 0, final.stderr)
    const lines = await dumpLines(join(dir, 'store'))
    assert.equal(lines.length, reference.length)
    for (let i = 0; i < lines.length; i++) assert.equal(lines[i], reference[i], `entry ${i} differs`)
  })
})
