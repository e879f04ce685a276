// A seeded synthetic load generator shaped after a GroupBy's input: key columns drawn from `keys` ids with
// optional Zipf skew, event times either real-time (now) or on a synthetic clock (`start` + `step` per event), with
// bounded out-of-order jitter and a fraction of very late events. Records are encoded as Avro (Chronon
// conventions: every field ["null", T]) or JSON, exactly like a producer would put them on a topic.
//
//   generator:keys=100000,zipf=1.1,rate=200000,count=1000000,seed=7,start=1700000000000,step=2,disorder=60000,late=0.01
//
// The event sequence is a pure function of the options (and `Date.now()` in real-time mode), so tests can
// regenerate exactly what the engine consumed (`generateEvents`).
//
// Values are shaped by what the GroupBy's expressions do with them (`valueHints`), so that selects and wheres fire:
// strings are the expressions' string literals (`IF(event_type = 'view', …)`, `IN (…)`); a map gets the keys the
// expressions look up (`attributes['listing_id']`); a string (or map value) that is SPLIT gets delimited tokens, and
// numbers drawn like keys (Zipf over `keys`) when the expression casts to a number — so
// `EXPLODE(TRANSFORM(SPLIT(attributes['ids'], ','), e -> CAST(e AS LONG)))` yields keys; the list input of an
// element-wise aggregation has one fixed length (a tensor). A key computed by an expression is not generated but
// evaluated by the engine's router (`push`), since only evaluation knows which workers a record's rows belong to.

import { type DataType, type StructType, T, isNumeric } from '../api/data-type.ts'
import { avroSchemaOf, compileEncoder, type Encoder } from '../codec/avro.ts'
import { ByteWriter } from '../codec/bytes.ts'
import { asStruct, fromAvroSchema } from '../codec/input-schema.ts'
import { numberProblem } from '../codec/value-range.ts'
import type { Plan } from '../config/plan.ts'
import { TilekilnError } from '../errors.ts'
import type { Node } from '../expr/ast.ts'
import { parseExpression } from '../expr/parser.ts'
import { partitionOfKey } from '../route/ownership.ts'
import type { RecordPusher, Source } from './source.ts'

export interface GeneratorOptions {
  readonly keys: number
  /** Zipf exponent; 0 = uniform. */
  readonly zipf: number
  /** Events per second; 0 = as fast as the engine takes them. */
  readonly rate: number
  /**
   * At a `rate`: events produced between two looks at the clock (a power of two). The generator hands the engine
   * bursts of this many events and sleeps in between, as a source that fetches records in batches does. Default 256:
   * a burst of 4,096 held the main thread ~7 ms, and every record behind it waited that long (latency scenario at
   * 170,000 events/s: p99 28 → 16–18 ms). Unpaced, it yields to the event loop every 4,096 events.
   */
  readonly burst: number
  /** Number of events; Infinity = endless. */
  readonly count: number
  readonly seed: number
  /** Synthetic clock start (epoch ms); undefined = real time. */
  readonly start: number | undefined
  /** Synthetic clock advance per event (ms). */
  readonly step: number
  /** Maximum backwards jitter of event times (ms). */
  readonly disorder: number
  /** Fraction of events that are very late. */
  readonly late: number
  /** How far behind a late event is (ms): between lateBy and 2 × lateBy. */
  readonly lateBy: number
  readonly partitions: number
  /** Probability that a non-key, non-time field is null. */
  readonly nulls: number
  readonly format: 'avro' | 'json'
  /** Key columns as 'long' ids or 'string' ids (`k<id>`). */
  readonly keyType: 'long' | 'string'
}

export const DEFAULT_GENERATOR: GeneratorOptions = {
  keys: 100_000, zipf: 0, rate: 0, burst: 256, count: Infinity, seed: 1, start: undefined, step: 1, disorder: 0, late: 0,
  lateBy: 3_600_000, partitions: 1, nulls: 0, format: 'avro', keyType: 'long'
}

export function parseGeneratorOptions (spec: string): GeneratorOptions {
  const o: Record<string, unknown> = { ...DEFAULT_GENERATOR }
  if (spec.trim() === '') return o as unknown as GeneratorOptions
  for (const kv of spec.split(',')) {
    const [k, v] = kv.split('=') as [string, string | undefined]
    if (v === undefined || !(k in DEFAULT_GENERATOR)) {
      throw new TilekilnError('TK_USAGE', `bad generator option '${kv}' (known: ${Object.keys(DEFAULT_GENERATOR).join(', ')})`)
    }
    if (k === 'format') {
      if (v !== 'avro' && v !== 'json') throw new TilekilnError('TK_USAGE', 'generator format must be avro or json')
      o[k] = v
    } else if (k === 'keyType') {
      if (v !== 'long' && v !== 'string') throw new TilekilnError('TK_USAGE', 'generator keyType must be long or string')
      o[k] = v
    } else {
      const n = v === 'inf' || v === 'Infinity' ? Infinity : Number(v.replace(/_/g, ''))
      if (Number.isNaN(n)) throw new TilekilnError('TK_USAGE', `generator option ${k} must be a number, got '${v}'`)
      o[k] = n
    }
  }
  const burst = o.burst as number
  if (!Number.isInteger(burst) || burst < 1 || burst > 1 << 20 || (burst & (burst - 1)) !== 0) {
    throw new TilekilnError('TK_USAGE', `generator option burst must be a power of two between 1 and 1048576, got ${burst}`)
  }
  return o as unknown as GeneratorOptions
}

/** sfc32: a small, fast, well-distributed 32-bit PRNG; seeded, so runs are reproducible. */
export class Random {
  #a: number; #b: number; #c: number; #d: number
  constructor (seed: number) {
    this.#a = 0x9e3779b9; this.#b = 0x243f6a88; this.#c = 0xb7e15162; this.#d = seed | 0
    for (let i = 0; i < 15; i++) this.next()
  }

  next (): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0
    this.#d = (this.#d + 1) | 0
    this.#a = this.#b ^ (this.#b >>> 9)
    this.#b = (this.#c + (this.#c << 3)) | 0
    this.#c = (this.#c << 21) | (this.#c >>> 11)
    this.#c = (this.#c + t) | 0
    return (t >>> 0) / 4294967296
  }

  int (n: number): number { return Math.floor(this.next() * n) }
}

/** Guide table cells of the Zipf sampler: u's top 16 bits pick one. */
const GUIDE_BITS = 16

/**
 * Key ranks 0..n-1 with P(k) ∝ 1/(k+1)^s: the first rank whose CDF value is ≥ u, for one uniform draw u. A guide
 * table (the first such rank for each 2^-16 step of u) narrows the binary search to the ranks of u's cell: a search
 * over 100,000 ranks missed the caches at most of its 17 steps (~90 ns a draw, a third of the generator's time on
 * Zipf keys); most cells now hold one or two ranks. Same rank for the same u as the full search, so the same events.
 */
export class KeySampler {
  readonly #cdf: Float64Array | null
  readonly #guide: Int32Array | null
  readonly #n: number
  constructor (n: number, s: number) {
    this.#n = n
    if (s <= 0) { this.#cdf = null; this.#guide = null; return }
    const cdf = new Float64Array(n)
    let acc = 0
    for (let k = 0; k < n; k++) { acc += 1 / Math.pow(k + 1, s); cdf[k] = acc }
    for (let k = 0; k < n; k++) cdf[k] = cdf[k]! / acc
    this.#cdf = cdf
    // guide[j] = the first rank whose CDF value is ≥ j / 2^16 (n − 1 if none); u in cell j lies in
    // [j, j + 1) / 2^16, so its rank is in [guide[j], guide[j + 1]].
    const cells = 1 << GUIDE_BITS
    const guide = new Int32Array(cells + 1)
    let k = 0
    for (let j = 0; j <= cells; j++) {
      const at = j / cells
      while (k < n - 1 && cdf[k]! < at) k++
      guide[j] = k
    }
    this.#guide = guide
  }

  sample (r: Random): number {
    if (this.#cdf === null) return r.int(this.#n)
    const u = r.next()
    const cdf = this.#cdf
    const cell = (u * (1 << GUIDE_BITS)) | 0
    let lo = this.#guide![cell]!
    let hi = this.#guide![cell + 1]!
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (cdf[mid]! < u) lo = mid + 1; else hi = mid
    }
    return lo
  }
}

/** Which input field plays which role. */
interface Roles {
  /** Input fields of the key columns that are plain references (all of them unless `computedKeys`). */
  keyFields: string[]
  timeField: string
  /** Some key column is computed by an expression: key values are known only after evaluation. */
  computedKeys: boolean
}

function plainRef (expr: string): string | null {
  const m = /^\s*(?:([A-Za-z_][A-Za-z0-9_]*)|`([^`]+)`)\s*$/.exec(expr)
  return m === null ? null : (m[1] ?? m[2]!)
}

/** The input fields a GroupBy reads, when its selects and time column are plain column references. */
function rolesOf (plan: Plan): Roles {
  const sel = plan.source.selects
  const field = (col: string): string => {
    const expr = sel === null ? col : sel[col]
    const ref = expr === undefined ? null : plainRef(expr)
    if (ref === null) throw new TilekilnError('TK_USAGE', `the generator cannot derive an input schema: '${col}' is computed (${String(expr)}); pass --schema with the input's Avro schema`)
    return ref
  }
  const timeField = plainRef(plan.source.timeColumn)
  if (timeField === null) throw new TilekilnError('TK_USAGE', `the generator cannot derive an input schema: the timeColumn is computed (${plan.source.timeColumn}); pass --schema`)
  return { keyFields: plan.keyColumns.map(field), timeField, computedKeys: false }
}

/** The generator's input schema: given (`--schema`) or derived from the GroupBy's plain-reference selects. */
export function generatorSchema (plan: Plan, opts: GeneratorOptions, given?: unknown): { schema: StructType, roles: Roles } {
  if (given !== undefined) {
    const schema = asStruct(fromAvroSchema(given), '--schema')
    const roles = rolesFromSchema(plan, schema)
    return { schema, roles }
  }
  const roles = rolesOf(plan)
  const fields: { name: string, type: DataType }[] = []
  const add = (name: string, type: DataType): void => { if (!fields.some(f => f.name === name)) fields.push({ name, type }) }
  for (const k of roles.keyFields) add(k, opts.keyType === 'string' ? T.string : T.long)
  add(roles.timeField, T.long)
  const sel = plan.source.selects
  for (const agg of plan.aggregations) {
    for (const b of agg.buckets) add(plainRef(sel?.[b] ?? b) ?? b, T.string)
    const ref = plainRef(sel?.[agg.inputColumn] ?? agg.inputColumn) ?? agg.inputColumn
    add(ref, T.double)
  }
  return { schema: T.struct('GeneratedEvent', fields) as StructType, roles }
}

function rolesFromSchema (plan: Plan, schema: StructType): Roles {
  const sel = plan.source.selects
  const refs = plan.keyColumns.map(k => plainRef(sel?.[k] ?? k))
  const keyFields = refs.filter((r): r is string => r !== null)
  for (const k of keyFields) {
    if (!schema.fields.some(f => f.name === k)) throw new TilekilnError('TK_USAGE', `--schema has no field '${k}' for key column(s) ${plan.keyColumns.join(', ')}`)
  }
  const time = plainRef(plan.source.timeColumn)
  const timeField = time !== null && schema.fields.some(f => f.name === time)
    ? time
    : schema.fields.find(f => ['ts', 'timestamp', 'event_time', 'event_time_ms', 'created'].includes(f.name))?.name
  if (timeField === undefined) throw new TilekilnError('TK_USAGE', '--schema: cannot tell which field holds the event time')
  return { keyFields, timeField, computedKeys: keyFields.length < refs.length }
}

export interface GeneratedEvent {
  readonly seq: number
  readonly partition: number
  readonly ts: number
  readonly late: boolean
  /** Values in schema field order (reused between events by the source; copy to keep). */
  readonly values: unknown[]
  readonly keyValues: unknown[]
}

/** How a string source (a field, or one key of a map field) is used by the expressions. */
interface TextUse { delimiter: string | null, numeric: boolean }

/** What the GroupBy's expressions do with the input, read from their syntax trees. */
export interface ValueHints {
  /** String literals compared with or produced by expressions: a vocabulary that makes IF(col = 'x', …) fire. */
  readonly words: string[]
  /** Map field → the literal keys the expressions look up in it. */
  readonly mapKeys: Map<string, string[]>
  /** `field` or `field\u0000key` (a map entry) → how it is parsed. */
  readonly text: Map<string, TextUse>
  /** List fields that feed an element-wise aggregation: every value has the same length. */
  readonly tensors: Set<string>
}

const NO_USE: TextUse = { delimiter: null, numeric: false }

function childrenOf (n: Node): Node[] {
  switch (n.k) {
    case 'lit': case 'ref': return []
    case 'field': return [n.base]
    case 'subscript': return [n.base, n.index]
    case 'unary': case 'not': case 'isnull': case 'isbool': case 'cast': return [n.arg]
    case 'binary': case 'and': case 'or': return [n.left, n.right]
    case 'in': return [n.arg, ...n.list]
    case 'between': return [n.arg, n.lower, n.upper]
    case 'like': return [n.arg, n.pattern]
    case 'case': return [...(n.subject === null ? [] : [n.subject]), ...n.branches.flatMap(b => [b.when, b.then]), ...(n.otherwise === null ? [] : [n.otherwise])]
    case 'call': return [...n.args]
    case 'struct': return n.args.map(a => a.value)
    case 'lambda': return [n.body]
  }
}

function castsToNumber (n: Node): boolean {
  return (n.k === 'cast' && isNumeric(n.to)) || childrenOf(n).some(castsToNumber)
}

const COMPARISONS = new Set(['=', '<=>', '!=', '<', '<=', '>', '>='])

export function valueHints (plan: Plan): ValueHints {
  const words = new Set<string>()
  const mapKeys = new Map<string, string[]>()
  const text = new Map<string, TextUse>()
  let cur = new Map<string, TextUse>()
  const merge = (into: Map<string, TextUse>, key: string, u: TextUse): void => {
    const prev = into.get(key) ?? NO_USE
    into.set(key, { delimiter: prev.delimiter ?? u.delimiter, numeric: prev.numeric || u.numeric })
  }
  const use = (key: string, u: TextUse): void => merge(cur, key, u)
  // Subscript keys and SPLIT delimiters are not walked as words: only literals compared with or produced by the
  // expressions are.
  const walk = (n: Node, ctx: TextUse): void => {
    switch (n.k) {
      case 'lit':
        if (n.kind === 'string' && typeof n.value === 'string' && n.value.length > 0 && n.value.length < 40) words.add(n.value)
        return
      case 'ref':
        if (ctx !== NO_USE && n.parts.length === 1) use(n.parts[0]!, ctx)
        return
      case 'subscript':
        if (n.base.k === 'ref' && n.base.parts.length === 1 && n.index.k === 'lit' && typeof n.index.value === 'string') {
          const f = n.base.parts[0]!
          const keys = mapKeys.get(f) ?? []
          if (!keys.includes(n.index.value)) keys.push(n.index.value)
          mapKeys.set(f, keys)
          if (ctx !== NO_USE) use(`${f}\u0000${n.index.value}`, ctx)
          return
        }
        break
      case 'cast':
        walk(n.arg, isNumeric(n.to) ? { delimiter: ctx.delimiter, numeric: true } : ctx)
        return
      case 'call':
        if (n.name === 'split' && n.args.length >= 2 && n.args[1]!.k === 'lit' && typeof n.args[1]!.value === 'string') {
          // SPLIT takes a regex: an escaped character such as `\|` (the regex) stands for itself.
          walk(n.args[0]!, { delimiter: n.args[1]!.value.replace(/\\(.)/g, '$1'), numeric: ctx.numeric })
          for (const a of n.args.slice(2)) walk(a, NO_USE)
          return
        }
        break
      case 'binary': case 'in': case 'like': case 'between':
        if (n.k !== 'binary' || COMPARISONS.has(n.op)) { for (const c of childrenOf(n)) walk(c, NO_USE); return }
        break
      default: break
    }
    for (const c of childrenOf(n)) walk(c, ctx)
  }
  const exprs = [...Object.values(plan.source.selects ?? {}), ...plan.source.wheres, plan.source.timeColumn]
  for (const e of exprs) {
    let tree: Node
    try { tree = parseExpression(e) } catch { continue } // the engine reports it at start-up, with the position
    cur = new Map()
    walk(tree, NO_USE)
    // Tokens split out of a string are numbers when the same expression casts something (e.g. each token) to one.
    const numeric = castsToNumber(tree)
    for (const [k, u] of cur) merge(text, k, u.delimiter !== null && numeric ? { delimiter: u.delimiter, numeric: true } : u)
  }
  for (const w of ['alpha', 'beta', 'gamma', 'delta']) words.add(w)
  const tensors = new Set<string>()
  for (const a of plan.aggregations) {
    if (!a.elementWise) continue
    const ref = plainRef(plan.source.selects?.[a.inputColumn] ?? a.inputColumn)
    if (ref !== null) tensors.add(ref)
  }
  return { words: [...words], mapKeys, text, tensors }
}

/** Unpaced, the generator lets the event loop run (results, writes, timers) every this many events. */
const UNPACED_YIELD = 4096

/** A real-time event clock is read every this many events (a power of two): ~0.1 ms of events at full speed. */
const CLOCK_EVERY = 64

/**
 * The deterministic event stream as a cursor: `next()` draws the next event into the cursor's own fields and arrays
 * (reused: copy what you keep). The source runs it directly, so producing an event allocates nothing of its own; the
 * generator function below wraps it for tests and `produce`.
 */
export class EventCursor implements GeneratedEvent {
  seq = -1
  partition = 0
  ts = 0
  late = false
  readonly values: unknown[]
  readonly keyValues: unknown[]
  readonly #opts: GeneratorOptions
  readonly #clock: () => number
  readonly #rnd: Random
  readonly #keys: KeySampler
  readonly #keyIdx: readonly number[]
  readonly #keyIsString: readonly boolean[]
  readonly #tsIdx: number
  readonly #tsScale: number
  readonly #gens: readonly (() => unknown)[]
  /** In the numbers mode, how each field's value is drawn (drawOf): valueGen's draw, made inline. */
  readonly #draws: Int8Array | null
  /**
   * The numbers mode (`numbers` true at construction, schemas of plain numbers only: `numbersOnly`): next() keeps the
   * values in `#numbers` and `#isNull` instead of `values`, and writeAvro() writes them. Same draws, same bytes as
   * `values` through the Avro encoder; no value is boxed and no generic encoder runs (the source's own loop).
   */
  readonly #numberKinds: Int8Array | null
  readonly #numbers: Float64Array
  readonly #isNull: Uint8Array
  /** Events per read of a real-time clock, less one (a power of two less one). */
  readonly #clockMask: number
  /** The real-time clock read for the events since the last read (reading it is ~80 ns here, most of an event). */
  #now = 0

  /**
   * `clockEvery`: a real-time clock is read every this many events (a power of two; 1 = every event); whoever reads
   * fewer times calls clockStale() after each pause.
   */
  constructor (plan: Plan, opts: GeneratorOptions, schema: StructType, roles: Roles, clock: () => number = Date.now, clockEvery = 1, numbers = false) {
    this.#opts = opts
    this.#clock = clock
    this.#clockMask = clockEvery - 1
    const rnd = this.#rnd = new Random(opts.seed)
    const keys = this.#keys = new KeySampler(Math.max(1, opts.keys), opts.zipf)
    const hints = valueHints(plan)
    this.#keyIdx = roles.keyFields.map(k => schema.fields.findIndex(f => f.name === k))
    this.#keyIsString = this.#keyIdx.map(i => schema.fields[i]!.type.kind === 'string')
    this.#tsIdx = schema.fields.findIndex(f => f.name === roles.timeField)
    // A TIMESTAMP time field holds microseconds (the engine's representation of TIMESTAMP values).
    this.#tsScale = schema.fields[this.#tsIdx]!.type.kind === 'timestamp' ? 1000 : 1
    this.values = new Array(schema.fields.length).fill(null)
    this.keyValues = new Array(this.#keyIdx.length).fill(null)
    const ctx: GenContext = { r: rnd, hints, id: () => keys.sample(rnd) }
    this.#gens = schema.fields.map(f => valueGen(f.type, ctx, f.name))
    this.#numberKinds = numbers ? numberKinds(schema, roles) : null
    this.#draws = numbers ? Int8Array.from(schema.fields, f => drawOf(f.type)) : null
    if (numbers && this.#numberKinds === null) throw new Error('EventCursor: the numbers mode needs a schema of plain numbers (numbersOnly)')
    this.#numbers = new Float64Array(schema.fields.length)
    this.#isNull = new Uint8Array(schema.fields.length)
  }

  /** The next event reads the real-time clock again (after a pause: the source waited, so its cached time is old). */
  clockStale (): void {
    this.#now = this.#clock()
  }

  /** Draws the next event; false once `count` events were drawn. The draws are the same, in the same order, as ever. */
  next (): boolean {
    const opts = this.#opts
    const seq = this.seq + 1
    if (seq >= opts.count) return false
    this.seq = seq
    const rnd = this.#rnd
    if (opts.start === undefined && (seq & this.#clockMask) === 0) this.#now = this.#clock()
    const base = opts.start === undefined ? this.#now : opts.start + seq * opts.step
    const isLate = opts.late > 0 && rnd.next() < opts.late
    let ts = base - (opts.disorder > 0 ? rnd.int(opts.disorder + 1) : 0)
    if (isLate) ts = base - opts.lateBy - rnd.int(opts.lateBy + 1)
    const id = this.#keys.sample(rnd)
    const gens = this.#gens
    const nulls = opts.nulls
    const keyIdx = this.#keyIdx
    const keyValues = this.keyValues
    if (this.#numberKinds === null) {
      const values = this.values
      for (let i = 0; i < gens.length; i++) values[i] = nulls > 0 && rnd.next() < nulls ? null : gens[i]!()
      for (let j = 0; j < keyIdx.length; j++) {
        const v = this.#keyIsString[j]! ? `k${id}${j === 0 ? '' : `_${j}`}` : id + j
        values[keyIdx[j]!] = v
        keyValues[j] = v
      }
      values[this.#tsIdx] = ts * this.#tsScale
    } else {
      // The same draws as above, kept as numbers (a boolean as 1 or 0; the key and time fields' draws are made and
      // then overwritten, as above).
      const numbers = this.#numbers
      const isNull = this.#isNull
      const draws = this.#draws!
      for (let i = 0; i < gens.length; i++) {
        if (nulls > 0 && rnd.next() < nulls) { isNull[i] = 1; continue }
        // valueGen's draws, inline: a call through the generator closure per field returned each double boxed.
        switch (draws[i]) {
          case DRAW_INTEGRAL: numbers[i] = rnd.int(1000); break
          case DRAW_DOUBLE: numbers[i] = Math.round(rnd.next() * 100_000) / 100; break
          case DRAW_FLOAT: numbers[i] = Math.fround(Math.round(rnd.next() * 10_000) / 100); break
          case DRAW_BOOLEAN: numbers[i] = rnd.next() < 0.5 ? 1 : 0; break
          default: {
            const v = gens[i]!() as number | boolean | null
            isNull[i] = v === null ? 1 : 0
            numbers[i] = v === true ? 1 : v === false || v === null ? 0 : v
            continue
          }
        }
        isNull[i] = 0
      }
      for (let j = 0; j < keyIdx.length; j++) {
        const v = id + j
        numbers[keyIdx[j]!] = v
        isNull[keyIdx[j]!] = 0
        keyValues[j] = v
      }
      numbers[this.#tsIdx] = ts * this.#tsScale
      isNull[this.#tsIdx] = 0
    }
    // Computed keys are not known here: spread those records over partitions by the id drawn for them.
    this.partition = opts.partitions <= 1 ? 0 : keyIdx.length === 0 ? id % opts.partitions : partitionOfKey(keyValues, opts.partitions)
    this.ts = ts
    this.late = isLate
    return true
  }

  /**
   * Writes the event drawn by the last next() as an Avro record (every field ["null", T]), in the numbers mode: the
   * bytes compileEncoder(schema) writes for `values`.
   */
  writeAvro (w: ByteWriter): void {
    const kinds = this.#numberKinds!
    const numbers = this.#numbers
    const isNull = this.#isNull
    for (let i = 0; i < kinds.length; i++) {
      if (isNull[i] === 1) { w.byte(0); continue }
      w.byte(2)
      const v = numbers[i]!
      switch (kinds[i]) {
        case NUMBER_VARINT: w.zigzag(v); break
        case NUMBER_DOUBLE: w.double(v); break
        case NUMBER_FLOAT: w.float(v); break
        default: w.byte(v !== 0 ? 1 : 0)
      }
    }
  }
}

const NUMBER_VARINT = 0
const NUMBER_DOUBLE = 1
const NUMBER_FLOAT = 2
const NUMBER_BOOLEAN = 3

/**
 * How each field of a schema of plain numbers is written (int, long, short, byte: varint; double; float; boolean);
 * null when the schema has anything else, or a string key. The time field may be a TIMESTAMP too (its value is
 * always the event time, a long). The other fields' generators draw numbers (valueGen), so next() keeps them so.
 */
function numberKinds (schema: StructType, roles: Roles): Int8Array | null {
  const kinds = new Int8Array(schema.fields.length)
  for (let i = 0; i < schema.fields.length; i++) {
    const f = schema.fields[i]!
    const k = f.type.kind
    // Key ids and event times are whole numbers: such a field must be written as a varint.
    const key = roles.keyFields.includes(f.name)
    const time = f.name === roles.timeField
    if (k === 'int' || k === 'long' || k === 'short' || k === 'byte' || (k === 'timestamp' && time)) kinds[i] = NUMBER_VARINT
    else if (k === 'double' && !key) kinds[i] = NUMBER_DOUBLE
    else if (k === 'float' && !key) kinds[i] = NUMBER_FLOAT
    else if (k === 'boolean' && !key && !time) kinds[i] = NUMBER_BOOLEAN
    else return null
  }
  return kinds
}

/** Whether the source may draw events in the numbers mode (EventCursor) for this schema. */
export function numbersOnly (schema: StructType, roles: Roles): boolean {
  return numberKinds(schema, roles) !== null
}

/** The deterministic event stream (the source encodes it; tests replay it). */
export function * generateEvents (plan: Plan, opts: GeneratorOptions, schema: StructType, roles: Roles, clock: () => number = Date.now): Generator<GeneratedEvent> {
  const c = new EventCursor(plan, opts, schema, roles, clock)
  while (c.next()) yield { seq: c.seq, partition: c.partition, ts: c.ts, late: c.late, values: c.values, keyValues: c.keyValues }
}

interface GenContext {
  readonly r: Random
  readonly hints: ValueHints
  /** A key-like id (Zipf over `keys`): numbers parsed out of strings become keys with the configured skew. */
  readonly id: () => number
}

/** Length of every value of a tensor (element-wise input) field. */
const TENSOR_LENGTH = 3

/** A string as the expressions use it: `use` says whether it is split and whether its tokens are numbers. */
function textGen (use: TextUse | undefined, c: GenContext): () => string {
  const { r, hints } = c
  const word = (): string => hints.words[r.int(hints.words.length)]!
  if (use === undefined) return word
  const token = use.numeric ? () => String(c.id()) : word
  if (use.delimiter === null) return token
  const d = use.delimiter
  return () => { let s = token(); for (let i = r.int(3); i > 0; i--) s += d + token(); return s }
}

const DRAW_OTHER = 0
const DRAW_INTEGRAL = 1
const DRAW_DOUBLE = 2
const DRAW_FLOAT = 3
const DRAW_BOOLEAN = 4

/** Which of valueGen's number draws a field of type t makes (DRAW_OTHER: call its generator). Keep the two alike. */
function drawOf (t: DataType): number {
  switch (t.kind) {
    case 'int': case 'long': case 'short': case 'byte': return DRAW_INTEGRAL
    case 'double': return DRAW_DOUBLE
    case 'float': return DRAW_FLOAT
    case 'boolean': return DRAW_BOOLEAN
    default: return DRAW_OTHER
  }
}

/** `path` names a top-level field (its hints apply); nested values get plain generators. */
function valueGen (t: DataType, c: GenContext, path: string | null): () => unknown {
  const { r, hints } = c
  switch (t.kind) {
    case 'int': case 'long': case 'short': case 'byte': return () => r.int(1000)
    case 'double': return () => Math.round(r.next() * 100_000) / 100
    case 'float': return () => Math.fround(Math.round(r.next() * 10_000) / 100)
    case 'boolean': return () => r.next() < 0.5
    case 'string': return textGen(path === null ? undefined : hints.text.get(path), c)
    case 'list': {
      const e = valueGen(t.elem, c, null)
      if (path !== null && hints.tensors.has(path)) return () => Array.from({ length: TENSOR_LENGTH }, e)
      return () => Array.from({ length: r.int(4) }, e)
    }
    case 'map': {
      const v = valueGen(t.value, c, null)
      const looked = path === null ? undefined : hints.mapKeys.get(path)
      const word = (): string => hints.words[r.int(hints.words.length)]!
      if (looked === undefined) {
        return () => { const o: Record<string, unknown> = {}; for (let i = r.int(3); i > 0; i--) o[word()] = v(); return o }
      }
      // Each looked-up key is there half of the time (so COALESCE and nulls both happen), plus now and then a key
      // nobody asks for.
      const entries = looked.map(k => ({ k, g: t.value.kind === 'string' ? textGen(hints.text.get(`${path}\u0000${k}`), c) : v }))
      return () => {
        const o: Record<string, unknown> = {}
        for (const e of entries) if (r.next() < 0.5) o[e.k] = e.g()
        if (r.next() < 0.25) o[word()] = v()
        return o
      }
    }
    case 'struct': {
      const fs = t.fields.map(f => ({ name: f.name, g: valueGen(f.type, c, null) }))
      return () => { const o: Record<string, unknown> = {}; for (const f of fs) o[f.name] = f.g(); return o }
    }
    default: return () => null
  }
}

/**
 * Refuses options whose events could not be values of their types: key ids beyond what an integral key column
 * holds (they would be refused, or worse, wrap), event times beyond ±(2^53 − 1) ms. Checked once, at start.
 */
function checkRanges (opts: GeneratorOptions, schema: StructType, roles: Roles): void {
  const whole = (name: string, v: number, min: number): void => {
    if (!Number.isSafeInteger(v) || v < min) throw new TilekilnError('TK_USAGE', `generator option ${name} must be an integer ≥ ${min}, got ${v}`)
  }
  whole('keys', opts.keys, 1)
  for (const [name, v] of [['disorder', opts.disorder], ['lateBy', opts.lateBy], ['partitions', opts.partitions]] as const) whole(name, v, 0)
  if (opts.start !== undefined) whole('start', opts.start, Number.MIN_SAFE_INTEGER)
  whole('step', opts.step, Number.MIN_SAFE_INTEGER)
  roles.keyFields.forEach((k, j) => {
    const f = schema.fields.find(x => x.name === k)
    if (f === undefined || !isNumeric(f.type)) return
    const why = numberProblem(f.type.kind, opts.keys - 1 + j)
    if (why !== null) throw new TilekilnError('TK_USAGE', `generator option keys=${opts.keys} makes key ids up to ${opts.keys - 1 + j} for key column '${k}': ${why}`)
  })
  const base = opts.start ?? Date.now()
  const last = Number.isFinite(opts.count) ? base + opts.count * opts.step : base
  const tsField = schema.fields.find(f => f.name === roles.timeField)
  const scale = tsField?.type.kind === 'timestamp' ? 1000 : 1
  for (const t of [base, last, Math.min(base, last) - 2 * opts.lateBy - opts.disorder]) {
    if (!Number.isSafeInteger(t * scale)) throw new TilekilnError('TK_USAGE', `generator event times reach ${t} ms, beyond what an event time holds (±(2^53 - 1)${scale === 1 ? '' : ' µs'}): check start, step, count, lateBy`)
  }
}

export function openGeneratorSource (plan: Plan, opts: GeneratorOptions, givenSchema?: unknown): Source {
  const { schema, roles } = generatorSchema(plan, opts, givenSchema)
  checkRanges(opts, schema, roles)
  // TIMESTAMP / DATE fields are written as plain Avro longs / ints holding the engine's representation
  // (microseconds / days), so they decode as such; Chronon's Avro conventions have no timestamp type.
  const avroSchema = avroSchemaOf(T.struct(schema.name, schema.fields.map(f => ({
    name: f.name, type: f.type.kind === 'timestamp' ? T.long : f.type.kind === 'date' ? T.int : f.type
  }))))
  const encode: Encoder = compileEncoder(schema)
  const plainTime = plainRef(plan.source.timeColumn) === roles.timeField && ['long', 'int', 'timestamp'].includes(schema.fields.find(f => f.name === roles.timeField)?.type.kind ?? '')
  const names = schema.fields.map(f => f.name)
  const bounded = Number.isFinite(opts.count)
  return {
    description: `generator(keys=${opts.keys}, zipf=${opts.zipf}, rate=${opts.rate || 'max'}, count=${bounded ? opts.count : '∞'})`,
    format: opts.format === 'avro'
      ? { kind: 'avro', schema, avroSchema, framing: 'raw' }
      : { kind: 'json', schema },
    bounded,
    watermarks: 'event',
    partitions: Array.from({ length: Math.max(1, opts.partitions) }, (_, i) => i),
    checkpointName: 'generator',
    positionName: 'sequence',
    async run (pusher: RecordPusher, signal: AbortSignal) {
      const from = await pusher.assigned(Array.from({ length: Math.max(1, opts.partitions) }, (_, i) => i))
      const w = new ByteWriter(1024)
      const started = Date.now()
      let produced = 0
      const burstMask = opts.rate > 0 ? opts.burst - 1 : UNPACED_YIELD - 1
      const asJson = opts.format === 'json'
      const obj: Record<string, unknown> = {}
      // Schemas of plain numbers (the benchmarks') are drawn as numbers and written straight as Avro: same bytes.
      const numbers = !asJson && numbersOnly(schema, roles)
      const ev = new EventCursor(plan, opts, schema, roles, Date.now, CLOCK_EVERY, numbers)
      // Resuming after a checkpoint: the stream is regenerated and what was already consumed is skipped.
      const skip = new Float64Array(Math.max(1, opts.partitions))
      for (const [p, next] of from) if (p < skip.length) skip[p] = next
      while (ev.next()) {
        // Looked at every 256 events: a stop waits for at most that many.
        if ((ev.seq & 255) === 0 && signal.aborted) break
        if (ev.seq < skip[ev.partition]!) continue
        w.reset()
        if (asJson) {
          for (let i = 0; i < names.length; i++) obj[names[i]!] = ev.values[i]
          w.raw(Buffer.from(JSON.stringify(obj)))
        } else if (numbers) {
          ev.writeAvro(w)
        } else {
          encode(w, ev.values)
        }
        // The event time is known here when the time column is the generated time field itself.
        const p = roles.computedKeys
          ? pusher.push(w.buf.subarray(0, w.pos), ev.partition, ev.seq)
          : pusher.pushKeyed(ev.keyValues, plainTime ? ev.ts : NaN, w.buf, 0, w.pos, ev.partition, ev.seq)
        if (p !== undefined) { await p; ev.clockStale() }
        produced++
        if ((produced & burstMask) === 0) {
          if (opts.rate > 0) {
            const ahead = produced / opts.rate * 1000 - (Date.now() - started)
            if (ahead > 1) await new Promise(resolve => setTimeout(resolve, ahead))
            else await new Promise(resolve => setImmediate(resolve))
          } else {
            await new Promise(resolve => setImmediate(resolve))
          }
          ev.clockStale()
        }
      }
      await pusher.flush()
    }
  }
}
