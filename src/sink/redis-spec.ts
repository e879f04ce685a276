// `--store redis://…` and `--store redis+cluster://…` as RedisStoreOptions.

import { TilekilnError } from '../errors.ts'
import { DEFAULT_REDIS_PREFIX, DEFAULT_REDIS_TTL_SECONDS } from './redis-layout.ts'

export interface RedisNode { readonly host: string, readonly port: number }

export interface RedisStoreOptions {
  readonly host: string
  readonly port: number
  readonly db: number
  readonly username?: string
  readonly password?: string
  readonly tls?: boolean
  /** Namespace of every key; '' = none (keys start at the hash tag). Default `chronon`. */
  readonly prefix?: string
  /** TTL of tile buckets and indexes in seconds; 0 = none. Default 5 days. */
  readonly ttlSeconds?: number
  /** flushed() waits for this many replicas to acknowledge every write (Redis WAIT). Default 0. */
  readonly waitReplicas?: number
  /** Refuse writes (fetch, dump). */
  readonly readOnly?: boolean
  /** How long reads wait for a connection before failing (ms). Default 10 s. */
  readonly connectTimeoutMillis?: number
  /**
   * How long a read, checkpoint, epoch or metadata request waits for Redis's answer before it fails and the
   * connections are reset (ms). Default 10 s. Tile writes have the KvWriter's deadlines (`--kv-timeout`).
   */
  readonly requestTimeoutMillis?: number
  /** How long flushed() waits for `waitReplicas` (ms). Default 10 s. */
  readonly waitTimeoutMillis?: number
  /** Redis Cluster: the nodes to discover it from (host and port above are the first). Absent: one server. */
  readonly cluster?: readonly RedisNode[]
}

const KNOWN = ['prefix', 'ttl', 'wait', 'timeout']

/** `N` or `N<unit>`, a whole number times the unit's value (`bare`'s without one); NaN for anything else. */
function amount (text: string, units: Readonly<Record<string, number>>, bare: string): number {
  const m = /^(\d+)([a-z]*)$/.exec(text.trim())
  const unit = m === null ? '' : m[2] === '' ? bare : m[2]!
  return m !== null && Object.hasOwn(units, unit) ? Number(m[1]) * units[unit]! : NaN
}

const TTL_UNITS = { s: 1, m: 60, h: 3600, d: 86_400 }
const TIMEOUT_UNITS = { ms: 1, s: 1000, m: 60_000 }

/** The options after `?`: prefix, ttl (seconds or N{s,m,h,d}; 0 = none), wait (replicas), timeout (ms or N{ms,s,m}). */
function parseQuery (spec: string, query: URLSearchParams): { prefix: string, ttlSeconds: number, waitReplicas: number, requestTimeoutMillis?: number } {
  for (const k of query.keys()) {
    if (!KNOWN.includes(k)) throw new TilekilnError('TK_USAGE', `bad Redis store '${spec}': unknown option '${k}' (known: ${KNOWN.join(', ')})`)
  }
  const ttlText = query.get('ttl')
  let ttlSeconds = DEFAULT_REDIS_TTL_SECONDS
  if (ttlText !== null) {
    ttlSeconds = amount(ttlText, TTL_UNITS, 's')
    if (Number.isNaN(ttlSeconds)) throw new TilekilnError('TK_USAGE', `bad Redis store '${spec}': ttl must be whole seconds or N{s,m,h,d}, got '${ttlText}'`)
  }
  const waitText = query.get('wait')
  const waitReplicas = waitText === null ? 0 : Number(waitText)
  if (!Number.isInteger(waitReplicas) || waitReplicas < 0) throw new TilekilnError('TK_USAGE', `bad Redis store '${spec}': wait must be a number of replicas, got '${String(waitText)}'`)
  const prefix = query.get('prefix') ?? DEFAULT_REDIS_PREFIX
  if (/[{}]/.test(prefix)) throw new TilekilnError('TK_USAGE', `bad Redis store '${spec}': the prefix must not contain { or } (they delimit the Redis Cluster hash tag)`)
  const timeoutText = query.get('timeout')
  let requestTimeoutMillis: number | undefined
  if (timeoutText !== null) {
    requestTimeoutMillis = amount(timeoutText, TIMEOUT_UNITS, 'ms')
    if (!(requestTimeoutMillis >= 1 && requestTimeoutMillis <= 2 ** 31 - 1)) throw new TilekilnError('TK_USAGE', `bad Redis store '${spec}': timeout must be a positive number of ms or N{ms,s,m} (at most 24 days), got '${timeoutText}'`)
  }
  return { prefix, ttlSeconds, waitReplicas, ...(requestTimeoutMillis === undefined ? {} : { requestTimeoutMillis }) }
}

/**
 * `redis://[USER:PASSWORD@]HOST[:PORT][/DB][?prefix=P&ttl=T&wait=N&timeout=D]` (`rediss://` for TLS). `ttl` is seconds, or
 * a number with a unit s/m/h/d; 0 = no TTL.
 */
export function parseRedisSpec (spec: string): RedisStoreOptions {
  let url: URL
  try {
    url = new URL(spec)
  } catch {
    throw new TilekilnError('TK_USAGE', `bad Redis store '${spec}': use redis://HOST:PORT[/DB][?prefix=…&ttl=…&wait=…&timeout=…]`)
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new TilekilnError('TK_USAGE', `bad Redis store '${spec}': the scheme must be redis:// or rediss://`)
  const path = url.pathname.replace(/^\/+/, '')
  if (path !== '' && !/^\d+$/.test(path)) throw new TilekilnError('TK_USAGE', `bad Redis store '${spec}': the path must be a database number, got '/${path}'`)
  const q = parseQuery(spec, url.searchParams)
  return {
    host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: url.port === '' ? 6379 : Number(url.port),
    db: path === '' ? 0 : Number(path),
    username: url.username === '' ? undefined : decodeURIComponent(url.username),
    password: url.password === '' ? undefined : decodeURIComponent(url.password),
    tls: url.protocol === 'rediss:',
    ...q
  }
}

/**
 * `redis+cluster://[USER:PASSWORD@]HOST:PORT[,HOST:PORT…][?prefix=P&ttl=T&wait=N&timeout=D]` (`rediss+cluster://` for TLS):
 * a Redis Cluster, discovered from any of the nodes given. No database number (a cluster has only database 0).
 */
export function parseRedisClusterSpec (spec: string): RedisStoreOptions {
  const m = /^(rediss?)\+cluster:\/\/([^?#]*)(?:\?([^#]*))?$/.exec(spec)
  const usage = 'use redis+cluster://HOST:PORT,HOST:PORT…[?prefix=…&ttl=…&wait=…&timeout=…]'
  if (m === null) throw new TilekilnError('TK_USAGE', `bad Redis Cluster store '${spec}': ${usage}`)
  let body = m[2]!
  let username: string | undefined
  let password: string | undefined
  const at = body.lastIndexOf('@')
  if (at >= 0) {
    const creds = body.slice(0, at)
    body = body.slice(at + 1)
    const colon = creds.indexOf(':')
    const user = colon < 0 ? creds : creds.slice(0, colon)
    username = user === '' ? undefined : decodeURIComponent(user)
    password = colon < 0 ? undefined : decodeURIComponent(creds.slice(colon + 1))
  }
  if (body.includes('/')) {
    const path = body.slice(body.indexOf('/'))
    if (path !== '/' && path !== '/0') throw new TilekilnError('TK_USAGE', `bad Redis Cluster store '${spec}': a cluster has only database 0, got '${path}'`)
    body = body.slice(0, body.indexOf('/'))
  }
  const nodes = body.split(',').map(s => s.trim()).filter(s => s !== '').map(hp => {
    const hm = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(hp)
    if (hm === null) throw new TilekilnError('TK_USAGE', `bad Redis Cluster store '${spec}': '${hp}' is not HOST:PORT; ${usage}`)
    const port = Number(hm[2])
    if (port < 1 || port > 65535) throw new TilekilnError('TK_USAGE', `bad Redis Cluster store '${spec}': bad port in '${hp}'`)
    return { host: hm[1]!.replace(/^\[|\]$/g, ''), port }
  })
  if (nodes.length === 0) throw new TilekilnError('TK_USAGE', `bad Redis Cluster store '${spec}': no node; ${usage}`)
  const q = parseQuery(spec, new URLSearchParams(m[3] ?? ''))
  return {
    host: nodes[0]!.host,
    port: nodes[0]!.port,
    db: 0,
    username,
    password,
    tls: m[1] === 'rediss',
    ...q,
    cluster: nodes
  }
}
