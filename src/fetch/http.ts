// The HTTP read API (`tilekiln serve`) and the Prometheus endpoint shared with `tilekiln run --metrics-port`.
//
//   GET /v1/features/<groupBy name>?<key column>=<value>[&…][&at=<epoch ms>]   → {"groupBy", "key", "at", "features"}
//   GET /v1/group-bys                                                       → the GroupBys served
//   GET /metrics                                                             → Prometheus text format
//   GET /healthz                                                             → "ok"
//
// Key values are typed with the GroupBy's stored key schema, exactly as `tilekiln fetch --key` does. Errors are JSON
// {"error", "code"} with 400 (bad request), 404 (unknown GroupBy or path) or 500.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { ReadSide } from '../config/bind.ts'
import { describeError, isTilekilnError, TilekilnError } from '../errors.ts'
import type { Metrics } from '../metrics/metrics.ts'
import type { TileStore } from '../sink/store.ts'
import { fetchFeatures } from './tiled-read.ts'

export interface Served { readonly read: ReadSide, readonly store: TileStore }

function send (res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? JSON.stringify(body) : String(body)
  res.writeHead(status, { 'content-type': type === 'application/json' ? 'application/json; charset=utf-8' : type, 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/** Parses the key columns of a GroupBy from query parameters, typed by its key schema. */
export function keyFromQuery (read: ReadSide, params: URLSearchParams): unknown[] {
  const cols = read.plan.keyColumns
  for (const name of params.keys()) {
    if (name !== 'at' && !cols.includes(name)) throw new TilekilnError('TK_USAGE', `'${name}' is not a key column of ${read.plan.name} (key columns: ${cols.join(', ')})`)
  }
  return cols.map(c => {
    const text = params.get(c)
    if (text === null) throw new TilekilnError('TK_USAGE', `missing key column '${c}' (key columns: ${cols.join(', ')})`)
    if (params.getAll(c).length > 1) throw new TilekilnError('TK_USAGE', `key column '${c}' is given more than once`)
    try {
      return read.keyCodec.parseText(c, text)
    } catch (e) {
      throw new TilekilnError('TK_USAGE', (e as Error).message)
    }
  })
}

/** The read API as a request handler, for a service that has its own HTTP server (node:http, Express, …). */
export function featureHandler (served: ReadonlyMap<string, Served>, metrics: Metrics): (req: IncomingMessage, res: ServerResponse) => void {
  metrics.describe('fetch_requests', 'feature requests served')
  metrics.describe('fetch_errors', 'feature requests that failed')
  metrics.describe('fetch_latency_us', 'time to read and finalize one feature request (µs)')
  return (req, res) => {
    handle(req, res, served, metrics).catch(e => send(res, 500, { error: describeError(e), code: 'TK_INTERNAL' }))
  }
}

export function featureServer (served: ReadonlyMap<string, Served>, metrics: Metrics): Server {
  return createServer(featureHandler(served, metrics))
}

async function handle (req: IncomingMessage, res: ServerResponse, served: ReadonlyMap<string, Served>, metrics: Metrics): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost')
  if (req.method !== 'GET') { send(res, 405, { error: 'only GET is supported', code: 'TK_USAGE' }); return }
  if (url.pathname === '/healthz') { send(res, 200, 'ok\n', 'text/plain'); return }
  if (url.pathname === '/metrics') { send(res, 200, metrics.prometheus(), 'text/plain; version=0.0.4'); return }
  if (url.pathname === '/v1/group-bys') {
    send(res, 200, [...served.values()].map(s => ({ name: s.read.plan.name, keyColumns: s.read.plan.keyColumns, features: s.read.plan.outputs.map(o => o.name) })))
    return
  }
  const m = /^\/v1\/features\/([^/]+)$/.exec(url.pathname)
  if (m === null) { send(res, 404, { error: `no such path ${url.pathname}`, code: 'TK_USAGE' }); return }
  let name: string
  try {
    name = decodeURIComponent(m[1]!)
  } catch {
    send(res, 400, { error: `malformed %-escape in the path ${url.pathname}`, code: 'TK_USAGE' }); return
  }
  const s = served.get(name)
  if (s === undefined) { send(res, 404, { error: `GroupBy '${name}' is not served (served: ${[...served.keys()].join(', ')})`, code: 'TK_USAGE' }); return }
  const started = performance.now()
  try {
    const key = keyFromQuery(s.read, url.searchParams)
    const atText = url.searchParams.get('at')
    // Digits only: Number('') is 0, and ' 1e3', '0x10' are not what anyone means by epoch milliseconds.
    const at = atText === null ? Date.now() : /^-?\d{1,16}$/.test(atText) ? Number(atText) : Number.NaN
    if (!Number.isSafeInteger(at)) throw new TilekilnError('TK_USAGE', `at must be epoch milliseconds (an integer), got '${atText}'`)
    const r = await fetchFeatures(s.read, s.store, key, at)
    metrics.inc('fetch_requests')
    metrics.record('fetch_latency_us', (performance.now() - started) * 1000)
    send(res, 200, { groupBy: name, key: Object.fromEntries(s.read.plan.keyColumns.map((c, i) => [c, typeof key[i] === 'bigint' ? String(key[i]) : key[i]])), at, tilesRead: r.tilesRead, features: r.features })
  } catch (e) {
    metrics.inc('fetch_errors')
    const usage = isTilekilnError(e) && (e.code === 'TK_USAGE')
    send(res, usage ? 400 : 500, { error: describeError(e), code: isTilekilnError(e) ? e.code : 'TK_INTERNAL' })
  }
}

/** Just `/metrics` (and `/healthz`), for a running engine. */
export function metricsServer (metrics: Metrics): Server {
  return featureServer(new Map(), metrics)
}

export function listen (server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      const a = server.address()
      resolve(typeof a === 'object' && a !== null ? a.port : port)
    })
  })
}
