// Shared test helpers: evaluate one expression as a select, through the generated code and through the baseline
// interpreter, so every case checks both implementations.

import assert from 'node:assert/strict'
import { type DataType, type StructType, T } from '../../src/api/data-type.ts'
import { interpretQuery } from '../../bench/expr-interpreter.ts'
import { compileQueryWithSource } from '../../src/expr/compile.ts'
import type { QuerySpec } from '../../src/expr/query.ts'

/** The input schema of the expression table: one column per type, plus NULL-valued ones (prefix n_). */
export const SCHEMA = T.struct('Row', [
  { name: 'i', type: T.int },
  { name: 'l', type: T.long },
  { name: 'd', type: T.double },
  { name: 'f', type: T.float },
  { name: 'sh', type: T.short },
  { name: 'by', type: T.byte },
  { name: 's', type: T.string },
  { name: 'b', type: T.boolean },
  { name: 'bin', type: T.binary },
  { name: 'dt', type: T.date },
  { name: 'ts', type: T.timestamp },
  { name: 'ms', type: T.long },
  { name: 'ai', type: T.list(T.int) },
  { name: 'as', type: T.list(T.string) },
  { name: 'an', type: T.list(T.int) },
  { name: 'm', type: T.map(T.string, T.string) },
  { name: 'mi', type: T.map(T.string, T.int) },
  { name: 'st', type: T.struct('St', [{ name: 'x', type: T.int }, { name: 'y', type: T.string }]) },
  { name: 'js', type: T.string },
  { name: 'n_i', type: T.int },
  { name: 'n_l', type: T.long },
  { name: 'n_d', type: T.double },
  { name: 'n_s', type: T.string },
  { name: 'n_b', type: T.boolean },
  { name: 'n_ai', type: T.list(T.int) },
  { name: 'n_m', type: T.map(T.string, T.string) },
  { name: 'imax', type: T.int },
  { name: 'imin', type: T.int },
  { name: 'lmax', type: T.long },
  { name: 'lmin', type: T.long }
]) as StructType

export const ROW: Record<string, unknown> = {
  i: 7, l: 10_000_000_000, d: 2.5, f: 1.5, sh: 300, by: 100, s: 'Spark SQL', b: true,
  bin: new Uint8Array([104, 105]), dt: 19_000, ts: 1_700_000_000_123_456, ms: 1_700_000_000_123,
  ai: [1, 2, 3], as: ['b', 'a', 'c'], an: [1, null, 3], m: { a: '1', b: '2', __proto__x: 'p' }, mi: { x: 1, y: 2 },
  st: { x: 5, y: 'why' }, js: '{"a":{"b":[10, 2.50, {"c":"deep"}]},"s":"str","n":null,"t":true}',
  n_i: null, n_l: null, n_d: null, n_s: null, n_b: null, n_ai: null, n_m: null,
  imax: 2147483647, imin: -2147483648, lmax: 9223372036854775807n, lmin: -9223372036854775808n
}

export function spec (selects: Record<string, string> | null, wheres: string[] = [], timeColumn = 'ms'): QuerySpec {
  return { selects, wheres, timeColumn, groupBy: 'test.group_by', path: 'sources[0].events.query' }
}

/** Runs a query through the compiled code, collecting copies of the emitted rows. */
export function rowsOf (q: { run: (r: any, out: unknown[], emit: () => void) => void }, record: Record<string, unknown>): unknown[][] {
  const rows: unknown[][] = []
  const out: unknown[] = []
  q.run(record, out, () => rows.push([...out]))
  return rows
}

export interface EvalResult { value: unknown, type: DataType, source: string }

/** Evaluates `expr` as the only select over ROW (or `row`); asserts that the interpreter agrees. */
export function evalExpr (expr: string, row: Record<string, unknown> = ROW, schema: StructType = SCHEMA): EvalResult {
  const sp = spec({ v: expr })
  const q = compileQueryWithSource(sp, schema, ['v'])
  const rows = rowsOf(q, row)
  assert.equal(rows.length, 1, `one row expected from ${expr}`)
  const value = rows[0]![0]
  const interpreted: unknown[][] = []
  const out: unknown[] = []
  interpretQuery(sp, schema, ['v'])(row, out, () => interpreted.push([...out]))
  assert.deepEqual(normalize(interpreted[0]![0]), normalize(value), `the interpreter disagrees with the generated code on ${expr}`)
  return { value, type: q.columns[0]!.type, source: q.source }
}

/** Uint8Array vs Buffer and own-prototype differences are not what the tests are about. */
export function normalize (v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: [...v] }
  if (Array.isArray(v)) return v.map(normalize)
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)]))
  return v
}
