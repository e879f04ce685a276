// APPROX_PERCENTILE: a KLL floats sketch (assembly/kll.ts) binary compatible with DataSketches' KllFloatsSketch.
//
// Two layers:
//   KllKernel  the per-thread WASM instance with a handle API (numbers = pointers into WASM memory). The engine can
//              use it directly when it keeps IR slots as raw handles.
//   KllSketch  a small owning wrapper (what the aggregator's IR is): holds the handle, frees it on dispose() and,
//              as a safety net, when the wrapper is garbage collected.
//
// Flavours: 'airbnb' behaves as com.yahoo.sketches 0.13.4 (airbnb Chronon), 'zipline' as datasketches-java 6.x
// (Zipline). They serialize identically and compact identically; they differ in
//   * the quantile search of getQuantiles(ranks), which is what Chronon's finalize calls:
//       0.13.4: rank 0 → min, 1 → max, else the retained item whose cumulative-weight span [c − w, c) contains
//               position floor(rank·n) (n − 1 if that is n);
//       6.x:    the default INCLUSIVE criterion: the first item of the sorted view (which gets min and max added as
//               end points) whose cumulative weight reaches ceil(rank·n), rank·n first rounded to 7 decimals when
//               n ≤ 1e7.
//     With exact data and integral rank·n they pick neighbours: n = 100 items, rank 0.5 → the 51st smallest (0.13.4)
//     vs the 50th (6.x). Each flavour uses its library's rule, since that is what the deployed JVM returns.
//   * how -0.0 and +0.0 move min and max (0.13.4 compares with < and >, 6.x uses Math.min / Math.max).

import { T } from '../../api/data-type.ts'
import type { AggregatorSpec, SimpleAggregator } from '../aggregator.ts'
import { Scratch, WasmSketchInstance } from './wasm-instance.ts'

export type KllFlavour = 'airbnb' | 'zipline'
/** How compaction coins are drawn (see assembly/kll.ts): 'pure' = from the sketch's own state (default). */
export type KllRngMode = 'pure' | 'stream'

interface KllExports {
  kll_alloc (size: number): number
  kll_dealloc (ptr: number): void
  kll_heap_live_bytes (): number
  kll_heap_top (): number
  kll_create (k: number, flavour: number, rngMode: number, seedLo: number, seedHi: number): number
  kll_free (h: number): void
  kll_set_seed (h: number, seedLo: number, seedHi: number): void
  kll_clone (h: number): number
  kll_update (h: number, x: number): void
  kll_update_many (h: number, src: number, count: number): void
  kll_merge (h: number, o: number): number
  kll_serialized_size (h: number): number
  kll_serialize (h: number, dst: number): void
  kll_deserialize (src: number, len: number, flavour: number, rngMode: number, seedLo: number, seedHi: number): number
  kll_check (src: number, len: number): number
  kll_n (h: number): number
  kll_k (h: number): number
  kll_min_k (h: number): number
  kll_num_levels (h: number): number
  kll_num_retained (h: number): number
  kll_min (h: number): number
  kll_max (h: number): number
  kll_memory_bytes (h: number): number
  kll_quantiles (h: number, ranksPtr: number, count: number, outPtr: number): number
  kll_rank (h: number, x: number): number
}

const CHECK_ERRORS = ['', 'too short', 'bad preamble ints', 'bad serial version', 'not a KLL sketch (family)',
  'm is not 8', 'k out of range', 'inconsistent levels']

export class KllFormatError extends Error {}

function seedParts (seed: bigint): [number, number] {
  const s = BigInt.asUintN(64, seed)
  return [Number(s & 0xffffffffn), Number(s >> 32n)]
}

/** The KLL kernel of this thread. */
export class KllKernel {
  readonly #w: WasmSketchInstance<KllExports>
  readonly #x: KllExports
  readonly #scratch: Scratch

  constructor () {
    this.#w = new WasmSketchInstance<KllExports>('kll')
    this.#x = this.#w.exports
    this.#scratch = new Scratch(n => this.#x.kll_alloc(n), p => this.#x.kll_dealloc(p))
  }

  /** New empty sketch; throws for k outside DataSketches' range [8, 65535]. */
  create (k: number, flavour: KllFlavour = 'zipline', rng: KllRngMode = 'pure', seed: bigint = 0n): number {
    const [lo, hi] = seedParts(seed)
    const h = this.#x.kll_create(k, flavour === 'airbnb' ? 0 : 1, rng === 'pure' ? 0 : 1, lo, hi)
    if (h === 0) {
      if (!Number.isInteger(k) || k < 8 || k > 65535) throw new RangeError(`KLL k must be in [8, 65535], got ${k}`)
      throw new RangeError('sketch memory exhausted')
    }
    return h
  }

  free (h: number): void { this.#x.kll_free(h) }
  clone (h: number): number { return this.#x.kll_clone(h) }
  /** java.util.Random.setSeed on the sketch's coin generator (meaningful in 'stream' mode). */
  setSeed (h: number, seed: bigint): void { const [lo, hi] = seedParts(seed); this.#x.kll_set_seed(h, lo, hi) }

  update (h: number, x: number): void { this.#x.kll_update(h, x) }

  updateMany (h: number, xs: Float32Array | readonly number[]): void {
    const CHUNK = 16384
    for (let off = 0; off < xs.length; off += CHUNK) {
      const n = Math.min(CHUNK, xs.length - off)
      const p = this.#scratch.get(n * 4)
      const f32 = this.#w.f32Upto(p + n * 4)
      const base = p >>> 2
      for (let i = 0; i < n; i++) f32[base + i] = xs[off + i]!
      this.#x.kll_update_many(h, p, n)
    }
  }

  /** Merges o into h (o unchanged). */
  merge (h: number, o: number): void {
    if (this.#x.kll_merge(h, o) !== 0) throw new KllFormatError('incompatible KLL sketches (m differs)')
  }

  serialize (h: number): Uint8Array {
    const len = this.#x.kll_serialized_size(h)
    const p = this.#scratch.get(len)
    this.#x.kll_serialize(h, p)
    return this.#w.u8.slice(p, p + len)
  }

  deserialize (bytes: Uint8Array, flavour: KllFlavour = 'zipline', rng: KllRngMode = 'pure', seed: bigint = 0n): number {
    const p = this.#scratch.get(bytes.length)
    this.#w.u8.set(bytes, p)
    const [lo, hi] = seedParts(seed)
    const h = this.#x.kll_deserialize(p, bytes.length, flavour === 'airbnb' ? 0 : 1, rng === 'pure' ? 0 : 1, lo, hi)
    if (h === 0) {
      const code = this.#x.kll_check(p, bytes.length)
      throw new KllFormatError(`not a valid KLL floats sketch: ${CHECK_ERRORS[code] ?? 'memory exhausted'}`)
    }
    return h
  }

  /** Quantiles at normalized ranks, or null for an empty sketch. Sorts level 0 in place (as Java does). */
  quantiles (h: number, ranks: readonly number[]): Float32Array | null {
    const m = ranks.length
    const p = this.#scratch.get(m * 8 + m * 4 + 8)
    const f64 = this.#w.f64
    for (let i = 0; i < m; i++) f64[(p >>> 3) + i] = ranks[i]!
    const out = p + m * 8
    if (this.#x.kll_quantiles(h, p, m, out) !== 0) {
      if (this.n(h) === 0) return null
      throw new RangeError(`quantile ranks must be within [0, 1]: ${ranks.join(', ')}`)
    }
    return this.#w.f32.slice(out >>> 2, (out >>> 2) + m)
  }

  /** Fraction of the weight strictly below x. */
  rank (h: number, x: number): number { return this.#x.kll_rank(h, x) }
  n (h: number): number { return this.#x.kll_n(h) }
  k (h: number): number { return this.#x.kll_k(h) }
  minK (h: number): number { return this.#x.kll_min_k(h) }
  numLevels (h: number): number { return this.#x.kll_num_levels(h) }
  numRetained (h: number): number { return this.#x.kll_num_retained(h) }
  min (h: number): number { return this.#x.kll_min(h) }
  max (h: number): number { return this.#x.kll_max(h) }
  /** Heap bytes held by one sketch. */
  sketchBytes (h: number): number { return this.#x.kll_memory_bytes(h) }
  /** Bytes in live heap blocks of this instance (all sketches and scratch). */
  get liveBytes (): number { return this.#x.kll_heap_live_bytes() }
  /** Linear memory reserved by this instance. */
  get memoryBytes (): number { return this.#w.memoryBytes }
}

let kernel: KllKernel | undefined
/** This thread's KLL kernel (instantiated on first use). */
export function kllKernel (): KllKernel {
  kernel ??= new KllKernel()
  return kernel
}

// ---- owning wrapper ---------------------------------------------------------------------------------------------

const registry = new FinalizationRegistry<number>(h => { kernel?.free(h) })

/** A KLL sketch owned by JS: call dispose() when done; a forgotten one is freed when garbage collected. */
export class KllSketch {
  #h: number

  constructor (h: number) {
    this.#h = h
    registry.register(this, h, this)
  }

  static create (k: number, flavour: KllFlavour = 'zipline', rng: KllRngMode = 'pure', seed: bigint = 0n): KllSketch {
    return new KllSketch(kllKernel().create(k, flavour, rng, seed))
  }

  static fromBytes (bytes: Uint8Array, flavour: KllFlavour = 'zipline', rng: KllRngMode = 'pure', seed: bigint = 0n): KllSketch {
    return new KllSketch(kllKernel().deserialize(bytes, flavour, rng, seed))
  }

  get handle (): number {
    if (this.#h === 0) throw new Error('KLL sketch used after dispose()')
    return this.#h
  }

  update (x: number): void { kllKernel().update(this.handle, x) }
  updateMany (xs: Float32Array | readonly number[]): void { kllKernel().updateMany(this.handle, xs) }
  merge (other: KllSketch): void { kllKernel().merge(this.handle, other.handle) }
  clone (): KllSketch { return new KllSketch(kllKernel().clone(this.handle)) }
  toBytes (): Uint8Array { return kllKernel().serialize(this.handle) }
  quantiles (ranks: readonly number[]): Float32Array | null { return kllKernel().quantiles(this.handle, ranks) }
  setSeed (seed: bigint): void { kllKernel().setSeed(this.handle, seed) }
  get n (): number { return kllKernel().n(this.handle) }
  get numRetained (): number { return kllKernel().numRetained(this.handle) }
  get disposed (): boolean { return this.#h === 0 }

  dispose (): void {
    if (this.#h === 0) return
    registry.unregister(this)
    kllKernel().free(this.#h)
    this.#h = 0
  }
}

// ---- the aggregator ---------------------------------------------------------------------------------------------

/** Parses Chronon's `percentiles` argument: a JSON array of numbers in [0, 1] (default [0.5]). */
export function parsePercentiles (raw: string | undefined): number[] {
  if (raw === undefined || raw.trim() === '') return [0.5]
  let v: unknown
  try { v = JSON.parse(raw) } catch { throw new Error(`argMap.percentiles must be a JSON array of numbers, got '${raw}'`) }
  if (!Array.isArray(v) || v.some(x => typeof x !== 'number' || !(x >= 0 && x <= 1))) {
    throw new Error(`argMap.percentiles must be a JSON array of numbers within [0, 1], got '${raw}'`)
  }
  return v as number[]
}

/**
 * APPROX_PERCENTILE (op 12). Inputs arrive already converted to float (registry). IR = KllSketch; normalized IR =
 * the sketch's DataSketches bytes; final = the quantiles at `percentiles` as list<float> (null for a sketch that only
 * ever saw NaN, where the Java libraries return null or throw).
 */
export class ApproxPercentile implements SimpleAggregator<number, KllSketch, number[] | null> {
  readonly irType = T.binary
  readonly outputType = T.list(T.float)
  readonly timed = false
  readonly deletable = false
  readonly k: number
  readonly percentiles: readonly number[]
  readonly flavour: KllFlavour

  constructor (k: number, percentiles: readonly number[], flavour: KllFlavour) {
    if (!Number.isInteger(k) || k < 8 || k > 65535) throw new RangeError(`APPROX_PERCENTILE k must be in [8, 65535], got ${k}`)
    this.k = k
    this.percentiles = percentiles
    this.flavour = flavour
  }

  static fromSpec (spec: AggregatorSpec, k: number): ApproxPercentile {
    return new ApproxPercentile(k, parsePercentiles(spec.argMap.percentiles), spec.flavour)
  }

  prepare (input: number): KllSketch {
    const s = KllSketch.create(this.k, this.flavour)
    s.update(input)
    return s
  }

  update (ir: KllSketch, input: number): KllSketch { ir.update(input); return ir }
  merge (a: KllSketch, b: KllSketch): KllSketch { a.merge(b); return a }

  finalize (ir: KllSketch): number[] | null {
    const q = ir.quantiles(this.percentiles)
    return q === null ? null : Array.from(q)
  }

  clone (ir: KllSketch): KllSketch { return ir.clone() }
  normalize (ir: KllSketch): Uint8Array { return ir.toBytes() }
  denormalize (normalized: unknown): KllSketch { return KllSketch.fromBytes(normalized as Uint8Array, this.flavour) }
  dispose (ir: KllSketch): void { ir.dispose() }
}
