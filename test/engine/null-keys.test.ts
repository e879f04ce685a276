// Null key values are tiled, as Chronon's Flink job tiles them (KeySelector keys such a row by List(null); the Key
// record's fields are ["null", T] unions), instead of being dead-lettered (issue 11, item 3). The store's key and
// tile bytes are compared with a JVM's (test/vectors/chronon/, `nullKeys`), with 1 and 2 workers (the record
// probe routes null keys like any other); `fetch` and the HTTP API ask for a null value.
import assert from 'node:assert/strict'
import type { Server } from 'node:http'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { compilePlan } from '../../src/config/plan.ts'
import { toHex } from '../../src/codec/bytes.ts'
import { decodeTileKey } from '../../src/codec/tile-key.ts'
import { featureServer, listen, nullParams, type Served } from '../../src/fetch/http.ts'
import { loadReadSide } from '../../src/fetch/tiled-read.ts'
import { Metrics } from '../../src/metrics/metrics.ts'
import { openFileSource } from '../../src/source/file.ts'
import { fixture } from '../helpers/e2e.ts'
import { runEngine } from '../helpers/engine.ts'
import { repoRoot } from '../helpers/reference.ts'
import { storeLines } from '../helpers/store-dump.ts'

const vectors = JSON.parse(readFileSync(join(repoRoot, 'test', 'vectors', 'chronon', 'chronon-parity.json'), 'utf8')).nullKeys
const T0 = 1_700_000_000_000
const DAY = [{ length: 1, timeUnit: 1 }]

function groupBy (keyColumns: string[]): unknown {
  return {
    metaData: { name: 'test.null_keys.v1' },
    sources: [{ events: { table: 'test.listings', topic: 'listings', query: { selects: { listing_id: 'listing_id', region: 'region', price: 'price', price_str: 'CAST(price AS STRING)' }, timeColumn: 'ts' } } }],
    keyColumns,
    aggregations: [
      { inputColumn: 'price', operation: 7, windows: DAY },
      { inputColumn: 'price', operation: 8, windows: DAY },
      { inputColumn: 'price_str', operation: 17, windows: DAY }
    ]
  }
}

interface NullKeyCase { key: Array<number | string | null>, prices: number[], keyBytes: string, tile: string }

for (const [name, keyColumns] of [['oneKey', ['listing_id']], ['twoKeys', ['listing_id', 'region']]] as const) {
  for (const workers of [1, 2]) {
    test(`null key values are tiled as Chronon tiles them: ${keyColumns.join(', ')}, ${workers} worker(s)`, async () => {
      const cases = vectors[name].tiles as NullKeyCase[]
      const dir = mkdtempSync(join(tmpdir(), 'tilekiln-null-keys-'))
      try {
        const lines: string[] = []
        let i = 0
        for (const c of cases) {
          for (const price of c.prices) {
            // a null is written as null or left out: both are a null key value
            const event: Record<string, unknown> = { price, ts: T0 + i++ }
            if (c.key[0] !== null || i % 2 === 0) event.listing_id = c.key[0]
            event.region = keyColumns.length > 1 ? c.key[1] : 'eu'
            lines.push(JSON.stringify(event))
          }
        }
        const path = join(dir, 'events.jsonl')
        writeFileSync(path, lines.join('\n') + '\n')
        const gb = groupBy([...keyColumns])
        const run = await runEngine(gb, await openFileSource({ path, schema: fixture('null-key-listings.avsc') }), { workers })
        try {
          assert.deepEqual(run.deadLetters.records.map(d => d.reason), [])
          const read = await loadReadSide(compilePlan(gb), run.store)
          assert.deepEqual(read.keyCodec.avroSchema, vectors[name].keySchema)
          assert.deepEqual(read.tileCodec.avroSchema, vectors.tileSchema)
          const tiles = new Map<string, string>()
          for (const line of await storeLines(run.store)) {
            const [k, v] = line.split(' ') as [string, string]
            let tileKey
            try { tileKey = decodeTileKey(Buffer.from(k, 'hex')) } catch { continue } // metadata
            tiles.set(toHex(tileKey.keyBytes), v)
          }
          for (const c of cases) {
            assert.equal(toHex(read.keyCodec.encode(c.key)), c.keyBytes, `key bytes of ${JSON.stringify(c.key)}`)
            assert.equal(tiles.get(c.keyBytes), c.tile, `tile of ${JSON.stringify(c.key)}`)
            const sum = c.prices.reduce((a, b) => a + b, 0)
            const features = await run.fetch(c.key, T0 + 3_600_000)
            assert.equal(features.price_sum_1d, sum, `fetch ${JSON.stringify(c.key)}`)
            assert.equal(features.price_average_1d, sum / c.prices.length)
          }
          assert.equal(tiles.size, cases.length)
        } finally {
          await run.cleanup()
        }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  }
}

test('untiled, a null key value is stored and read like any other', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-null-keys-untiled-'))
  const path = join(dir, 'events.jsonl')
  writeFileSync(path, [{ price: 8, region: 'eu', ts: T0 }, { listing_id: null, price: 2, region: 'eu', ts: T0 + 1 }, { listing_id: 5, price: 3, region: 'eu', ts: T0 + 2 }].map(e => JSON.stringify(e)).join('\n') + '\n')
  const run = await runEngine(groupBy(['listing_id']), await openFileSource({ path, schema: fixture('null-key-listings.avsc') }), { untiled: true })
  try {
    assert.deepEqual(run.deadLetters.records.map(d => d.reason), [])
    assert.deepEqual(await run.fetch([null], T0 + 10), { price_sum_1d: 10, price_average_1d: 5, price_str_histogram_1d: { 8: 1, 2: 1 } })
  } finally {
    await run.cleanup()
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the HTTP API asks for a null key value with a parameter without "="', async () => {
  assert.deepEqual([...nullParams('?listing_id&region=eu&at=5')], ['listing_id'])
  assert.deepEqual([...nullParams('?listing_id=&region')], ['region'])
  assert.deepEqual([...nullParams('?a%20b&c')], ['a b', 'c'])
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-null-keys-http-'))
  let server: Server | null = null
  const path = join(dir, 'events.jsonl')
  writeFileSync(path, [{ listing_id: null, region: 'eu', price: 8, ts: T0 }, { listing_id: 5, region: '', price: 3, ts: T0 + 1 }].map(e => JSON.stringify(e)).join('\n') + '\n')
  const gb = groupBy(['listing_id', 'region'])
  const run = await runEngine(gb, await openFileSource({ path, schema: fixture('null-key-listings.avsc') }))
  try {
    const plan = compilePlan(gb)
    const served = new Map<string, Served>([[plan.name, { read: await loadReadSide(plan, run.store), store: run.store }]])
    server = featureServer(served, new Metrics('serve'))
    const port = await listen(server, 0, '127.0.0.1')
    const get = async (query: string): Promise<any> => await (await fetch(`http://127.0.0.1:${port}/v1/features/${plan.name}?${query}&at=${T0 + 3_600_000}`)).json()
    const nullId = await get('listing_id&region=eu')
    assert.deepEqual(nullId.key, { listing_id: null, region: 'eu' })
    assert.deepEqual(nullId.features, { price_sum_1d: 8, price_average_1d: 8, price_str_histogram_1d: { 8: 1 } })
    // `region=` is the empty string, `region` alone is null: two different keys
    assert.equal((await get('listing_id=5&region=')).features.price_sum_1d, 3)
    assert.equal((await get('listing_id=5&region')).features.price_sum_1d, null)
  } finally {
    if (server !== null) await new Promise(resolve => server!.close(resolve))
    await run.cleanup()
    rmSync(dir, { recursive: true, force: true })
  }
})
