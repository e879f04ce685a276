// Untiled events in a real Redis (started by the test runner, TILEKILN_TEST_REDIS): the layout (a sorted set per
// entity key and day, score = event time, member = row identity ‖ the `{cleanName}_INPUT_COLS` value; the day
// index; TTLs), idempotent appends, ranges across days with and without the index, entries() equal to the embedded
// store's, and the engine run untiled into Redis and into LMDB giving the same dump and the same fetches — also after
// running the same input into Redis a second time. Each test writes under its own key prefix and deletes it after.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { type StructType, T } from '../../src/api/data-type.ts'
import { avroSchemaOf } from '../../src/codec/avro.ts'
import { IDENTITY_BYTES, readIdentity, writeIdentity } from '../../src/codec/event-key.ts'
import { KeyCodec } from '../../src/codec/key.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'
import { EventPuts, EventPutsWriter } from '../../src/sink/event-puts.ts'
import { DEFAULT_REDIS_TTL_SECONDS } from '../../src/sink/redis-store.ts'
import type { TileStore } from '../../src/sink/store.ts'
import { openGeneratorSource, parseGeneratorOptions } from '../../src/source/generator.ts'
import { runEngine } from '../helpers/engine.ts'
import { redisTestBed } from '../helpers/redis.ts'
import { storeLines } from '../helpers/store-dump.ts'

const BEDS = [['Redis', redisTestBed('node scripts/test.mjs redis-untiled')], ['Redis Cluster', redisTestBed('node scripts/test.mjs redis-untiled', 'cluster')]] as const

const DAY = 86_400_000
const DS = 'TEST_REDIS_UNTILED_STREAMING'
const KEY_A = new KeyCodec([{ name: 'id', type: T.string }]).encode(['a'])
const KEY_B = new KeyCodec([{ name: 'id', type: T.string }]).encode(['bee'])
const T0 = Date.UTC(2024, 0, 10, 23, 59, 59, 998) // two milliseconds before midnight


type Ev = readonly [key: Uint8Array, ts: number, partition: number, position: number, row: number, value: string]

function events (list: readonly Ev[]): EventPuts {
  const w = new EventPutsWriter()
  w.begin()
  for (const [key, ts, p, pos, row, value] of list) {
    const bw = w.beginPut()
    bw.raw(key)
    w.keyEnd(ts, p, pos, row)
    bw.raw(Buffer.from(value))
    w.endValue()
  }
  return new EventPuts(w.finish())
}


const LIST: Ev[] = [
  [KEY_A, T0, 0, 7, 0, 'x'], [KEY_A, T0, 0, 5, 1, 'yy'], [KEY_A, T0 + 2, 1, 0, 0, 'z'], [KEY_A, T0 - 40 * DAY, 0, 1, 0, 'old'],
  [KEY_B, T0, 0, 6, 0, 'b']
]

for (const [where, { skip, admin, prefix, keysOf, open }] of BEDS) {
  describe(`untiled events in ${where}`, { skip }, () => {
    test('layout: sorted set per key and day (score = ts, member = identity ‖ value), the day index, TTLs; appends are idempotent', async () => {
      const p = prefix('layout')
      const store = await open(p)
      try {
        await store.appendEvents(DS, events(LIST))
        const tag = `${p}:{${DS}:${Buffer.from(KEY_A).toString('base64')}}`
        const tagB = `${p}:{${DS}:${Buffer.from(KEY_B).toString('base64')}}`
        const day1 = Date.UTC(2024, 0, 10)
        const day2 = Date.UTC(2024, 0, 11)
        const day0 = day1 - 40 * DAY
        assert.deepEqual(await keysOf(p), [`${tag}:${day0}`, `${tag}:${day1}`, `${tag}:${day2}`, `${tag}:days`, `${tagB}:${day1}`, `${tagB}:days`].sort())
        const members = await admin!.zrangeBuffer(`${tag}:${day1}`, 0, -1, 'WITHSCORES')
        const member = (pt: number, pos: number, row: number, value: string): Buffer => {
          const b = Buffer.alloc(IDENTITY_BYTES + value.length)
          writeIdentity(b, 0, pt, pos, row)
          b.write(value, IDENTITY_BYTES)
          return b
        }
        // Equal scores are ordered by member bytes, i.e. by identity.
        assert.deepEqual(members, [member(0, 5, 1, 'yy'), Buffer.from(String(T0)), member(0, 7, 0, 'x'), Buffer.from(String(T0))])
        assert.deepEqual(await admin!.zrange(`${tag}:days`, 0, -1, 'WITHSCORES'), [day0, day0, day1, day1, day2, day2].map(String))
        for (const k of await keysOf(p)) {
          const ttl = await admin!.ttl(k)
          assert.ok(ttl > DEFAULT_REDIS_TTL_SECONDS - 60 && ttl <= DEFAULT_REDIS_TTL_SECONDS, `${k}: TTL ${ttl}`)
        }
        // A replay adds nothing (and leaves the TTLs alone).
        await admin!.expire(`${tag}:${day1}`, 1000)
        await store.appendEvents(DS, events(LIST))
        assert.equal(await admin!.zcard(`${tag}:${day1}`), 2)
        assert.equal(await admin!.ttl(`${tag}:${day1}`), 1000)
        // The same identity with other value bytes replaces its member: one per (event time, identity).
        await store.appendEvents(DS, events([[KEY_A, T0, 0, 7, 0, 'x2']]))
        assert.deepEqual(await admin!.zrangeBuffer(`${tag}:${day1}`, 0, -1), [member(0, 5, 1, 'yy'), member(0, 7, 0, 'x2')])
        await store.appendEvents(DS, events([[KEY_A, T0, 0, 7, 0, 'x']]))
        // ttl=0: new events make their buckets and index persistent.
        const persistent = await open(p, { ttlSeconds: 0 })
        try {
          await persistent.appendEvents(DS, events([[KEY_A, T0 + 1, 0, 99, 0, 'w']]))
        } finally {
          await persistent.close()
        }
        assert.equal(await admin!.ttl(`${tag}:${day1}`), -1)
        assert.equal(await admin!.ttl(`${tag}:days`), -1)
      } finally {
        await store.close()
      }
    })

    test('reads: [from, to) across day buckets, through the index when unbounded or longer than a month; entries() = the embedded store\'s', async () => {
      const store = await open(prefix('reads'))
      const dir = mkdtempSync(join(tmpdir(), 'tilekiln-redis-untiled-'))
      const embedded = new EmbeddedStore(join(dir, 'store'))
      try {
        for (const s of [store, embedded] as TileStore[]) await s.appendEvents(DS, events(LIST))
        for (const s of [store, embedded] as TileStore[]) {
          const read = async (from: number, to: number): Promise<string[]> => (await s.readEvents(DS, KEY_A, from, to)).map(e => {
            const id = readIdentity(e.identity)
            return `${e.tsMillis - T0}/${id.position}/${id.row}=${Buffer.from(e.value).toString()}`
          })
          const all = [`${-40 * DAY}/1/0=old`, '0/5/1=yy', '0/7/0=x', '2/0/0=z']
          assert.deepEqual(await read(-Infinity, Infinity), all, s.description)
          assert.deepEqual(await read(T0 - 50 * DAY, T0 + 3), all, s.description)
          assert.deepEqual(await read(T0, T0 + 2), ['0/5/1=yy', '0/7/0=x'], s.description)
          assert.deepEqual(await read(T0 + 1, T0 + 3), ['2/0/0=z'], s.description)
          assert.deepEqual(await read(T0 + 3, Infinity), [], s.description)
        }
        assert.deepEqual(await storeLines(store), await storeLines(embedded))
      } finally {
        await store.close()
        await embedded.close()
        rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}

const H = { length: 1, timeUnit: 0 }
const D = { length: 1, timeUnit: 1 }
const W7 = { length: 7, timeUnit: 1 }
const GROUP_BY = {
  metaData: { name: 'test.redis_untiled.v1' },
  sources: [{ events: { table: 'test.events', topic: 'events', query: { selects: { user_id: 'user_id', amount: 'amount', item: 'item' }, timeColumn: 'ts' } } }],
  keyColumns: ['user_id'],
  aggregations: [
    { inputColumn: 'amount', operation: 7 }, // unbounded: reads from −∞ through the day index
    { inputColumn: 'amount', operation: 6, windows: [W7] },
    { inputColumn: 'amount', operation: 8, windows: [H] },
    { inputColumn: 'item', operation: 13, argMap: { k: '3' }, windows: [D] },
    { inputColumn: 'item', operation: 4, windows: [D] }
  ]
}
const SCHEMA = avroSchemaOf(T.struct('Event', [
  { name: 'user_id', type: T.long }, { name: 'ts', type: T.long }, { name: 'amount', type: T.double }, { name: 'item', type: T.string }
]) as StructType)
const START = Date.UTC(2024, 2, 1, 7)
/** 12,000 events 50 s apart: a week of event time, out of order by up to a minute. */
const GEN = `keys=200,zipf=0.8,count=12000,seed=5,start=${START},step=50000,disorder=60000,partitions=2,nulls=0.05`
const END = START + 12_000 * 50_000
const QUERY_TIMES = [START + 3_600_000 + 17, START + 2 * DAY + 7 * 60_000, START + 4 * DAY + 1, END, END + 2 * DAY]
const source = (): ReturnType<typeof openGeneratorSource> => openGeneratorSource(compilePlan(GROUP_BY), parseGeneratorOptions(GEN), SCHEMA)

for (const [where, { skip, prefix, open }] of BEDS) {
  describe(`the untiled engine into ${where}`, { skip }, () => {
    test('the same events untiled into LMDB and into Redis (twice, 2 then 3 workers): identical dump lines and fetches', async () => {
      const store = await open(prefix('engine'))
      const embedded = await runEngine(GROUP_BY, source(), { workers: 2, evaluator: 'column-refs', untiled: true })
      try {
        let first: string[] = []
        for (const workers of [2, 3]) {
          const redis = await runEngine(GROUP_BY, source(), { workers, evaluator: 'column-refs', store, untiled: true })
          assert.equal(redis.summary.records, 12_000)
          assert.equal(redis.deadLetters.records.filter(d => d.code !== 'TK_INPUT').length, 0)
          const lines = await storeLines(redis.store)
          if (workers === 2) {
            first = lines
            assert.equal(lines.length, 1 + redis.summary.rows, 'metadata and one entry per row')
            assert.deepEqual(lines, await storeLines(embedded.store))
          } else {
            assert.deepEqual(lines, first, 'the second run added nothing')
          }
          let compared = 0
          for (let key = 0; key < 200; key += workers === 2 ? 1 : 7) {
            for (const q of key % 5 === 0 ? QUERY_TIMES : [END]) {
              assert.deepEqual(await redis.fetch([key], q), await embedded.fetch([key], q), `key ${key} at ${q}`)
              compared++
            }
          }
          assert.ok(compared >= 30)
          await redis.cleanup()
        }
      } finally {
        await embedded.cleanup()
        await store.close()
      }
    })
  })
}
