// Golden: MinHeapTest, BoundedUniqueCountTest and ElementWiseAggregatorTest.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { BoundedUniqueCount } from '../../src/agg/bounded-unique-count.ts'
import { LONG_ORDERING, MinHeap } from '../../src/agg/min-heap.ts'
import { RowAggregator } from '../../src/agg/row.ts'
import { type DataType, T } from '../../src/api/data-type.ts'
import { isTilekilnError } from '../../src/errors.ts'
import { goldenCase } from '../helpers/reference.ts'
import { planOf } from './golden-helpers.ts'

test('MinHeap layout after inserts and merge (MinHeapTest)', () => {
  const c = goldenCase('min_heap')
  const heap = new MinHeap<number>(c.maxSize, LONG_ORDERING)
  const a: number[] = []
  for (const x of c.insertsA) heap.insert(a, x)
  assert.deepEqual(a, c.arrayA)
  const b: number[] = []
  for (const x of c.insertsB) heap.insert(b, x)
  assert.deepEqual(b, c.arrayB)
  heap.merge(a, b)
  assert.deepEqual(a, c['merge(A,B)->A'])
  assert.deepEqual(b, c.arrayB, 'the right side stays intact')
})

const boundedTypes: [string, DataType, (s: string) => unknown][] = [
  ['string', T.string, s => s],
  ['int', T.int, s => Number(s)],
  ['long', T.long, s => Number(s)],
  ['double', T.double, s => Number(s) + 0.5],
  ['float', T.float, s => Math.fround(Number(s) + 0.25)]
]

test('BOUNDED_UNIQUE_COUNT saturates at k (BoundedUniqueCountTest)', () => {
  const c = goldenCase('bounded_unique_count')
  for (const [name, type, parse] of boundedTypes) {
    const agg = new BoundedUniqueCount(type, c.k)
    for (const sub of c.subcases) {
      if (sub.inputs !== undefined) {
        const xs = (sub.inputs as string[]).map(parse)
        let ir = agg.prepare(xs[0])
        for (const x of xs.slice(1)) ir = agg.update(ir, x)
        assert.equal(agg.finalize(ir), sub.expected, `${name} ${JSON.stringify(sub.inputs)}`)
      } else {
        const [l, r] = (sub.merge as string[][]).map(xs => {
          let ir = agg.prepare(parse(xs[0]!))
          for (const x of xs.slice(1)) ir = agg.update(ir, parse(x))
          return ir
        })
        assert.equal(agg.finalize(agg.merge(l!, r!)), sub.expected, `${name} merge`)
      }
    }
  }
})

test('BOUNDED_UNIQUE_COUNT over binary: the same array counts once, equal bytes in two arrays twice (Java identity)', () => {
  const agg = new BoundedUniqueCount(T.binary, 5)
  const bytes1 = Uint8Array.of(1, 2, 3)
  const bytes2 = Uint8Array.of(4, 5, 6)
  let ir = agg.prepare(bytes1)
  ir = agg.update(ir, bytes1)
  ir = agg.update(ir, bytes2)
  assert.equal(agg.finalize(ir), 2)
  ir = agg.update(ir, Uint8Array.of(1, 2, 3))
  assert.equal(agg.finalize(ir), 3)
  let big = agg.prepare(Uint8Array.of(1))
  for (let i = 2; i <= 7; i++) big = agg.update(big, Uint8Array.of(i))
  assert.equal(agg.finalize(big), 5)
})

function elementWise (op: string): RowAggregator {
  const plan = planOf('element_wise', [{ op, col: 'v', elementWise: true }])
  return new RowAggregator(plan, [{ name: 'ts', type: T.long }, { name: 'v', type: T.list(T.double) }])
}

test('element-wise aggregation (ElementWiseAggregatorTest)', () => {
  const c = goldenCase('element_wise')
  for (const sub of c.subcases) {
    const agg = elementWise(sub.op)
    const label = `${sub.op} ${JSON.stringify(sub.inputs ?? sub.merge)}`
    const feed = (irs: unknown[], lists: unknown[][]): unknown[] => {
      for (const l of lists) agg.update(irs, [0, l], 0)
      return irs
    }
    if (sub.expectedError !== undefined) {
      const irs = agg.init()
      const lists = sub.inputs as unknown[][]
      feed(irs, lists.slice(0, -1))
      const before = JSON.stringify(irs)
      assert.throws(() => agg.update(irs, [0, lists[lists.length - 1]], 0), (e: unknown) => {
        return isTilekilnError(e) && e.code === 'TK_INPUT' && e.message.includes(sub.expectedError)
      }, label)
      assert.equal(JSON.stringify(irs), before, `${label}: a rejected event changes nothing`)
      continue
    }
    let irs: unknown[]
    if (sub.merge !== undefined) {
      const [a, b] = (sub.merge as unknown[][][]).map(lists => feed(agg.init(), lists))
      irs = agg.merge(a!, b!)
    } else {
      irs = feed(agg.init(), sub.inputs)
    }
    for (const l of (sub.delete ?? []) as unknown[][]) agg.delete(irs, [0, l], 0)
    assert.deepEqual(agg.finalize(irs)[0], sub.expected, label)
  }
})
