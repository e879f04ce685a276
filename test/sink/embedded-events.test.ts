// The embedded store's untiled events (database `events`): appends are idempotent by identity, a read returns one
// key's events with from ≤ ts < to ascending by (ts, identity), other keys and datasets stay apart, entries() gives
// the event keys, and a store written before any untiled run still opens read-only.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { T } from '../../src/api/data-type.ts'
import { toHex } from '../../src/codec/bytes.ts'
import { decodeEventKey, encodeEventKey, readIdentity } from '../../src/codec/event-key.ts'
import { KeyCodec } from '../../src/codec/key.ts'
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'
import { EventPuts, EventPutsWriter } from '../../src/sink/event-puts.ts'
import { TilePuts, TilePutsWriter } from '../../src/sink/tile-puts.ts'
import { storeLines } from '../helpers/store-dump.ts'

const keys = new KeyCodec([{ name: 'id', type: T.string }])
const A = keys.encode(['a'])
const B = keys.encode(['bee'])
const DS = 'TEST_EVENTS_STREAMING'

type Ev = readonly [key: Uint8Array, ts: number, partition: number, position: number, row: number, value: number]

function events (list: readonly Ev[]): EventPuts {
  const w = new EventPutsWriter()
  w.begin()
  for (const [key, ts, p, pos, row, value] of list) {
    const bw = w.beginPut()
    bw.raw(key)
    w.keyEnd(ts, p, pos, row)
    bw.byte(value)
    w.endValue()
  }
  return new EventPuts(w.finish())
}

test('embedded store: events are appended once per identity and read by (ts, identity) within [from, to)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-events-'))
  try {
    const store = new EmbeddedStore(join(dir, 'store'))
    const list: Ev[] = [
      [A, 1000, 0, 5, 0, 1], [A, 1000, 0, 4, 0, 2], [A, 999, 1, 0, 0, 3], [A, 1000, 0, 5, 1, 4], [A, -86_400_001, 0, 1, 0, 5],
      [A, 2000, 0, 9, 0, 6], [B, 1000, 0, 6, 0, 7]
    ]
    await store.appendEvents(DS, events(list))
    await store.appendEvents(DS, events(list.slice(0, 4))) // a replay
    await store.appendEvents('OTHER_STREAMING', events([[A, 1000, 0, 5, 0, 8]]))
    // The same identity with other value bytes replaces its entry (then back).
    await store.appendEvents(DS, events([[A, 1000, 0, 4, 0, 9]]))
    assert.deepEqual((await store.readEvents(DS, A, 1000, 1001)).map(e => e.value[0]), [9, 1, 4])
    await store.appendEvents(DS, events([[A, 1000, 0, 4, 0, 2]]))
    const read = async (from: number, to: number): Promise<string[]> =>
      (await store.readEvents(DS, A, from, to)).map(e => { const id = readIdentity(e.identity); return `${e.tsMillis}/${id.partition}/${id.position}/${id.row}=${e.value[0]!}` })
    assert.deepEqual(await read(-Infinity, Infinity), ['-86400001/0/1/0=5', '999/1/0/0=3', '1000/0/4/0=2', '1000/0/5/0=1', '1000/0/5/1=4', '2000/0/9/0=6'])
    assert.deepEqual(await read(1000, 2000), ['1000/0/4/0=2', '1000/0/5/0=1', '1000/0/5/1=4'], 'to is exclusive, from inclusive')
    assert.deepEqual(await read(999.5, 1000.5), ['1000/0/4/0=2', '1000/0/5/0=1', '1000/0/5/1=4'])
    assert.deepEqual(await read(1001, 1001), [])
    assert.deepEqual((await store.readEvents(DS, B, -Infinity, Infinity)).map(e => e.value[0]), [7])
    assert.deepEqual(await store.readEvents(DS, keys.encode(['c']), -Infinity, Infinity), [])
    // Tiles and events of one key live apart.
    const tw = new TilePutsWriter()
    tw.begin()
    tw.beginPut(A, 0).byte(9)
    tw.endValue()
    await store.writeTiles(DS, 300_000, new TilePuts(tw.finish()))
    assert.equal((await read(-Infinity, Infinity)).length, 6)
    await store.flushed()

    const entries = await storeLines(store)
    const evs = entries.filter(e => !e.startsWith('18')).map(e => e.split(' ')).map(([k, v]) => ({ key: decodeEventKey(Buffer.from(k!, 'hex')), v }))
    assert.equal(evs.length, 8)
    const first = evs.find(e => e.key.dataset === DS && e.key.tsMillis === 999)!
    assert.deepEqual(readIdentity(first.key.identity), { partition: 1, position: 0, row: 0 })
    assert.equal(first.v, '03')
    assert.equal(toHex(encodeEventKey(first.key)), entries.find(e => e.endsWith(' 03'))!.split(' ')[0])
    await store.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('embedded store: a store no untiled run wrote opens read-only, with no events', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-events-'))
  try {
    const { open } = await import('lmdb')
    // A store as an older tilekiln left it: databases `tiles` and `meta` only (a tile value of this layout: the
    // latest event time, then the tile record).
    const env = open({ path: join(dir, 'store'), maxDbs: 4, compression: false })
    const value = Buffer.alloc(9)
    value.writeBigInt64BE(1_701_475_200_000n)
    await env.openDB({ name: 'tiles', keyEncoding: 'binary', encoding: 'binary' }).put(Buffer.from([1]), value)
    await env.openDB({ name: 'meta', encoding: 'string' }).put('x', 'y')
    await env.close()
    const store = new EmbeddedStore(join(dir, 'store'), { readOnly: true })
    try {
      assert.deepEqual(await store.readEvents(DS, A, -Infinity, Infinity), [])
      await assert.rejects(store.appendEvents(DS, events([[A, 1, 0, 0, 0, 0]])), /read-only/)
    } finally {
      await store.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('embedded store: a long key\'s events read by a fresh store are that key\'s alone (the read grows its scratch buffer)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-events-long-'))
  try {
    const long = keys.encode(['m'.repeat(1500)])
    const writer = new EmbeddedStore(join(dir, 'store'))
    await writer.appendEvents(DS, events([[A, 1000, 0, 1, 0, 1], [long, 1000, 0, 2, 0, 2], [B, 1000, 0, 3, 0, 3]]))
    await writer.close()
    const reader = new EmbeddedStore(join(dir, 'store'), { readOnly: true })
    assert.deepEqual((await reader.readEvents(DS, long, -Infinity, Infinity)).map(e => e.value[0]), [2])
    await reader.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
