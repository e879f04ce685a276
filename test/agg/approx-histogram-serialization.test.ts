// APPROX_HISTOGRAM_K (airbnb) IRs in Chronon's own format, Java object serialization of
// ApproxHistogramIrSerializable, against bytes a JVM wrote (test/vectors/approx-histogram/): ours byte-identical,
// theirs read back (issue 11, item 2).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { ApproxHistogram } from '../../src/agg/sketch/approx-histogram.ts'
import type { Item, ItemType } from '../../src/agg/sketch/java-compat.ts'
import { readChrononApproxHistogramIr } from '../../src/agg/sketch/java-serialization.ts'
import { toHex } from '../../src/codec/bytes.ts'
import { repoRoot } from '../helpers/reference.ts'

const vectors = JSON.parse(readFileSync(join(repoRoot, 'test', 'vectors', 'approx-histogram', 'approx-histogram-serialized.json'), 'utf8'))

function item (type: ItemType, v: unknown): Item {
  if (type === 'string') return v as string
  if (type === 'long') { const b = BigInt(v as string); return b >= -(2n ** 53n) && b <= 2n ** 53n ? Number(b) : b }
  if (v === 'NaN') return NaN
  if (v === '-0') return -0
  if (v === 'Infinity') return Infinity
  if (v === '-Infinity') return -Infinity
  return v as number
}

const fromHex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'))

for (const c of vectors.cases) {
  test(`APPROX_HISTOGRAM_K IR as the JVM serializes it: ${c.name}`, () => {
    const agg = new ApproxHistogram(c.k, c.type)
    const inputs = (c.inputs as unknown[]).map(v => item(c.type, v))
    let ir = agg.prepare(inputs[0]!)
    for (const x of inputs.slice(1)) ir = agg.update(ir, x)
    assert.equal(ir.isApprox, c.approx)
    const ours = agg.normalize(ir)
    assert.equal(toHex(ours), c.ir, 'our bytes = the JVM\'s')
    // the JVM's bytes read back: same content, same finals, and written again byte for byte
    const theirs = agg.denormalize(fromHex(c.ir))
    assert.deepEqual(agg.finalize(theirs), agg.finalize(ir))
    assert.equal(toHex(agg.normalize(theirs)), toHex(agg.normalize(agg.denormalize(ours))))
    const parsed = readChrononApproxHistogramIr(fromHex(c.ir), c.type)
    if (!c.approx) assert.deepEqual(parsed.hist!.entries.map(([k]) => (typeof k === 'bigint' ? String(k) : k)), (c.histOrder as unknown[]).map(v => { const x = item(c.type, v); return typeof x === 'bigint' ? String(x) : x }))
  })
}

test('the class descriptor carries the JVM\'s serialVersionUID of Chronon\'s class', () => {
  const c = vectors.cases[0]
  const uid = BigInt.asUintN(64, BigInt(vectors.serialVersionUID)).toString(16).padStart(16, '0')
  assert.ok((c.ir as string).includes(uid), uid)
})

test('IRs written by earlier tilekiln versions are still read', () => {
  const agg = new ApproxHistogram(8, 'string')
  let ir = agg.prepare('a')
  for (const x of ['b', 'a', 'é']) ir = agg.update(ir, x)
  assert.deepEqual(agg.finalize(agg.denormalize(agg.normalizeLegacy(ir))), agg.finalize(ir))
})

test('damaged Java serialization is refused with a reason', () => {
  const agg = new ApproxHistogram(8, 'string')
  const good = fromHex(vectors.cases[1].ir)
  for (const [bytes, why] of [[good.subarray(0, good.length - 3), /truncated|TC_ENDBLOCKDATA|unsupported/], [Uint8Array.from([...good, 0]), /trailing bytes/]] as const) {
    assert.throws(() => agg.denormalize(bytes), why)
  }
  // a long IR read as a string one
  const longCase = vectors.cases.find((x: { type: string, approx: boolean }) => x.type === 'long' && !x.approx)
  assert.throws(() => agg.denormalize(fromHex(longCase.ir)), /holds long items, expected string/)
})
