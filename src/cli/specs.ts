// Turning the CLI's source and store specifications into objects.

import { readFileSync } from 'node:fs'
import type { Plan } from '../config/plan.ts'
import { TilekilnError } from '../errors.ts'
import { EmbeddedStore } from '../sink/embedded-store.ts'
import { parseRedisSpec, RedisStore } from '../sink/redis-store.ts'
import type { TileStore } from '../sink/store.ts'
import { openFileSource } from '../source/file.ts'
import { openGeneratorSource, parseGeneratorOptions } from '../source/generator.ts'
import type { Source } from '../source/source.ts'

export interface SourceSpecOptions {
  readonly schema?: string
  readonly format?: string
  readonly fileWatermarks?: string
}

export function readJsonFile (path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new TilekilnError('TK_USAGE', `cannot read ${what} ${path}: ${(e as Error).message}`)
  }
}

export async function openSource (spec: string, plan: Plan, o: SourceSpecOptions): Promise<Source> {
  const schema = o.schema === undefined ? undefined : readJsonFile(o.schema, 'the schema file')
  if (spec.startsWith('file:')) {
    const format = o.format as 'json' | 'csv' | 'avro' | undefined
    if (format !== undefined && !['json', 'csv', 'avro'].includes(format)) throw new TilekilnError('TK_USAGE', '--format must be json, csv or avro')
    const wm = o.fileWatermarks as 'end' | 'event' | undefined
    if (wm !== undefined && wm !== 'end' && wm !== 'event') throw new TilekilnError('TK_USAGE', '--file-watermarks must be end or event')
    return openFileSource({ path: spec.slice(5), format, schema, watermarks: wm })
  }
  if (spec === 'generator' || spec.startsWith('generator:')) {
    return openGeneratorSource(plan, parseGeneratorOptions(spec.slice('generator:'.length)), schema)
  }
  if (spec.startsWith('kafka:')) {
    throw new TilekilnError('TK_USAGE', 'the Kafka source is not available in this build yet')
  }
  throw new TilekilnError('TK_USAGE', `unknown source '${spec}': use file:PATH, generator[:opts] or kafka:HOST:PORT/TOPIC`)
}

/**
 * `embedded:DIR`, or `redis://[USER:PASSWORD@]HOST[:PORT][/DB][?prefix=P&ttl=T&wait=N]` (`rediss://` for TLS):
 * key prefix (default `chronon`, Zipline's; empty = none), TTL of tiles (seconds or N{s,m,h,d}; default 5d; 0 =
 * none), replicas to WAIT for when flushing (default 0).
 */
export function openStore (spec: string, options: { readOnly?: boolean } = {}): TileStore {
  if (spec.startsWith('embedded:')) return new EmbeddedStore(spec.slice('embedded:'.length), options)
  if (spec.startsWith('redis://') || spec.startsWith('rediss://')) return new RedisStore({ ...parseRedisSpec(spec), ...options })
  throw new TilekilnError('TK_USAGE', `unknown store '${spec}': use embedded:DIR or redis://HOST:PORT[/DB][?prefix=…&ttl=…]`)
}
