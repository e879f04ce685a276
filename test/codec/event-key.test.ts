// Event keys and row identities (codec/event-key.ts) and the event put batch (sink/event-puts.ts): byte layouts,
// and byte order = numeric order, which both stores rely on to return a key's events by (event time, identity).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { toHex } from '../../src/codec/bytes.ts'
import { decodeEventKey, encodeEventKey, IDENTITY_BYTES, readIdentity, writeIdentity } from '../../src/codec/event-key.ts'
import { EventPuts, EventPutsWriter } from '../../src/sink/event-puts.ts'

const identity = (partition: number, position: number, row: number): Uint8Array => {
  const b = new Uint8Array(IDENTITY_BYTES)
  writeIdentity(b, 0, partition, position, row)
  return b
}

const compareBytes = (a: Uint8Array, b: Uint8Array): number => Buffer.compare(Buffer.from(a), Buffer.from(b))

test('row identity: exact bytes, round trip, and byte order = (partition, position, row) order', () => {
  assert.equal(toHex(identity(0, 0, 0)), '80000000' + '8000000000000000' + '00000000')
  assert.equal(toHex(identity(3, 258, 1)), '80000003' + '8000000000000102' + '00000001')
  assert.equal(toHex(identity(-1, 2 ** 40, 7)), '7fffffff' + '8000010000000000' + '00000007')
  const ids: [number, number, number][] = [[-1, 5, 0], [0, 0, 0], [0, 0, 1], [0, 1, 0], [0, 2 ** 33 + 1, 0], [0, Number.MAX_SAFE_INTEGER, 4], [1, 0, 0], [2 ** 31 - 1, 9, 2 ** 32 - 1]]
  for (const [p, pos, r] of ids) assert.deepEqual(readIdentity(identity(p, pos, r)), { partition: p, position: pos, row: r })
  for (let i = 1; i < ids.length; i++) assert.ok(compareBytes(identity(...ids[i - 1]!), identity(...ids[i]!)) < 0, `${ids[i - 1]!.join(',')} < ${ids[i]!.join(',')}`)
})

test('event key: dataset | 00 | u16 key length | key | ts (sign flipped) | identity; sorts by key, then time, then identity', () => {
  const key = Uint8Array.from([0x02, 0x06, 0x69, 0x64, 0x31]) // Avro key {id: "id1"}
  const k = encodeEventKey({ dataset: 'E2E_STREAMING', keyBytes: key, tsMillis: 1_699_366_993_123, identity: identity(2, 10, 1) })
  assert.equal(toHex(k), Buffer.from('E2E_STREAMING').toString('hex') + '00' + '0005' + '0206696431' + '8000018baa2a7ce3' + toHex(identity(2, 10, 1)))
  const back = decodeEventKey(k)
  assert.equal(back.dataset, 'E2E_STREAMING')
  assert.deepEqual([...back.keyBytes], [...key])
  assert.equal(back.tsMillis, 1_699_366_993_123)
  assert.deepEqual(readIdentity(back.identity), { partition: 2, position: 10, row: 1 })
  const at = (ts: number, p: number, pos: number): Uint8Array => encodeEventKey({ dataset: 'D', keyBytes: key, tsMillis: ts, identity: identity(p, pos, 0) })
  const ordered = [at(-86_400_001, 5, 5), at(-1, 0, 0), at(0, 0, 0), at(0, 0, 1), at(0, 1, 0), at(1, 0, 0), at(2 ** 45, 0, 0)]
  for (let i = 1; i < ordered.length; i++) assert.ok(compareBytes(ordered[i - 1]!, ordered[i]!) < 0, `key ${i - 1} < key ${i}`)
  assert.equal(decodeEventKey(at(-86_400_001, 5, 5)).tsMillis, -86_400_001)
  assert.throws(() => decodeEventKey(k.subarray(0, k.length - 1)), /not an event key/)
})

test('event put batch: written and read back; an aborted put leaves no trace', () => {
  const w = new EventPutsWriter()
  w.begin()
  const put = (key: number[], ts: number, p: number, pos: number, row: number, value: number[]): void => {
    const bw = w.beginPut()
    for (const b of key) bw.byte(b)
    w.keyEnd(ts, p, pos, row)
    for (const b of value) bw.byte(b)
    w.endValue()
  }
  put([0x02, 0x02], 1000, 0, 7, 0, [0x02, 0x10])
  const bw = w.beginPut()
  bw.byte(0x02)
  w.keyEnd(5, 0, 8, 0)
  bw.byte(0xff)
  w.abort()
  put([0x02, 0x04, 0x02], -5, 1, 9, 2, [])
  assert.equal(w.count, 2)
  const puts = new EventPuts(w.finish())
  assert.equal(puts.count, 2)
  assert.deepEqual([...puts.key(0)], [0x02, 0x02])
  assert.equal(puts.tsMillis(0), 1000)
  assert.deepEqual(readIdentity(puts.identity(0)), { partition: 0, position: 7, row: 0 })
  assert.deepEqual([...puts.value(0)], [0x02, 0x10])
  assert.deepEqual([...puts.key(1)], [0x02, 0x04, 0x02])
  assert.equal(puts.tsMillis(1), -5)
  assert.deepEqual(readIdentity(puts.identity(1)), { partition: 1, position: 9, row: 2 })
  assert.equal(puts.valueLength(1), 0)
  const longer = new Uint8Array(w.finish().byteLength + 1)
  longer.set(new Uint8Array(w.finish()))
  assert.throws(() => new EventPuts(longer.buffer), /corrupt event put batch: parsed \d+ of \d+ bytes/)
})
