// ByteWriter's varints and floats against reference encodings: LEB128 and zig-zag computed with BigInt, and
// floats through a DataView, for random values and every boundary where the writer changes step (each 7 bits, 2^32
// where a value needs its high 32-bit half, 2^53 − 1; zig-zag doubles them) — then read back with ByteReader.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ByteReader, ByteWriter } from '../../src/codec/bytes.ts'
import { Random } from '../../src/source/generator.ts'

function leb128 (v: bigint): number[] {
  const out: number[] = []
  while (v >= 0x80n) { out.push(Number(v & 0x7fn) | 0x80); v >>= 7n }
  out.push(Number(v))
  return out
}

const zigzag = (n: bigint): bigint => (n >= 0n ? n << 1n : ((-n) << 1n) - 1n)

function values (): number[] {
  const r = new Random(3)
  const vs: number[] = []
  for (const p of [0, 7, 14, 21, 28, 31, 32, 35, 39, 42, 46, 49, 52, 53]) for (const d of [-1, 0, 1]) vs.push(2 ** p + d)
  vs.push(Number.MAX_SAFE_INTEGER, 0x7fffffff, 0x80000000, 0xffffffff, 1765000000000, 3530000000000)
  for (let i = 0; i < 20_000; i++) vs.push(Math.floor(r.next() * 2 ** (1 + r.int(53))))
  return vs.filter(v => v >= 0 && v <= Number.MAX_SAFE_INTEGER)
}

test('uvarint and zigzag write what LEB128 over BigInt writes, and read back', () => {
  const w = new ByteWriter(4)
  for (const v of values()) {
    w.reset(); w.uvarint(v)
    assert.deepEqual([...w.buf.subarray(0, w.pos)], leb128(BigInt(v)), `uvarint ${v}`)
    for (const s of [v, -v]) {
      if (Object.is(s, -0)) continue
      w.reset(); w.zigzag(s)
      assert.deepEqual([...w.buf.subarray(0, w.pos)], leb128(zigzag(BigInt(s))), `zigzag ${s}`)
      assert.equal(new ByteReader(w.buf.subarray(0, w.pos)).zigzag(), s)
    }
  }
})

test('double and float write little-endian IEEE 754 bytes, also across a growth of the buffer', () => {
  const r = new Random(4)
  const w = new ByteWriter(3)
  const expected: number[] = []
  const dv = new DataView(new ArrayBuffer(8))
  for (let i = 0; i < 2000; i++) {
    const x = i % 97 === 0 ? [NaN, -0, Infinity, -Infinity, 5e-324][i % 5]! : (r.next() - 0.5) * 10 ** r.int(40)
    if (i % 2 === 0) { w.double(x); dv.setFloat64(0, x, true); expected.push(...new Uint8Array(dv.buffer, 0, 8)) } else { w.float(x); dv.setFloat32(0, x, true); expected.push(...new Uint8Array(dv.buffer, 0, 4)) }
  }
  assert.deepEqual([...w.buf.subarray(0, w.pos)], expected)
})
