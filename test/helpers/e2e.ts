// End to end on generated events: a GroupBy and an input Avro schema go through the generator source and the real
// engine (worker threads, rings, expression evaluation, kernels, tile encoding, LMDB); the same events are replayed
// (`generateEvents` is a pure function of the options), evaluated by the baseline interpreter (interpretedQuery) and
// aggregated by the brute-force oracle; `fetch` at several query times must equal it for every key and column.
// With `engine.untiled` the engine stores raw events and the oracle runs in its untiled mode (ts < Q; events in the
// store's order: event time, then source partition, position and row index).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { compilePlan, type Plan } from '../../src/config/plan.ts'
import type { EngineOptions } from '../../src/engine/engine.ts'
import { generateEvents, generatorSchema, openGeneratorSource, parseGeneratorOptions } from '../../src/source/generator.ts'
import { defaultHeadTile } from '../../src/fetch/tiled-read.ts'
import { type NaiveColumn, type NaiveEvent, type NaiveMode, inWindow, lastArrivals, naiveFeatures, tiledMode } from '../reference/naive.ts'
import { GroupedList, matchesNaive } from '../reference/naive-ops.ts'
import { interpretedQuery, naiveColumns, runEngine } from './engine.ts'
import { repoRoot } from './reference.ts'

export function readJson (path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'))
}

export function fixture (name: string): unknown {
  return readJson(join(repoRoot, 'test', 'engine', 'fixtures', name))
}

/**
 * Checks one column whose value the oracle cannot compute by itself (sketches): given the engine's value and the
 * window's non-null input values (arrival order), returns null when right, else what is wrong.
 */
export type ColumnCheck = (actual: unknown, values: readonly unknown[], column: NaiveColumn) => string | null

export interface GeneratedRun {
  readonly groupBy: unknown
  /** The input's Avro schema (a record), as `--schema` takes it. */
  readonly schema: unknown
  /** Generator options, as `--source generator:…` takes them (late events only without EXPLODE: see below). */
  readonly generator: string
  /** Late events generated this far into the stream are surely behind the watermark (earlier ones may not be). */
  readonly warmup?: number
  readonly workers: number
  /** Query times, given the first and last event times (of events not generated late). */
  readonly times: (start: number, end: number) => number[]
  /** Checks by operation name, for the columns the oracle does not know. */
  readonly checks?: Readonly<Record<string, ColumnCheck>>
  readonly engine?: Partial<EngineOptions>
}

export interface GeneratedRunReport {
  readonly records: number
  readonly rows: number
  readonly keys: number
  readonly compared: number
  readonly filtered: number
  /** Rows with a null key value (aggregated under that key, as Chronon does). */
  readonly nullKeyRows: number
  /** Records dead-lettered as late. */
  readonly late: number
  /** Per column name: how many comparisons had a non-null expected value. */
  readonly nonNull: Readonly<Record<string, number>>
}

const keyOf = (values: readonly unknown[]): string => JSON.stringify(values, (_k, v) => (typeof v === 'bigint' ? Number(v) : v))

/** Struct payloads come out of the engine as positional arrays; the interpreter makes objects by field name. */
function positional (expected: unknown, column: NaiveColumn): unknown {
  const elem = column.inputType.startsWith('list<') ? column.inputType.slice(5, -1) : column.inputType
  if (!elem.startsWith('struct<')) return expected
  const conv = (v: unknown): unknown => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.values(v) : v)
  if (expected instanceof GroupedList) return new GroupedList(expected.groups.map(g => ({ values: g.values.map(conv), take: g.take })))
  if (Array.isArray(expected)) return expected.map(conv)
  return conv(expected)
}

const show = (v: unknown): string => JSON.stringify(v, (_k, x) => (x instanceof Map ? Object.fromEntries(x) : typeof x === 'bigint' ? `${x}n` : x))

/**
 * Runs the engine on the generated events and compares every key at every query time with the oracle. Late events
 * are refused with EXPLODE: one record is then judged by several workers, each against the watermark of its own
 * batch, so which rows of a late record survive is not a function of the events. Without it, a late record is
 * dead-lettered whole or not at all, and the oracle leaves out exactly the dead-lettered ones (checking that only
 * generated-late records were, and every one of them past `warmup`).
 */
export async function generatedEndToEnd (o: GeneratedRun): Promise<GeneratedRunReport> {
  const plan: Plan = compilePlan(o.groupBy)
  const opts = parseGeneratorOptions(o.generator)
  const explodes = Object.values(plan.source.selects ?? {}).some(e => /\bexplode(_outer)?\s*\(/i.test(e))
  assert.ok(opts.late === 0 || !explodes, 'late events with EXPLODE are not a function of the events')
  // fetch reads by the GroupBy's default head-tile rule (airbnb: latest, zipline: start); the oracle follows it
  const mode: NaiveMode = o.engine?.untiled === true ? 'untiled' : tiledMode(defaultHeadTile(plan))
  const source = openGeneratorSource(plan, opts, o.schema)
  const run = await runEngine(o.groupBy, source, { workers: o.workers, ring: { maxRecords: 512 }, ...o.engine })
  try {
    const dead = run.deadLetters.records
    const lateDead = new Set<number>()
    for (const d of dead) {
      if (d.code === 'TK_LATE') lateDead.add(d.position)
      else assert.equal(d.code, 'TK_INPUT', `unexpected dead letter at ${d.position}: ${d.reason}`)
    }
    // Replay and evaluate with the interpreter.
    const { schema, roles } = generatorSchema(plan, opts, o.schema)
    const query = interpretedQuery(plan, schema)
    const byKey = new Map<string, { key: unknown[], events: (NaiveEvent & { readonly id: readonly number[] })[] }>()
    let rows = 0
    let nullKeyRows = 0
    let filtered = 0
    let first = Infinity
    let last = -Infinity
    for (const ev of generateEvents(plan, opts, schema, roles)) {
      if (lateDead.has(ev.seq)) assert.ok(ev.late, `on-time record ${ev.seq} was dead-lettered as late`)
      else assert.ok(!ev.late || ev.seq < (o.warmup ?? 0), `late record ${ev.seq} (ts ${ev.ts}) was aggregated`)
      const record: Record<string, unknown> = {}
      schema.fields.forEach((f, i) => { record[f.name] = ev.values[i] })
      const made = query.rows(record)
      if (made.length === 0) filtered++
      for (let j = 0; j < made.length; j++) {
        const r = made[j]!
        const key = plan.keyColumns.map(k => r.row[k])
        if (key.some(v => v === null || v === undefined)) nullKeyRows++
        if (lateDead.has(ev.seq)) continue
        assert.equal(typeof r.ts, 'number', `record ${ev.seq}: the interpreter's time column is ${show(r.ts)}`)
        const ts = r.ts as number
        if (!ev.late) { first = Math.min(first, ts); last = Math.max(last, ts) }
        const k = keyOf(key)
        const entry = byKey.get(k) ?? { key, events: [] }
        entry.events.push({ ts, row: r.row, id: [ev.partition, ev.seq, j] })
        byKey.set(k, entry)
        rows++
      }
    }

    // Nothing is lost or doubled: every record read, every row aggregated exactly once (a row with a null key value
    // too: it is a key of its own, as in Chronon), and a dead letter for each late record and nothing else.
    assert.equal(run.summary.records, opts.count, 'records read')
    assert.equal(run.summary.rows, rows, 'rows aggregated (a dropped or doubled row changes this)')
    assert.deepEqual(dead.filter(d => d.code === 'TK_INPUT').map(d => d.reason), [], 'no input dead letters')
    assert.equal(dead.length, lateDead.size, 'one dead letter per late record')

    if (mode === 'untiled') {
      const order = (a: readonly number[], b: readonly number[]): number => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!
      for (const { events } of byKey.values()) events.sort((a, b) => a.ts - b.ts || order(a.id, b.id))
    }
    const columns = naiveColumns(plan, query.rowTypes)
    const times = o.times(first, last)
    const nonNull: Record<string, number> = Object.fromEntries(columns.map(c => [c.name, 0]))
    let compared = 0
    for (const { key, events } of byKey.values()) {
      const lastOfTile = lastArrivals(events, plan.tileSizeMillis)
      for (const q of times) {
        const actual = await run.fetch(key, q)
        const expected = naiveFeatures(events, columns.filter(c => o.checks?.[c.op] === undefined), q, plan.tileSizeMillis, mode)
        for (const c of columns) {
          const check = o.checks?.[c.op]
          const a = actual[c.name]
          const where = `key ${keyOf(key)} at ${q} (${o.workers} worker(s)): ${c.name}`
          if (check !== undefined) {
            const values = events.filter(e => inWindow(e.ts, q, c.window, plan.tileSizeMillis, mode, lastOfTile.get(Math.floor(e.ts / plan.tileSizeMillis) * plan.tileSizeMillis))).map(e => e.row[c.inputColumn]).filter(v => v !== null && v !== undefined)
            const problem = check(a, values, c)
            assert.equal(problem, null, `${where} = ${show(a)}: ${problem}`)
            if (values.length > 0) nonNull[c.name]!++
          } else {
            const e = positional(expected[c.name], c)
            assert.ok(matchesNaive(a, e), `${where} = ${show(a)}, oracle ${show(e instanceof GroupedList ? { oneOf: e.groups } : e)}`)
            if (expected[c.name] !== null) nonNull[c.name]!++
          }
          compared++
        }
      }
    }
    return { records: opts.count, rows, keys: byKey.size, compared, filtered, nullKeyRows, late: lateDead.size, nonNull }
  } finally {
    await run.cleanup()
  }
}
