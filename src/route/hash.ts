// The key hash that decides which worker owns a key. It is computed from the typed key values (not from raw
// bytes), so the main thread's fast extractors and a worker's full evaluation always agree, whatever the record's
// textual form (`"a\u0062"` and `"ab"` are one key). Allocation-free: strings are mixed by UTF-16 code unit,
// integers by their two 32-bit halves, other numbers by their IEEE bits.

const f64 = new Float64Array(1)
const u32 = new Uint32Array(f64.buffer)

function mix (h: number, k: number): number {
  // murmur3_32 round
  k = Math.imul(k, 0xcc9e2d51)
  k = (k << 15) | (k >>> 17)
  k = Math.imul(k, 0x1b873593)
  h ^= k
  h = (h << 13) | (h >>> 19)
  return (Math.imul(h, 5) + 0xe6546b64) | 0
}

function finish (h: number, len: number): number {
  h ^= len
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

export function hashValue (h: number, v: unknown): number {
  switch (typeof v) {
    case 'string': {
      const n = v.length
      h = mix(h, 0x5354 ^ n)
      let i = 0
      for (; i + 1 < n; i += 2) h = mix(h, v.charCodeAt(i) | (v.charCodeAt(i + 1) << 16))
      if (i < n) h = mix(h, v.charCodeAt(i))
      return h
    }
    case 'number':
      if (Number.isSafeInteger(v)) {
        const hi = Math.floor(v / 4294967296)
        return mix(mix(mix(h, 0x4e55), v >>> 0), hi | 0)
      }
      f64[0] = v
      return mix(mix(mix(h, 0x4644), u32[0]!), u32[1]!)
    case 'bigint': {
      const lo = Number(BigInt.asUintN(32, v))
      const hi = Number(BigInt.asIntN(32, v >> 32n))
      return mix(mix(mix(h, 0x4e55), lo), hi)
    }
    case 'boolean':
      return mix(h, v ? 0x5431 : 0x5430)
    default:
      if (v instanceof Uint8Array) {
        h = mix(h, 0x4259 ^ v.length)
        for (let i = 0; i < v.length; i++) h = mix(h, v[i]!)
        return h
      }
      return mix(h, 0x4e4c)
  }
}

/** Hash of a key (its column values in keyColumns order). */
export function hashKey (values: readonly unknown[], from = 0, count = values.length - from): number {
  let h = 0x9747b28c
  for (let i = 0; i < count; i++) h = hashValue(h, values[from + i])
  return finish(h, count)
}

export function ownerOf (hash: number, workers: number): number {
  return hash % workers
}
