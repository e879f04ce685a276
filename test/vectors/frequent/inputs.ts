// The update streams of FrequentVectors.java, regenerated in JS (same SplitMix64 streams and conversions), and the
// committed vectors file.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Item, ItemType } from '../../../src/agg/sketch/java-compat.ts'
import { repoRoot } from '../../helpers/reference.ts'

export interface Spec { type: ItemType, kind: string, count: number, seed: number, m: number }
export interface Update { item: Item, count: number }

const M64 = (1n << 64n) - 1n

function * splitmix (seed: number): Generator<bigint> {
  let s = BigInt(seed)
  while (true) {
    s = (s + 0x9E3779B97F4A7C15n) & M64
    let z = s
    z = ((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n) & M64
    z = ((z ^ (z >> 27n)) * 0x94D049BB133111EBn) & M64
    yield z ^ (z >> 31n)
  }
}

function str (v: number | bigint): string {
  const r = Number(((BigInt(v) % 77n) + 77n) % 77n)
  const p = r % 11 === 0 ? '\uD83D\uDE00' : r % 7 === 0 ? '\u00e9' : 'i'
  return p + String(v)
}

function convert (type: ItemType, v: number | bigint): Item {
  switch (type) {
    case 'string': return str(v)
    case 'long': return typeof v === 'bigint' && v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v
    case 'double': return Number(v) / 8
  }
}

const cache = new Map<string, Update[]>()
export function updates (spec: Spec): Update[] {
  const key = JSON.stringify(spec)
  const hit = cache.get(key)
  if (hit !== undefined) return hit
  const g = splitmix(spec.seed)
  const next = (): bigint => g.next().value as bigint
  const m = BigInt(spec.m)
  const out: Update[] = []
  for (let i = 0; i < spec.count; i++) {
    switch (spec.kind) {
      case 'uniform': out.push({ item: convert(spec.type, Number(next() % m)), count: 1 }); break
      case 'skewed': {
        const u = Number(next() >> 11n) * 2 ** -53
        out.push({ item: convert(spec.type, Math.trunc(spec.m * u * u * u)), count: 1 })
        break
      }
      case 'weighted': {
        const v = Number(next() % m)
        const c = 1 + Number(next() % 5n)
        out.push({ item: convert(spec.type, v), count: c })
        break
      }
      case 'big': {
        const z = next()
        out.push({ item: convert(spec.type, BigInt.asIntN(64, (z % m) * 0x100000001n + (-(2n ** 63n) / 3n))), count: 1 })
        break
      }
      default: throw new Error(spec.kind)
    }
  }
  cache.set(key, out)
  return out
}

export type JsonItem = string | { bits: string, str: string }
export type JsonRow = [JsonItem, number, number, number]
export interface Result { bytes: string, reserialized: string, nfn: JsonRow[], nfp: JsonRow[] }
export interface FrequentVectorsFile {
  cases: Array<{ id: string, maxMapSize: number, input: Spec, yahoo: Result, apache: Result }>
  merges: Array<{ id: string, maxMapSize: number, inputA: Spec, inputB: Spec, yahoo: { direct: Result, viaBytes: Result }, apache: { direct: Result, viaBytes: Result } }>
  chronon: Array<{ k: number, sketchSize: number, input: Spec, frequentK: Record<string, number>, heavyHittersK: Record<string, number> }>
  approxHistogram: Array<{
    k: number, inputA: Spec, inputB: Spec
    a: AhResult, b: AhResult, ab: AhResult, ba: AhResult, abRoundTrip: AhResult, abClone: AhResult, chain: AhResult
  }>
}
export interface AhResult { isApprox: boolean, final: Record<string, number> }

export const frequentVectors = JSON.parse(readFileSync(join(repoRoot, 'test', 'vectors', 'frequent', 'frequent-cases.json'), 'utf8')) as FrequentVectorsFile
