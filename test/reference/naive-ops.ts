// The correctness oracle's operations: each Chronon operation's *finalized* result computed straight from the list
// of input values, by brute force, with no IRs, no merging and no code shared with src/agg. If the engine's
// update/merge/encode/decode/finalize chain is right, its fetched value equals this.
//
// `values` are the non-null inputs of one key within one window, in the order the engine received them (arrival
// order decides ties where Chronon's does, e.g. FIRST/LAST with equal timestamps). Where Chronon's answer depends
// on more than the multiset of inputs — HISTOGRAM's top-k ties (HashMap order), FIRST_K/LAST_K among equal
// timestamps (heap positions) — the oracle returns a marker (OneOfMapEntries, GroupedList) naming every correct
// answer, and `matchesNaive` compares with it. Struct values are plain objects by field name.

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
  LAST (values) { return timed(values, true) },
  UNIQUE_COUNT (values, spec) {
    const xs = explode(values, spec)
    if (xs.length === 0) return null
    // Java byte arrays are equal only to themselves: Chronon never de-duplicates binary values.
    if (elementType(spec) === 'binary') return xs.length
    return new Set(xs.map(x => javaEqualityKey(x.value))).size
  },
  BOUNDED_UNIQUE_COUNT (values, spec) {
    const distinct = NAIVE_OPS.UNIQUE_COUNT!(values, spec) as number | null
    return distinct === null ? null : Math.min(distinct, intArg(spec, 'k', 8))
  },
  HISTOGRAM (values, spec) {
    const xs = explode(values, spec)
    if (xs.length === 0) return null
    const counts: Record<string, number> = {}
    for (const x of xs) counts[x.value as string] = (counts[x.value as string] ?? 0) + 1
    const k = intArg(spec, 'k', 0)
    const entries = Object.entries(counts)
    if (k <= 0 || entries.length <= k) return counts
    const cutOff = entries.map(e => e[1]).sort((a, b) => b - a)[k - 1]!
    const above = entries.filter(e => e[1] > cutOff)
    const tied = entries.filter(e => e[1] === cutOff)
    // Which tied keys Chronon keeps follows java.util.HashMap iteration order, which depends on the IR's history:
    // any choice of the right number of them is correct.
    if (above.length + tied.length === k) return Object.fromEntries([...above, ...tied])
    return new OneOfMapEntries(Object.fromEntries(above), Object.fromEntries(tied), k - above.length)
  },
  TOP_K (values, spec) { return ranked(explode(values, spec).map(x => x.value), spec, true) },
  BOTTOM_K (values, spec) { return ranked(explode(values, spec).map(x => x.value), spec, false) },
  FIRST_K (values, spec) { return timedK(values, spec, false) },
  LAST_K (values, spec) { return timedK(values, spec, true) },
  SKEW (values, spec) {
    const xs = explode(values, spec).map(x => num(x.value))
    if (xs.length === 0) return null
    const { n, m2, m3 } = centralSums(xs)
    return n < 3 || m2 === 0 ? null : sanitize(Math.sqrt(n) * m3 / Math.pow(m2, 1.5))
  },
  KURTOSIS (values, spec) {
    const xs = explode(values, spec).map(x => num(x.value))
    if (xs.length === 0) return null
    const { n, m2, m4 } = centralSums(xs)
    return n < 4 || m2 === 0 ? null : sanitize(n * m4 / (m2 * m2) - 3)
  },
  UNIQUE_TOP_K (values, spec) {
    if (values.length === 0) return null
    const k = intArg(spec, 'k')
    const elem = elementType(spec)
    const struct = elem.startsWith('struct<')
    const id = (v: unknown): unknown => struct ? structField(v, 'unique_id') : elem === 'string' ? javaStringHash(v as string) : v
    const key = (v: unknown): unknown => struct ? structField(v, 'sort_key') : v
    const firstById = new Map<unknown, unknown>()
    for (const x of values) if (!firstById.has(id(x.value))) firstById.set(id(x.value), x.value)
    return [...firstById.values()].sort((a, b) => compareNatural(key(b), key(a))).slice(0, k)
  }
}

/**
 * An expected map of which some entries are fixed (`required`) and `take` more are any of `tied` (HISTOGRAM's
 * top-k with ties at the cut-off). `matchesNaive` understands it.
 */
export class OneOfMapEntries {
  constructor (readonly required: Record<string, unknown>, readonly tied: Record<string, unknown>, readonly take: number) {}
}

/**
 * An expected list made of consecutive groups: from each group, `take` of its `values` in any order (FIRST_K /
 * LAST_K with equal timestamps, where heap positions decide which payloads survive and in what order).
 */
export class GroupedList {
  constructor (readonly groups: readonly { values: readonly unknown[], take: number }[]) {}
}

function elementType (spec: NaiveSpec): string {
  return spec.inputType.startsWith('list<') ? spec.inputType.slice(5, -1) : spec.inputType
}

function intArg (spec: NaiveSpec, name: string, dflt?: number): number {
  const raw = spec.argMap[name]
  if (raw === undefined) {
    if (dflt === undefined) throw new Error(`the oracle needs argMap.${name}`)
    return dflt
  }
  return parseInt(raw, 10)
}

/** Java equals of boxed values as a Set key: Double.equals tells -0.0 from 0.0 and makes every NaN equal. */
function javaEqualityKey (v: unknown): unknown {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0.0' : Number.isNaN(v) ? 'NaN' : v
  if (typeof v === 'bigint') return Number(v)
  return v
}

function javaStringHash (s: string): number {
  let h = 0
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0
  return h
}

function structField (v: unknown, name: string): unknown {
  return Array.isArray(v) ? undefined : (v as Record<string, unknown>)[name]
}

/** Java's natural orders: Double.compare for numbers (NaN last, -0.0 < 0.0), UTF-16 order for strings. */
function compareNatural (a: unknown, b: unknown): number {
  if (typeof a === 'string') return a < (b as string) ? -1 : a > (b as string) ? 1 : 0
  const x = Number(a)
  const y = Number(b)
  if (x < y) return -1
  if (x > y) return 1
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : 1) : -1
  return (Object.is(x, -0) ? 0 : 1) - (Object.is(y, -0) ? 0 : 1)
}

/** TOP_K / BOTTOM_K: the k largest (descending) or smallest (ascending); duplicates count. */
function ranked (xs: unknown[], spec: NaiveSpec, top: boolean): unknown {
  if (xs.length === 0) return null
  const k = intArg(spec, 'k')
  return xs.slice().sort((a, b) => (top ? compareNatural(b, a) : compareNatural(a, b))).slice(0, k)
}

/** FIRST_K / LAST_K: payloads of the k oldest (or newest) events; equal timestamps make a GroupedList. */
function timedK (values: readonly TimedValue[], spec: NaiveSpec, last: boolean): unknown {
  if (values.length === 0) return null
  const k = intArg(spec, 'k')
  const byTs = new Map<number, unknown[]>()
  for (const v of values) {
    const g = byTs.get(v.ts) ?? []
    g.push(v.value)
    byTs.set(v.ts, g)
  }
  const order = [...byTs.keys()].sort((a, b) => (last ? b - a : a - b))
  const groups: { values: unknown[], take: number }[] = []
  let left = k
  for (const ts of order) {
    if (left === 0) break
    const g = byTs.get(ts)!
    groups.push({ values: g, take: Math.min(left, g.length) })
    left -= Math.min(left, g.length)
  }
  if (groups.every(g => g.values.length === 1)) return groups.map(g => g.values[0])
  return new GroupedList(groups)
}

function centralSums (xs: readonly number[]): { n: number, m2: number, m3: number, m4: number } {
  const n = xs.length
  const mean = xs.reduce((a, b) => a + b, 0) / n
  let m2 = 0; let m3 = 0; let m4 = 0
  for (const x of xs) {
    const d = x - mean
    m2 += d * d
    m3 += d * d * d
    m4 += d * d * d * d
  }
  return { n, m2, m3, m4 }
}

/**
 * Whether an engine value (with Maps already turned into plain objects) equals a naive one: numbers within
 * `relTol` relative (absolute near zero), the ambiguity markers above resolved, everything else exactly.
 */
export function matchesNaive (actual: unknown, expected: unknown, relTol = 1e-9): boolean {
  if (expected instanceof OneOfMapEntries) {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false
    const a = actual as Record<string, unknown>
    const keys = Object.keys(a)
    if (keys.length !== Object.keys(expected.required).length + expected.take) return false
    return keys.every(key => key in expected.required
      ? matchesNaive(a[key], expected.required[key], relTol)
      : key in expected.tied && matchesNaive(a[key], expected.tied[key], relTol))
  }
  if (expected instanceof GroupedList) {
    if (!Array.isArray(actual)) return false
    let pos = 0
    for (const g of expected.groups) {
      const slice = actual.slice(pos, pos + g.take)
      pos += g.take
      const pool = g.values.slice()
      for (const x of slice) {
        const i = pool.findIndex(p => matchesNaive(x, p, relTol))
        if (i < 0) return false
        pool.splice(i, 1)
      }
      if (slice.length !== g.take) return false
    }
    return pos === actual.length
  }
  if (typeof expected === 'number' && typeof actual === 'number') {
    if (Number.isNaN(expected) || Number.isNaN(actual)) return Number.isNaN(expected) && Number.isNaN(actual)
    if (expected === actual) return true
    return Math.abs(actual - expected) <= relTol * Math.max(1, Math.abs(expected))
  }
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => matchesNaive(actual[i], e, relTol))
  }
  if (expected instanceof Uint8Array) return actual instanceof Uint8Array && actual.length === expected.length && actual.every((b, i) => b === expected[i])
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false
    const e = expected as Record<string, unknown>
    const a = actual as Record<string, unknown>
    const keys = Object.keys(e)
    return keys.length === Object.keys(a).length && keys.every(k => k in a && matchesNaive(a[k], e[k], relTol))
  }
  return Object.is(actual, expected) || (typeof actual === 'bigint' || typeof expected === 'bigint' ? Number(actual) === Number(expected) : false)
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
