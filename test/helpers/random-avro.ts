// Random flat Avro schemas (primitives and unions of them), random records of them with edge values, and damaged
// records (cut short, extended, bytes changed, garbage): the inputs of the flat readers' property tests.
import type { Random } from '../../src/source/generator.ts'

const PRIMS = ['null', 'boolean', 'int', 'long', 'float', 'double', 'string'] as const

export function randomSchema (r: Random, n: number): { type: 'record', name: string, fields: { name: string, type: unknown }[] } {
  const fields = []
  for (let i = 0; i < n; i++) {
    let type: unknown
    const pick = r.next()
    if (pick < 0.5) {
      type = PRIMS[r.int(PRIMS.length)]
    } else if (pick < 0.85) {
      // What inputs mostly are: a nullable primitive, either way round.
      const p = PRIMS[1 + r.int(PRIMS.length - 1)]!
      type = r.next() < 0.8 ? ['null', p] : [p, 'null']
    } else {
      // A union of 2–3 distinct primitives (avsc wraps the ambiguous ones, e.g. int and long: those stay avsc's).
      const set = new Set<string>()
      while (set.size < 2 + r.int(2)) set.add(PRIMS[r.int(PRIMS.length)]!)
      type = [...set]
    }
    fields.push({ name: `f${i}`, type })
  }
  return { type: 'record', name: 'R', fields }
}

const SPECIAL_DOUBLES = [0, -0, NaN, Infinity, -Infinity, 1e-310, Number.MAX_VALUE, 0.1, -2.5]
const SPECIAL_LONGS = [0, -1, 1, 2 ** 31, -(2 ** 31) - 1, 9007199254740990, -9007199254740990, 2 ** 40 + 3]
const TEXTS = ['', 'a', 'héllo', '日本語', '😀 emoji', 'x'.repeat(200)]

function randomValue (r: Random, t: string): unknown {
  switch (t) {
    case 'null': return null
    case 'boolean': return r.next() < 0.5
    case 'int': return r.next() < 0.3 ? [0, -1, 2147483647, -2147483648][r.int(4)] : r.int(2000) - 1000
    case 'long': return r.next() < 0.4 ? SPECIAL_LONGS[r.int(SPECIAL_LONGS.length)] : r.int(1e9) - 5e8
    case 'float': return Math.fround(r.next() < 0.3 ? SPECIAL_DOUBLES[r.int(SPECIAL_DOUBLES.length)]! : r.next() * 1000 - 500)
    case 'double': return r.next() < 0.3 ? SPECIAL_DOUBLES[r.int(SPECIAL_DOUBLES.length)] : r.next() * 1e6 - 5e5
    default: return r.next() < 0.5 ? TEXTS[r.int(TEXTS.length)] : String(r.int(1e6))
  }
}

export function randomRecord (r: Random, schema: ReturnType<typeof randomSchema>): Record<string, unknown> {
  const o: Record<string, unknown> = {}
  for (const f of schema.fields) {
    const t = Array.isArray(f.type) ? (f.type as string[])[r.int((f.type as string[]).length)]! : f.type as string
    o[f.name] = randomValue(r, t)
  }
  return o
}

/** The record's bytes, maybe damaged: cut short, extended, a few bytes changed, or replaced by garbage. */
export function damage (r: Random, good: Uint8Array): Uint8Array {
  const b = Uint8Array.from(good)
  switch (r.int(6)) {
    case 0: return b.subarray(0, r.int(b.length + 1))
    case 1: return Uint8Array.from([...b, ...Array.from({ length: 1 + r.int(4) }, () => r.int(256))])
    case 2: case 3: {
      for (let k = 1 + r.int(3); k > 0 && b.length > 0; k--) b[r.int(b.length)] = r.int(256)
      return b
    }
    case 4: return Uint8Array.from({ length: r.int(24) }, () => r.int(256))
    default: {
      // Varint continuation bytes: long runs of 0xff/0x80 (the float path of a varint, lengths far past the end).
      for (let k = 1 + r.int(3); k > 0 && b.length > 0; k--) b[r.int(b.length)] = r.next() < 0.5 ? 0xff : 0x80
      return b
    }
  }
}

