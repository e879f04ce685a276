// The whole pipeline against the brute-force oracle: seeded random events (skewed keys, out-of-order within the
// watermark bound, very late events, nulls) run through the real engine — worker threads, rings, WASM kernels,
// JS IRs, tile encoding, the LMDB store — then `fetch` at many query times must equal the oracle computed from the
// same events, for every operation of the GroupBy. A single dropped or double-counted event changes some value.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { avroSchemaOf } from '../../src/codec/avro.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { defaultHeadTile } from '../../src/fetch/tiled-read.ts'
import { generateEvents, generatorSchema, openGeneratorSource, parseGeneratorOptions } from '../../src/source/generator.ts'
import { naiveColumns, runEngine } from '../helpers/engine.ts'
import { naiveFeatures, type NaiveEvent, tiledMode } from '../reference/naive.ts'
import { matchesNaive } from '../reference/naive-ops.ts'
import { GEN, PROPERTY_GROUP_BY, SCHEMA, START } from './fixtures/property-group-by.ts'

/** Late events this far into the stream are surely behind the watermark; earlier ones may or may not be. */
const WARMUP = 10_000

function events (): { all: (NaiveEvent & { seq: number, key: number, late: boolean })[] } {
  const plan = compilePlan(PROPERTY_GROUP_BY)
  const opts = parseGeneratorOptions(GEN)
  const { schema, roles } = generatorSchema(plan, opts, avroSchemaOf(SCHEMA))
  const all = []
  for (const ev of generateEvents(plan, opts, schema, roles)) {
    const row: Record<string, unknown> = {}
    schema.fields.forEach((f, i) => { row[f.name] = ev.values[i] })
    all.push({ seq: ev.seq, ts: ev.ts, row, key: ev.keyValues[0] as number, late: ev.late })
  }
  return { all }
}

for (const workers of [1, 3]) {
  test(`engine = oracle for every operation, with out-of-order and late events (${workers} worker${workers > 1 ? 's' : ''})`, async () => {
    const plan = compilePlan(PROPERTY_GROUP_BY)
    const source = openGeneratorSource(plan, parseGeneratorOptions(GEN), avroSchemaOf(SCHEMA))
    const run = await runEngine(PROPERTY_GROUP_BY, source, { workers, ring: { maxRecords: 512 }, evaluator: 'column-refs' })
    try {
      const { all } = events()
      // Dead letters: only events generated late, and every late one past the warm-up.
      const dead = new Set<number>()
      for (const d of run.deadLetters.records) {
        assert.equal(d.code, 'TK_LATE', `unexpected dead letter: ${d.reason}`)
        assert.ok(all[d.position]!.late, `on-time event ${d.position} was dead-lettered: ${d.reason}`)
        dead.add(d.position)
      }
      const surelyLate = all.filter(e => e.late && e.seq >= WARMUP)
      assert.ok(surelyLate.length > 100)
      for (const e of surelyLate) assert.ok(dead.has(e.seq), `late event ${e.seq} (ts ${e.ts}) was aggregated`)
      assert.equal(run.summary.records, all.length)

      const kept = all.filter(e => !dead.has(e.seq))
      const byKey = new Map<number, NaiveEvent[]>()
      for (const e of kept) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e])
      const columns = naiveColumns(plan, SCHEMA)
      const end = START + 40000 * 2500
      const times = [START + 3_600_000, START + 7 * 3_600_000 + 1, START + 13 * 3_600_000 + 150_000, START + 20 * 3_600_000 + 299_999, end - 60_000, end + 3_600_000, end + 26 * 3_600_000]
      const allKeys = [...byKey.keys()].sort((a, b) => a - b)
      let compared = 0
      let rulesDiffer = 0
      for (const key of allKeys) {
        // Every key at the end of time; a third of them at every query time. Each read by both head-tile rules,
        // each against the oracle of its rule (test/reference/naive.ts).
        for (const q of allKeys.indexOf(key) % 3 === 0 ? times : [end + 3_600_000]) {
          const byRule: Record<string, Record<string, unknown>> = {}
          for (const rule of ['start', 'latest'] as const) {
            const actual = await run.fetch([key], q, rule)
            const expected = naiveFeatures(byKey.get(key)!, columns, q, plan.tileSizeMillis, tiledMode(rule))
            byRule[rule] = expected
            for (const c of columns) {
              assert.ok(matchesNaive(actual[c.name], expected[c.name]),
                `key ${key} at ${q}, head tile by ${rule}: ${c.name} = ${JSON.stringify(actual[c.name])}, oracle ${JSON.stringify(expected[c.name], (_k, v) => (v instanceof Map ? Object.fromEntries(v) : v))}`)
              compared++
            }
          }
          if (JSON.stringify(byRule.start, (_k, v) => (v instanceof Map ? [...v] : v)) !== JSON.stringify(byRule.latest, (_k, v) => (v instanceof Map ? [...v] : v))) rulesDiffer++
        }
      }
      assert.ok(compared > 10000)
      // the query times inside tiles must make the rules disagree, or this test could not tell them apart
      assert.ok(rulesDiffer > 20, `the two head-tile rules differ on only ${rulesDiffer} reads`)
      // the default is the flavour's rule
      const k0 = allKeys[0]!
      assert.deepEqual(await run.fetch([k0], times[2]!), await run.fetch([k0], times[2]!, defaultHeadTile(plan)))
    } finally {
      await run.cleanup()
    }
  })
}
