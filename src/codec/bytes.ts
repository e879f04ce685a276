// A growable byte writer and a cursor reader for the binary formats we emit and read (Avro, Thrift compact).
// The writer is reused across encodes (one per worker), grows by doubling on the rare overflow, and is copied out
// exactly once per value (`copy`/`take`). Longs are JS numbers (exact within ±2^53) or bigints.

const f64 = new Float64Array(1)
const f64b = new Uint8Array(f64.buffer)
const f32 = new Float32Array(1)
const f32b = new Uint8Array(f32.buffer)
const utf8 = new TextEncoder()
const utf8d = new TextDecoder('utf-8', { fatal: false })
const LONG_MIN = -(2n ** 63n)
const LONG_MAX = 2n ** 63n - 1n

export class ByteWriter {
  buf: Uint8Array
  pos = 0

  constructor (capacity = 1024) {
    this.buf = new Uint8Array(capacity)
  }

  reset (): this { this.pos = 0; return this }

  ensure (n: number): void {
    if (this.pos + n <= this.buf.length) return
    let cap = this.buf.length * 2
    while (cap < this.pos + n) cap *= 2
    const next = new Uint8Array(cap)
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  byte (b: number): void {
    this.ensure(1)
    this.buf[this.pos++] = b
  }

  raw (bytes: Uint8Array): void {
    this.ensure(bytes.length)
    this.buf.set(bytes, this.pos)
    this.pos += bytes.length
  }

  /** Unsigned LEB128 varint of a non-negative integer number (exact: < 2^53, or even < 2^54), or of a bigint < 2^64. */
  uvarint (n: number | bigint): void {
    this.ensure(10)
    if (typeof n === 'bigint') {
      let v = BigInt.asUintN(64, n)
      while (v >= 0x80n) { this.buf[this.pos++] = Number(v & 0x7fn) | 0x80; v >>= 7n }
      this.buf[this.pos++] = Number(v)
      return
    }
    const buf = this.buf
    let p = this.pos
    // In 32-bit halves with int32 operations: `n % 0x80` on a double above 2^31 is a call to fmod, and a varint of
    // an epoch-millisecond time (2^41) took two of them (a fifth of the generator's CPU). n >>> 0 is n mod 2^32,
    // exact for any integer double; n / 2^32 is exact too, and >>> 0 floors it (n < 2^54, so hi < 2^22).
    let lo = n >>> 0
    let hi = (n / 4294967296) >>> 0
    while (hi !== 0) {
      buf[p++] = (lo & 0x7f) | 0x80
      lo = ((lo >>> 7) | (hi << 25)) >>> 0
      hi >>>= 7
    }
    while (lo >= 0x80) {
      buf[p++] = (lo & 0x7f) | 0x80
      lo >>>= 7
    }
    buf[p++] = lo
    this.pos = p
  }

  /** Zig-zag varint (Avro int/long, Thrift compact i32/i64). */
  zigzag (n: number | bigint): void {
    if (typeof n === 'bigint') {
      // Out of range is an error, never a wrap: 2^64 written as 0 would alias another key or time.
      if (n < LONG_MIN || n > LONG_MAX) throw new RangeError(`cannot encode ${n} as a long: outside [-2^63, 2^63 - 1]`)
      this.uvarint(n >= 0n ? n << 1n : ((-n) << 1n) - 1n)
      return
    }
    if (!Number.isSafeInteger(n)) {
      if (!Number.isFinite(n) || n >= 9223372036854775808 || n < -9223372036854775808) throw new RangeError(`cannot encode ${n} as a long`)
      this.zigzag(BigInt(Math.trunc(n)))
      return
    }
    // Below −2^52 the zig-zag value −2n − 1 is an odd number above 2^53, which a double cannot hold: computed in
    // floats it rounded to its even neighbour, the zig-zag of another long (−2^52 − 1 was written as 2^52: two keys
    // one tile). Exact in BigInt. (2n of a safe n ≥ 0 is even, so exact.)
    if (n < -4503599627370496) {
      this.zigzag(BigInt(n))
      return
    }
    this.uvarint(n >= 0 ? n * 2 : -n * 2 - 1)
  }

  // Eight (four) stores, not buf.set(f64b, pos): a set() call of 8 bytes cost more than the bytes (perf, bench engine).
  double (x: number): void {
    this.ensure(8)
    f64[0] = x
    const buf = this.buf
    const p = this.pos
    buf[p] = f64b[0]!; buf[p + 1] = f64b[1]!; buf[p + 2] = f64b[2]!; buf[p + 3] = f64b[3]!
    buf[p + 4] = f64b[4]!; buf[p + 5] = f64b[5]!; buf[p + 6] = f64b[6]!; buf[p + 7] = f64b[7]!
    this.pos = p + 8
  }

  float (x: number): void {
    this.ensure(4)
    f32[0] = x
    const buf = this.buf
    const p = this.pos
    buf[p] = f32b[0]!; buf[p + 1] = f32b[1]!; buf[p + 2] = f32b[2]!; buf[p + 3] = f32b[3]!
    this.pos = p + 4
  }

  /** Avro string / bytes: zig-zag length then the bytes. */
  string (s: string): void {
    // Fast path for short ASCII, the common case for keys and categorical values.
    const n = s.length
    if (n < 64) {
      let ascii = true
      for (let i = 0; i < n; i++) if (s.charCodeAt(i) > 0x7f) { ascii = false; break }
      if (ascii) {
        this.ensure(n + 2)
        this.buf[this.pos++] = n * 2
        for (let i = 0; i < n; i++) this.buf[this.pos++] = s.charCodeAt(i)
        return
      }
    }
    const bytes = utf8.encode(s)
    this.zigzag(bytes.length)
    this.raw(bytes)
  }

  bytes (b: Uint8Array): void {
    this.zigzag(b.length)
    this.raw(b)
  }

  u16le (n: number): void {
    this.ensure(2)
    this.buf[this.pos++] = n & 0xff; this.buf[this.pos++] = (n >>> 8) & 0xff
  }

  u32le (n: number): void {
    this.ensure(4)
    this.setU32le(this.pos, n)
    this.pos += 4
  }

  /** Overwrites 4 bytes at `at` (patching a length written before its content). */
  setU32le (at: number, n: number): void {
    this.buf[at] = n & 0xff; this.buf[at + 1] = (n >>> 8) & 0xff
    this.buf[at + 2] = (n >>> 16) & 0xff; this.buf[at + 3] = n >>> 24
  }

  u32be (n: number): void {
    this.ensure(4)
    this.buf[this.pos++] = n >>> 24; this.buf[this.pos++] = (n >>> 16) & 0xff
    this.buf[this.pos++] = (n >>> 8) & 0xff; this.buf[this.pos++] = n & 0xff
  }

  /** A copy of what was written since `from`. */
  copy (from = 0): Uint8Array {
    return this.buf.slice(from, this.pos)
  }
}

export class ByteReader {
  buf: Uint8Array
  pos: number
  end: number

  constructor (buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf
    this.pos = pos
    this.end = end
  }

  #need (n: number): void {
    if (this.pos + n > this.end) throw new RangeError(`truncated input: need ${n} byte(s) at ${this.pos}, have ${this.end - this.pos}`)
  }

  byte (): number {
    this.#need(1)
    return this.buf[this.pos++]!
  }

  /** Unsigned varint as a number; switches to float arithmetic past 28 bits (exact below 2^53). */
  uvarint (): number {
    let b = this.byte()
    let n = b & 0x7f
    let shift = 7
    while (b & 0x80) {
      b = this.byte()
      if (shift < 28) n |= (b & 0x7f) << shift
      else n += (b & 0x7f) * 2 ** shift
      shift += 7
      if (shift > 70) throw new RangeError('varint too long')
    }
    return n
  }

  uvarintBig (): bigint {
    let result = 0n
    let shift = 0n
    for (;;) {
      const b = this.byte()
      result |= BigInt(b & 0x7f) << shift
      if ((b & 0x80) === 0) return result
      shift += 7n
      if (shift > 70n) throw new RangeError('varint too long')
    }
  }

  /** Zig-zag long as a number when it fits ±2^53, else as a bigint. */
  zigzag (): number | bigint {
    const start = this.pos
    const u = this.uvarint()
    if (u <= Number.MAX_SAFE_INTEGER) return u % 2 === 0 ? u / 2 : -(u + 1) / 2
    this.pos = start
    const big = this.uvarintBig()
    const v = (big >> 1n) ^ -(big & 1n)
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
  }

  zigzagNumber (): number {
    const v = this.zigzag()
    return typeof v === 'bigint' ? Number(v) : v
  }

  double (): number {
    this.#need(8)
    for (let i = 0; i < 8; i++) f64b[i] = this.buf[this.pos + i]!
    this.pos += 8
    return f64[0]!
  }

  float (): number {
    this.#need(4)
    for (let i = 0; i < 4; i++) f32b[i] = this.buf[this.pos + i]!
    this.pos += 4
    return f32[0]!
  }

  bytes (): Uint8Array {
    const n = this.zigzagNumber()
    if (n < 0) throw new RangeError(`negative length ${n} at ${this.pos}`)
    this.#need(n)
    const out = this.buf.slice(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  string (): string {
    const n = this.zigzagNumber()
    if (n < 0) throw new RangeError(`negative length ${n} at ${this.pos}`)
    this.#need(n)
    const s = utf8d.decode(this.buf.subarray(this.pos, this.pos + n))
    this.pos += n
    return s
  }
}

const HEX_PAIRS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/**
 * Lowercase hex, two digits a byte. Store dumps and byte-identity checks hex hundreds of thousands of tile values: a
 * long input goes through Buffer's native encoder (~10x faster than a loop), a short one (keys) through a table,
 * where making a Buffer view would cost more than the loop.
 */
export function toHex (b: Uint8Array): string {
  if (b.length >= 96) return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
  let s = ''
  for (let i = 0; i < b.length; i++) s += HEX_PAIRS[b[i]!]!
  return s
}

export function fromHex (hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, '')
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`not a hex string: ${hex}`)
  const out = new Uint8Array(clean.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16)
  return out
}

