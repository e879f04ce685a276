// What every @platformatic/kafka client of ours shares: its base options, the offset-query constants, and reading
// the Kafka error names out of the library's errors.

import { DEFAULT_REQUEST_TIMEOUT_MS } from '../shared.ts'
import type { KafkaClientOptions } from '../types.ts'

/** ListOffsets timestamps: the end of the log, the start of the log. */
export const LATEST = -1n
export const EARLIEST = -2n

export interface BaseConfig {
  clientId: string
  bootstrapBrokers: string[]
  connectTimeout: number
  timeout: number
  tls?: object
  sasl?: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512', username: string, password: string }
}

export function baseConfig (brokers: string[], o: KafkaClientOptions, suffix: string): BaseConfig {
  const cfg: BaseConfig = {
    clientId: `${o.clientId ?? 'tilekiln'}-${suffix}`,
    bootstrapBrokers: brokers,
    connectTimeout: o.connectionTimeoutMs ?? 3000,
    timeout: o.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  }
  if (o.ssl !== undefined && o.ssl !== false) cfg.tls = o.ssl === true ? {} : o.ssl
  if (o.sasl !== undefined) {
    const mechanism = o.sasl.mechanism === 'plain' ? 'PLAIN' : o.sasl.mechanism === 'scram-sha-256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512'
    cfg.sasl = { mechanism, username: o.sasl.username, password: o.sasl.password }
  }
  return cfg
}

/** Kafka error names carried by a platformatic error (ResponseError holds one ProtocolError per failed partition). */
export function protocolErrors (e: unknown): Array<{ id: string, path: string, detail: string | null }> {
  const out: Array<{ id: string, path: string, detail: string | null }> = []
  const walk = (x: unknown): void => {
    if (typeof x !== 'object' || x === null) return
    const r = x as { apiId?: unknown, path?: unknown, errors?: unknown, cause?: unknown, serverErrorMessage?: unknown }
    if (typeof r.apiId === 'string') out.push({ id: r.apiId, path: typeof r.path === 'string' ? r.path : '', detail: typeof r.serverErrorMessage === 'string' ? r.serverErrorMessage : null })
    if (Array.isArray(r.errors)) for (const y of r.errors) walk(y)
    if (r.cause !== undefined && r.cause !== x) walk(r.cause)
  }
  walk(e)
  return out
}

/**
 * The library's error with the Kafka error names and the broker's own words in it ("Received response with error
 * while executing API …" alone does not say which error), for messages a user can act on.
 */
export function withKafkaErrors (e: unknown): unknown {
  const errs = protocolErrors(e)
  if (errs.length === 0 || !(e instanceof Error)) return e
  const names = [...new Set(errs.map(x => x.detail === null ? x.id : `${x.id}: ${x.detail}`))].join('; ')
  return new Error(`${e.message} [${names}]`, { cause: e })
}


/**
 * The topic does not exist (any more). The library's metadata call turns UNKNOWN_TOPIC_OR_PARTITION into a UserError
 * "Unknown topic T." that carries nothing else; fetches answer UNKNOWN_TOPIC_ID for a deleted topic's id.
 */
export function isUnknownTopic (e: unknown): boolean {
  if (protocolErrors(e).some(x => x.id === 'UNKNOWN_TOPIC_OR_PARTITION' || x.id === 'UNKNOWN_TOPIC_ID')) return true
  const g = e as { code?: unknown, message?: unknown }
  return g.code === 'PLT_KFK_USER' && typeof g.message === 'string' && g.message.startsWith('Unknown topic ')
}
