// The HashMap model against vectors recorded from a real JVM (test/agg/vectors/JavaVectors.java).
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { DOUBLE_KEYS, FLOAT_KEYS, INT_KEYS, LONG_KEYS, STRING_KEYS, doubleHashCode, floatHashCode, longHashCode, stringHashCode, utf8HashCode, type KeyKind } from '../../src/agg/java-hash.ts'
import { JavaHashMap, hashSetByAdds, hashSetOf, tableSizeFor } from '../../src/agg/java-hash-map.ts'
import { repoRoot } from '../helpers/reference.ts'

const vectors = JSON.parse(readFileSync(join(repoRoot, 'test', 'agg', 'vectors', 'java-vectors.json'), 'utf8'))

function num (v: unknown): number {
  if (v === 'NaN') return NaN
  if (v === '-0') return -0
  if (v === 'Infinity') return Infinity
  if (v === '-Infinity') return -Infinity
  return Number(v)
}

test('String.hashCode and Avro Utf8.hashCode', () => {
  for (const [s, javaHash, utf8Hash] of vectors.stringHashes) {
    assert.equal(stringHashCode(s), javaHash, `String.hashCode(${JSON.stringify(s)})`)
    assert.equal(utf8HashCode(s), utf8Hash, `Utf8.hashCode(${JSON.stringify(s)})`)
  }
})

test('Long, Double and Float hashCode', () => {
  for (const [v, h] of vectors.longHashes) {
    assert.equal(longHashCode(BigInt(v)), h, `Long.hashCode(${v}) as bigint`)
    if (Number.isSafeInteger(Number(v))) assert.equal(longHashCode(Number(v)), h, `Long.hashCode(${v})`)
  }
  for (const [v, h] of vectors.doubleHashes) assert.equal(doubleHashCode(num(v)), h, `Double.hashCode(${v})`)
  for (const [v, h] of vectors.floatHashes) assert.equal(floatHashCode(num(v)), h, `Float.hashCode(${v})`)
})

test('tableSizeFor', () => {
  assert.deepEqual([0, 1, 2, 3, 8, 9, 17, 1 << 30].map(tableSizeFor), [1, 1, 2, 4, 8, 16, 32, 1 << 30])
})

function replay (scenario: any): JavaHashMap<string | null, number> {
  const m = new JavaHashMap<string | null, number>(STRING_KEYS, scenario.initialCapacity ?? undefined)
  scenario.ops.forEach(([op, k]: [string, string], i: number) => {
    if (op === 'p') m.set(k, i)
    else m.delete(k)
  })
  return m
}

for (const scenario of [...vectors.maps, ...vectors.orderedMaps]) {
  test(`HashMap<String, _> iteration order: ${scenario.name}`, () => {
    const m = replay(scenario)
    assert.deepEqual(m.keysArray(), scenario.order)
    assert.equal(m.capacity, scenario.capacity)
    if (scenario.putAllOrder !== undefined) {
      const viaPutAll = new JavaHashMap<string | null, number>(STRING_KEYS).putAll(m, m.size)
      assert.deepEqual(viaPutAll.keysArray(), scenario.putAllOrder, 'new HashMap + putAll')
      assert.equal(viaPutAll.capacity, scenario.putAllCapacity)
      assert.deepEqual(m.copyByPuts().keysArray(), scenario.byPutsOrder, 'new HashMap + put each')
      assert.deepEqual(hashSetOf(STRING_KEYS, m.keysArray()).keysArray(), scenario.hashSetOfOrder, 'new HashSet(collection)')
    }
  })
}

const setKinds: Record<string, [KeyKind<any>, (v: unknown) => unknown]> = {
  double: [DOUBLE_KEYS, num],
  float: [FLOAT_KEYS, num],
  long: [LONG_KEYS, v => Number(v)],
  int: [INT_KEYS, v => v]
}

for (const scenario of vectors.sets) {
  test(`HashSet<${scenario.type}> iteration order: ${scenario.name}`, () => {
    const [kind, parse] = setKinds[scenario.type]!
    const s = hashSetByAdds(kind, scenario.adds.map(parse))
    assert.deepEqual(s.keysArray(), scenario.order.map(parse))
  })
}

test('removal keeps the positions of the others and a re-put key goes to its chain tail', () => {
  const m = new JavaHashMap<string | null, number>(STRING_KEYS)
  for (const k of ['Aa', 'BB', 'C']) m.set(k, 1) // Aa and BB share a hash, so one chain
  m.delete('Aa')
  m.set('Aa', 2)
  assert.deepEqual(m.keysArray(), ['BB', 'Aa', 'C'])
  assert.equal(m.get('Aa'), 2)
  m.set(null, 5) // a null key hashes to 0: the tail of bucket 0, after BB and Aa
  assert.deepEqual(m.keysArray(), ['BB', 'Aa', null, 'C'])
})
