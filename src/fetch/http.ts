// The HTTP read API (`tilekiln serve`) and the Prometheus endpoint shared with `tilekiln run --metrics-port`.
//
//   GET /v1/features/<groupBy name>?<key column>=<value>[&…][&at=<epoch ms>]   → {"groupBy", "key", "at", "features"}
//       (a key column given without `=`, `?user_id`, asks for its null value)
//   GET /v1/group-bys                                                       → the GroupBys served
//   GET /  (and /assets/…)                                                   → the status page (fetch/status-page.ts)
//   GET /v1/status[?since=<epoch ms>]                                        → its data: samples after `since`
//   GET /metrics                                                             → Prometheus text format
//   GET /healthz     → 200 "ok" while the process can make progress; 503 and the reason once it cannot (a failed run)
//   GET /readyz      → 200 "ready" once the store and the source are connected; 503 and the reason before, and while
//                      the store writer or the source is stalled
//
// Key values are typed with the GroupBy's stored key schema, exactly as `tilekiln fetch --key` does. Errors are JSON
// {"error", "code"} with 400 (bad request), 404 (unknown GroupBy or path), 422 (the key's stored tiles cannot be
// aggregated: an element-wise list whose length changed within the window) or 500.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { ReadSide } from '../config/bind.ts'
import { describeError, type ErrorCode, isTilekilnError, TilekilnError } from '../errors.ts'
import { M, Metrics } from '../metrics/metrics.ts'
import type { TileStore } from '../sink/store.ts'
import { type StatusFeed, statusAssets } from './status-page.ts'
import { fetchFeatures, type FetchOptions, type HeadTileRule } from './tiled-read.ts'

/** 400: the request is wrong; 422: the request is right but this key's stored data cannot be aggregated; else 500. */
const ERROR_STATUS: Partial<Record<ErrorCode, number>> = { TK_USAGE: 400, TK_INPUT: 422 }

export interface Served {
  readonly read: ReadSide
  readonly store: TileStore
  /** The head-tile rule of reads (fetch/tiled-read.ts); default: the GroupBy's flavour. */
  readonly headTile?: HeadTileRule | undefined
  /** The rolled-up tiles reads take (fetch/tiled-read.ts FetchOptions.rollups); default: every size there is. */
  readonly rollups?: FetchOptions['rollups']
}

/** What /healthz and /readyz ask (the running engine); each returns null when fine, else the reason. */
export interface Health {
  notLive (): string | null
  notReady (): string | null
}

const ALWAYS: Health = { notLive: () => null, notReady: () => null }

function send (res: ServerResponse, status: number, body: unknown, type = 'application/json'): void {
  const text = type === 'application/json' ? JSON.stringify(body) : String(body)
  res.writeHead(status, { 'content-type': type === 'application/json' ? 'application/json; charset=utf-8' : type, 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

/**
 * The parameter names of a raw query string given without `=` (`?user_id&at=…`): key columns asked for with a
 * null value (Chronon tiles null keys). URLSearchParams cannot tell `?user_id` from `?user_id=` (an empty string).
 */
export function nullParams (search: string): Set<string> {
  const out = new Set<string>()
  for (const part of search.replace(/^\?/, '').split('&')) {
    if (part === '' || part.includes('=')) continue
    try { out.add(decodeURIComponent(part.replace(/\+/g, ' '))) } catch { /* malformed: URLSearchParams reports it as a value */ }
  }
  return out
}

/** Parses the key columns of a GroupBy from query parameters, typed by its key schema; `nulls` are null values. */
export function keyFromQuery (read: ReadSide, params: URLSearchParams, nulls: ReadonlySet<string> = new Set()): unknown[] {
  const cols = read.plan.keyColumns
  for (const name of params.keys()) {
    if (name !== 'at' && !cols.includes(name)) throw new TilekilnError('TK_USAGE', `'${name}' is not a key column of ${read.plan.name} (key columns: ${cols.join(', ')})`)
  }
  return cols.map(c => {
    const text = params.get(c)
    if (text === null) throw new TilekilnError('TK_USAGE', `missing key column '${c}' (key columns: ${cols.join(', ')})`)
    if (params.getAll(c).length > 1) throw new TilekilnError('TK_USAGE', `key column '${c}' is given more than once`)
    if (nulls.has(c)) return null
    try {
      return read.keyCodec.parseText(c, text)
    } catch (e) {
      throw new TilekilnError('TK_USAGE', (e as Error).message)
    }
  })
}

export interface ServerExtras {
  /** What /healthz and /readyz report (default: always fine). */
  readonly health?: Health
  /** The status page's data (without it, /v1/status is 404 and the page has no charts). */
  readonly status?: StatusFeed
}

/** The read API as a request handler, for a service that has its own HTTP server (node:http, Express, …). */
export function featureHandler (served: ReadonlyMap<string, Served>, metrics: Metrics, extras: ServerExtras = {}): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(req, res, served, metrics, extras).catch(e => send(res, 500, { error: describeError(e), code: 'TK_INTERNAL' }))
  }
}

export function featureServer (served: ReadonlyMap<string, Served>, metrics: Metrics, extras: ServerExtras = {}): Server {
  return createServer(featureHandler(served, metrics, extras))
}

async function handle (req: IncomingMessage, res: ServerResponse, served: ReadonlyMap<string, Served>, metrics: Metrics, extras: ServerExtras): Promise<void> {
  const health = extras.health ?? ALWAYS
  const url = new URL(req.url ?? '/', 'http://localhost')
  if (req.method !== 'GET') { send(res, 405, { error: 'only GET is supported', code: 'TK_USAGE' }); return }
  if (url.pathname === '/healthz') { const why = health.notLive(); send(res, why === null ? 200 : 503, why === null ? 'ok\n' : `${why}\n`, 'text/plain; charset=utf-8'); return }
  if (url.pathname === '/readyz') { const why = health.notReady(); send(res, why === null ? 200 : 503, why === null ? 'ready\n' : `not ready: ${why}\n`, 'text/plain; charset=utf-8'); return }
  if (url.pathname === '/metrics') { send(res, 200, await metrics.prometheus(), Metrics.contentType); return }
  const asset = url.pathname === '/' || url.pathname.startsWith('/assets/') ? statusAssets().get(url.pathname) : undefined
  if (asset !== undefined) {
    res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, 'cache-control': 'no-cache' })
    res.end(asset.body)
    return
  }
  if (url.pathname === '/v1/status' && extras.status !== undefined) {
    const since = Number(url.searchParams.get('since') ?? 0)
    const feed = extras.status
    send(res, 200, { mode: feed.mode, title: feed.title, ready: health.notReady(), samples: feed.samples().filter(p => p.at > since) })
    return
  }
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
    const key = keyFromQuery(s.read, url.searchParams, nullParams(url.search))
    const atText = url.searchParams.get('at')
    // Digits only: Number('') is 0, and ' 1e3', '0x10' are not what anyone means by epoch milliseconds.
    const at = atText === null ? Date.now() : /^-?\d{1,16}$/.test(atText) ? Number(atText) : Number.NaN
    if (!Number.isSafeInteger(at)) throw new TilekilnError('TK_USAGE', `at must be epoch milliseconds (an integer), got '${atText}'`)
    const r = await fetchFeatures(s.read, s.store, key, at, { headTile: s.headTile, rollups: s.rollups })
    metrics.inc(M.fetchRequests)
    metrics.record(M.fetchLatency, (performance.now() - started) * 1000)
    send(res, 200, { groupBy: name, key: Object.fromEntries(s.read.plan.keyColumns.map((c, i) => [c, typeof key[i] === 'bigint' ? String(key[i]) : key[i]])), at, tilesRead: r.tilesRead, features: r.features })
  } catch (e) {
    metrics.inc(M.fetchErrors)
    const known = isTilekilnError(e)
    send(res, known ? ERROR_STATUS[e.code] ?? 500 : 500, { error: describeError(e), code: known ? e.code : 'TK_INTERNAL' })
  }
}

/** Just `/metrics`, `/healthz` and `/readyz`, for a running engine. */
export function metricsServer (metrics: Metrics, health?: Health): Server {
  return featureServer(new Map(), metrics, health === undefined ? {} : { health })
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
