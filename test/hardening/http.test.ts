// Hardening, HTTP (issue 12, items 1 and 11): the read API refuses what the write side refuses, with 400 and
// TK_USAGE. Before: `?k=18446744073709551616` answered with key 0's features (2^64 wrapped to 0), a malformed
// %-escape in the path gave 500 TK_INTERNAL, and `at=` (empty) read as time 0.
import assert from 'node:assert/strict'
import type { Server } from 'node:http'
import { join } from 'node:path'
import { test } from 'node:test'
import { compilePlan } from '../../src/config/plan.ts'
import { featureServer, listen, type Served } from '../../src/fetch/http.ts'
import { loadReadSide } from '../../src/fetch/tiled-read.ts'
import { Metrics } from '../../src/metrics/metrics.ts'
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'
import { openFileSource } from '../../src/source/file.ts'
import { runEngine } from '../helpers/engine.ts'
import { groupBy, T0, tempDir, writeLines } from './helpers.ts'

const LONG = groupBy('test.http_long.v1')
const TEXT = groupBy('test.http_text.v1')

test('the HTTP read API: keys the write side refuses, malformed escapes and empty times are 400 TK_USAGE', async () => {
  const tmp = tempDir('http')
  const store = new EmbeddedStore(join(tmp.dir, 'store'))
  let server: Server | null = null
  try {
    const longEvents = writeLines(join(tmp.dir, 'long.jsonl'), [0, 1, 2].map(i => `{"k":0,"v":${100 * (i + 1)},"ts":${T0 + i}}`))
    const textEvents = writeLines(join(tmp.dir, 'text.jsonl'), [`{"k":"a","v":1,"ts":${T0}}`])
    for (const [gb, path] of [[LONG, longEvents], [TEXT, textEvents]] as const) {
      const run = await runEngine(gb, await openFileSource({ path }), { store })
      assert.equal(run.summary.deadLetters, 0)
      await run.cleanup()
    }
    const served = new Map<string, Served>()
    for (const gb of [LONG, TEXT]) {
      const plan = compilePlan(gb)
      served.set(plan.name, { read: await loadReadSide(plan, store), store })
    }
    server = featureServer(served, new Metrics('serve'))
    const port = await listen(server, 0, '127.0.0.1')
    const get = async (path: string): Promise<{ status: number, body: any }> => {
      const r = await fetch(`http://127.0.0.1:${port}${path}`)
      return { status: r.status, body: await r.json() }
    }
    const at = T0 + 60_000
    const ok = await get(`/v1/features/test.http_long.v1?k=0&at=${at}`)
    assert.equal(ok.status, 200)
    assert.deepEqual(ok.body.features, { v_count: 3, v_sum: 600 })
    // A valid long no record was stored under: nothing, not key 0.
    const exact = await get(`/v1/features/test.http_long.v1?k=9007199254740993&at=${at}`)
    assert.equal(exact.status, 200)
    assert.deepEqual(exact.body.key, { k: '9007199254740993' })
    assert.deepEqual(exact.body.features, { v_count: null, v_sum: null })

    const refused: [string, RegExp][] = [
      [`/v1/features/test.http_long.v1?k=18446744073709551616&at=${at}`, /18446744073709551616 is outside the range of a long/],
      [`/v1/features/test.http_long.v1?k=-9223372036854775809&at=${at}`, /outside the range of a long/],
      [`/v1/features/test.http_long.v1?k=1.5&at=${at}`, /'1.5' is not an integer/],
      [`/v1/features/test.http_long.v1?k=&at=${at}`, /'' is not an integer/],
      [`/v1/features/test.http_long.v1?k=%ZZ&at=${at}`, /is not an integer/],
      [`/v1/features/test.http_long.v1?k=0&k=1&at=${at}`, /given more than once/],
      ['/v1/features/test.http_long.v1?k=0&at=', /at must be epoch milliseconds \(an integer\), got ''/],
      ['/v1/features/test.http_long.v1?k=0&at=1e3', /got '1e3'/],
      ['/v1/features/test.http_long.v1?k=0&at=0x10', /got '0x10'/],
      ['/v1/features/test.http_long.v1?k=0&at=%20', /got ' '/],
      ['/v1/features/test.%E0%A4%A', /malformed %-escape/],
      ['/v1/features/%', /malformed %-escape/],
      [`/v1/features/test.http_text.v1?k=${'x'.repeat(3000)}&at=${at}`, /the key is 3003 bytes; embedded:.* holds keys of at most [\d,]+/]
    ]
    for (const [path, error] of refused) {
      const r = await get(path)
      assert.equal(r.status, 400, `${path}: ${JSON.stringify(r.body)}`)
      assert.equal(r.body.code, 'TK_USAGE', path)
      assert.match(r.body.error, error, path)
    }
    const text = await get(`/v1/features/test.http_text.v1?k=a&at=${at}`)
    assert.deepEqual(text.body.features, { v_count: 1, v_sum: 1 })
  } finally {
    if (server !== null) await new Promise(resolve => server!.close(resolve))
    await store.close()
    tmp.remove()
  }
})
