// A service that embeds tilekiln's fetcher: it serves feature values of the GroupBys it is given, read from the
// store the `tilekiln run` daemons write, on its own HTTP server beside its own routes. (The README shows it;
// test/tooling/packed-package.test.ts type-checks and runs it against the packed package.)
//
//   node feature-service.js STORE_DIR GROUPBY.json… (port from $PORT, default 8080)
import { readFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { compilePlan, EmbeddedStore, featureHandler, fetchFeatures, fetchFeaturesMany, loadReadSide, Metrics, type Served, TilekilnError } from 'tilekiln'

const [storeDir, ...groupByFiles] = process.argv.slice(2)
if (storeDir === undefined || groupByFiles.length === 0) throw new Error('usage: feature-service STORE_DIR GROUPBY.json…')

// Readers open the store read-only; LMDB lets them share it with the daemon that writes it.
const store = new EmbeddedStore(storeDir, { readOnly: true })
const served = new Map<string, Served>()
for (const file of groupByFiles) {
  const plan = compilePlan(JSON.parse(readFileSync(file, 'utf8')))
  served.set(plan.name, { read: await loadReadSide(plan, store), store })
}

// In process: one key's features at a point in time (epoch ms), as a function call.
const returns = served.get('examples.returns.v1')
if (returns !== undefined) {
  const { features, tilesRead } = await fetchFeatures(returns.read, store, [7], Date.UTC(2023, 11, 1))
  console.log(`user 7 on 2023-12-01: refund_amt_sum_14d=${String(features.refund_amt_sum_14d)} (${tilesRead} tiles)`)
  // Several keys at once: their tiles in one store request per round of the read (fetchFeatures per key: one each).
  const many = await fetchFeaturesMany(returns.read, store, [[7], [8]], Date.UTC(2023, 11, 1))
  console.log(`users 7 and 8 on 2023-12-01: refund_amt_sum_14d=${many.map(r => String(r.features.refund_amt_sum_14d)).join(', ')}`)
}

// Over HTTP: tilekiln's read API (GET /v1/features/<GroupBy>?<key>=<value>[&at=<ms>], /metrics) under /features,
// next to the service's own routes.
const readApi = featureHandler(served, new Metrics('feature-service'))
const server = createServer((req, res) => {
  if (req.url === '/hello') { res.end('hello\n'); return }
  if (req.url?.startsWith('/features/') === true) {
    req.url = req.url.slice('/features'.length)
    readApi(req, res)
    return
  }
  res.statusCode = 404
  res.end()
})
server.listen(Number(process.env.PORT ?? 8080), '127.0.0.1', () => {
  const address = server.address()
  console.log(`listening on ${typeof address === 'object' && address !== null ? address.port : '?'}`)
})
process.once('SIGTERM', () => { server.close(() => { void store.close() }) })

/** Errors are TilekilnErrors with a code and the context to act on. */
export function explain (e: unknown): string {
  return e instanceof TilekilnError ? `${e.code}: ${e.describe()}` : String(e)
}
