// The correctness oracle's operations: each Chronon operation's *finalized* result computed straight from the list
// of input values, by brute force, with no IRs, no merging and no code shared with src/agg. If the engine's
// update/merge/encode/decode/finalize chain is right, its fetched value equals this.
//
// `values` are the non-null inputs of one key within one window, in the order the engine received them (arrival
// order decides ties where Chronon's does, e.g. FIRST/LAST with equal timestamps).

export interface TimedValue { readonly ts: number, readonly value: unknown }

export interface NaiveSpec {
  /** Chronon operation name, e.g. 'SUM', 'LAST_K'. */
  readonly op: string
  readonly argMap: Readonly<Record<string, string>>
  /** Input column type, e.g. 'long', 'double', 'string', 'list<int>'. */
  readonly inputType: string
}

export type NaiveOp = (values: readonly TimedValue[], spec: NaiveSpec) => unknown

const integral = (t: string): boolean => t === 'int' || t === 'long' || t === 'short' || t === 'byte'

/** List inputs of non-timed operations are exploded, null elements dropped (Chronon's vector aggregation). */
export function explode (values: readonly TimedValue[], spec: NaiveSpec): TimedValue[] {
  if (!spec.inputType.startsWith('list<')) return [...values]
  const out: TimedValue[] = []
  for (const v of values) for (const e of v.value as unknown[]) if (e !== null && e !== undefined) out.push({ ts: v.ts, value: e })
  return out
}

function sanitize (x: unknown): unknown {
  return typeof x === 'number' && !Number.isFinite(x) ? null : x
}

const num = (v: unknown): number => (typeof v === 'boolean' ? (v ? 1 : 0) : Number(v))

export const NAIVE_OPS: Record<string, NaiveOp> = {
  COUNT (values, spec) {
    const xs = explode(values, spec)
    return xs.length === 0 ? null : xs.length
  },
  SUM (values, spec) {
    const xs = explode(values, spec)
    if (xs.length === 0) return null
    let s = 0
    for (const x of xs) s += num(x.value)
    return sanitize(s)
  },
  AVERAGE (values, spec) {
    const xs = explode(values, spec)
    if (xs.length === 0) return null
    let s = 0
    for (const x of xs) s += num(x.value)
    return sanitize(s / xs.length)
  },
  VARIANCE (values, spec) {
    // Two-pass population variance: a different algorithm from the engine's Welford, compared within 1e-9.
    const xs = explode(values, spec).map(x => num(x.value))
    if (xs.length === 0) return null
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length
    return sanitize(xs.reduce((a, x) => a + (x - mean) * (x - mean), 0) / xs.length)
  },
  MIN (values, spec) { return extreme(values, spec, false) },
  MAX (values, spec) { return extreme(values, spec, true) },
  FIRST (values) { return timed(values, false) },
  LAST (values) { return timed(values, true) }
}

function extreme (values: readonly TimedValue[], spec: NaiveSpec, max: boolean): unknown {
  const xs = explode(values, spec).map(x => x.value)
  if (xs.length === 0) return null
  const elem = spec.inputType.startsWith('list<') ? spec.inputType.slice(5, -1) : spec.inputType
  if (elem === 'string') {
    const sorted = [...(xs as string[])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    return max ? sorted[sorted.length - 1] : sorted[0]
  }
  if (integral(elem)) return (xs as number[]).reduce((a, b) => (max ? (b > a ? b : a) : (b < a ? b : a)))
  // Doubles/floats: java.lang.Math.max/min semantics (NaN wins; −0.0 < 0.0), which is what Chronon's Scala 2.12
  // Ordering.Double.max/min calls.
  return sanitize((xs as number[]).reduce((a, b) => (max ? Math.max(a, b) : Math.min(a, b))))
}

function timed (values: readonly TimedValue[], last: boolean): unknown {
  if (values.length === 0) return null
  let best = values[0]!
  for (const v of values) if (last ? v.ts > best.ts : v.ts < best.ts) best = v
  return sanitize(best.value)
}
