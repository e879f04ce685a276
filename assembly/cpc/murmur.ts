// MurmurHash3 x64 128-bit (Austin Appleby's public-domain algorithm) with a 64-bit seed, the hash DataSketches uses
// for its sketches. A long is hashed as its 8 little-endian bytes (DataSketches' hash(long[]) of one element gives
// exactly that), anything else as its bytes. The two 64-bit halves land in h1/h2.

const C1: u64 = 0x87c37b91114253d5
const C2: u64 = 0x4cf5ad432745937f

export let h1: u64 = 0
export let h2: u64 = 0

@inline function fmix (k: u64): u64 {
  k ^= k >> 33
  k *= 0xff51afd7ed558ccd
  k ^= k >> 33
  k *= 0xc4ceb9fe1a85ec53
  k ^= k >> 33
  return k
}

@inline function mixK1 (k: u64): u64 { return rotl<u64>(k * C1, 31) * C2 }
@inline function mixK2 (k: u64): u64 { return rotl<u64>(k * C2, 33) * C1 }

@inline function finish (a: u64, b: u64, len: u64): void {
  a ^= len
  b ^= len
  a += b
  b += a
  a = fmix(a)
  b = fmix(b)
  a += b
  b += a
  h1 = a
  h2 = b
}

/** Hash of one 64-bit value (8 bytes, little-endian). */
@inline export function hashLong (v: u64, seed: u64): void {
  finish(seed ^ mixK1(v), seed, 8)
}

/** Hash of `len` bytes at `ptr`. */
export function hashBytes (ptr: usize, len: usize, seed: u64): void {
  let a = seed
  let b = seed
  const blocks = len >> 4
  for (let i: usize = 0; i < blocks; i++) {
    const p = ptr + (i << 4)
    a ^= mixK1(load<u64>(p))
    a = rotl<u64>(a, 27) + b
    a = a * 5 + 0x52dce729
    b ^= mixK2(load<u64>(p, 8))
    b = rotl<u64>(b, 31) + a
    b = b * 5 + 0x38495ab5
  }
  const tail = ptr + (blocks << 4)
  const rest = len & 15
  if (rest > 8) {
    let k2: u64 = 0
    for (let i = <i32>rest - 1; i >= 8; i--) k2 = (k2 << 8) | <u64>load<u8>(tail + <usize>i)
    b ^= mixK2(k2)
  }
  if (rest > 0) {
    let k1: u64 = 0
    for (let i = <i32>min(rest, 8) - 1; i >= 0; i--) k1 = (k1 << 8) | <u64>load<u8>(tail + <usize>i)
    a ^= mixK1(k1)
  }
  finish(a, b, <u64>len)
}
