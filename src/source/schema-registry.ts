// A Confluent-compatible Schema Registry: the REST client, and the main thread's side of decoding Confluent-framed
// Avro records with their writer schemas.
//
// How writer schemas reach the decoders (worker threads and the main thread's key router):
//   * At start every version of the subject is fetched (the latest is the reader schema unless --schema gives one),
//     checked against the reader (can the reader read it?) and put on a SchemaBoard — shared memory handed to the
//     workers in their InputFormat.
//   * The Kafka source asks `WriterSchemas.admit()` about each record before handing it over. For an id already
//     known that is a comparison (or a map lookup) and nothing else: no allocation, no I/O. An id seen for the
//     first time (a version registered after the start, or a schema under another subject) holds that record back
//     while the main thread fetches `/schemas/ids/{id}` once; the schema goes on the board *before* the record goes
//     into a ring slot, so a worker meeting the id always finds it. Later records with that id are on the fast path.
//   * A record whose id the registry does not have (404), whose writer schema the reader cannot read, or that is
//     not Avro is dead-lettered by the main thread with the reason and the id; it never reaches a worker. Verdicts
//     are cached: an incompatible id for good (a registered schema never changes), an unknown one for a minute (a
//     registry replica may not have caught up with a brand-new id yet).
//   * A registry that cannot be reached, or fails (5xx, timeout), is retried with backoff, holding the partition's
//     records back meanwhile (as the store writer does): dead-lettering good records because the registry had a
//     hiccup would lose them in all but name. Stopping the engine ends the wait.

import { asLogger, type Logger } from '../log/logger.ts'
import type avro from 'avsc'
import { avroReaderType, confluentSchemaId, writerResolver } from '../codec/record.ts'
import { SchemaBoard } from '../codec/schema-board.ts'
import { TilekilnError } from '../errors.ts'

export interface RegisteredSchema {
  readonly id: number
  /** The schema's JSON text, as registered. */
  readonly schema: string
  readonly subject?: string
  readonly version?: number
  /** Absent or 'AVRO' for Avro; 'JSON' and 'PROTOBUF' schemas cannot be decoded here. */
  readonly schemaType?: string
  readonly references?: readonly unknown[]
}

/** An HTTP answer other than 2xx: `status` 0 when no answer came at all. */
export class RegistryError extends TilekilnError {
  readonly status: number
  /** The registry's own code (`error_code`: 40401 subject not found, 40403 schema not found, …). */
  readonly errorCode: number | undefined

  constructor (message: string, status: number, errorCode: number | undefined, context: Record<string, string | number | undefined>, cause?: unknown) {
    super('TK_SOURCE', message, context, { cause })
    this.status = status
    this.errorCode = errorCode
  }

  /** 404: the registry answered that the subject, version or id does not exist. Other failures may pass. */
  get notFound (): boolean { return this.status === 404 }
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json'

/**
 * `http[s]://[USER:PASSWORD@]HOST[:PORT][/PATH]`: the base URL of the Confluent API (Apicurio serves it under
 * `/apis/ccompat/v7`). Credentials in the URL become HTTP basic auth and are kept out of messages.
 */
export function parseRegistryUrl (spec: string): { baseUrl: string, authorization: string | undefined } {
  let u: URL
  try {
    u = new URL(spec)
  } catch {
    throw new TilekilnError('TK_USAGE', `--schema-registry '${spec}' is not a URL: use http://HOST:PORT[/PATH]`)
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new TilekilnError('TK_USAGE', `--schema-registry must be an http:// or https:// URL, got ${u.protocol}`)
  const authorization = u.username === '' && u.password === ''
    ? undefined
    : 'Basic ' + Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')
  u.username = ''
  u.password = ''
  u.search = ''
  u.hash = ''
  return { baseUrl: u.toString().replace(/\/+$/, ''), authorization }
}

/** The default subject of a topic's record values (Confluent's TopicNameStrategy). */
export function valueSubject (topic: string): string { return `${topic}-value` }

export class SchemaRegistryClient {
  /** Base URL without credentials, for messages. */
  readonly url: string
  readonly #authorization: string | undefined
  readonly #timeoutMs: number

  constructor (spec: string, options: { timeoutMs?: number } = {}) {
    const { baseUrl, authorization } = parseRegistryUrl(spec)
    this.url = baseUrl
    this.#authorization = authorization
    this.#timeoutMs = options.timeoutMs ?? 10_000
  }

  /** `GET /subjects/{subject}/versions/latest`. */
  async latest (subject: string): Promise<RegisteredSchema> {
    return asSchema(await this.#request('GET', `/subjects/${encodeURIComponent(subject)}/versions/latest`, { subject }), { subject })
  }

  /** `GET /subjects/{subject}/versions`: the subject's version numbers. */
  async versions (subject: string): Promise<number[]> {
    const v = await this.#request('GET', `/subjects/${encodeURIComponent(subject)}/versions`, { subject })
    if (!Array.isArray(v) || !v.every(x => Number.isInteger(x))) throw this.#malformed('a list of versions', v, { subject })
    return v as number[]
  }

  /** `GET /subjects/{subject}/versions/{version}`. */
  async version (subject: string, version: number): Promise<RegisteredSchema> {
    return asSchema(await this.#request('GET', `/subjects/${encodeURIComponent(subject)}/versions/${version}`, { subject, version }), { subject, version })
  }

  /** `GET /schemas/ids/{id}`. */
  async schemaById (id: number): Promise<RegisteredSchema> {
    return asSchema(await this.#request('GET', `/schemas/ids/${id}`, { schemaId: id }), { id })
  }

  /** `POST /subjects/{subject}/versions`: registers an Avro schema (or finds it registered) and returns its id. */
  async register (subject: string, schema: unknown): Promise<number> {
    const text = typeof schema === 'string' ? schema : JSON.stringify(schema)
    const r = await this.#request('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { subject }, { schema: text })
    const id = (r as { id?: unknown } | null)?.id
    if (typeof id !== 'number') throw this.#malformed('{"id": N}', r, { subject })
    return id
  }

  async #request (method: string, path: string, context: Record<string, string | number>, body?: unknown): Promise<unknown> {
    const url = this.url + path
    const ctx = { registry: this.url, ...context }
    const headers: Record<string, string> = { Accept: `${CONTENT_TYPE}, application/json` }
    if (this.#authorization !== undefined) headers.Authorization = this.#authorization
    if (body !== undefined) headers['Content-Type'] = CONTENT_TYPE
    let res: Response
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(this.#timeoutMs) })
    } catch (e) {
      const why = (e as Error).name === 'TimeoutError' ? `no answer within ${this.#timeoutMs} ms` : causeText(e)
      throw new RegistryError(`schema registry ${method} ${url} failed: ${why}`, 0, undefined, ctx, e)
    }
    const text = await res.text()
    let json: unknown
    try { json = text === '' ? null : JSON.parse(text) } catch { json = undefined }
    if (!res.ok) {
      const err = json as { error_code?: unknown, message?: unknown } | undefined
      const code = typeof err?.error_code === 'number' ? err.error_code : undefined
      const msg = typeof err?.message === 'string' ? err.message : text.slice(0, 200)
      throw new RegistryError(`schema registry ${method} ${url}: ${res.status}${code === undefined ? '' : ` (error ${code})`} ${msg}`.trimEnd(), res.status, code, ctx)
    }
    if (json === undefined) throw this.#malformed('JSON', text.slice(0, 200), context)
    return json
  }

  #malformed (what: string, got: unknown, context: Record<string, string | number>): RegistryError {
    return new RegistryError(`schema registry ${this.url} answered something other than ${what}: ${JSON.stringify(got)?.slice(0, 200)}`, 200, undefined, { registry: this.url, ...context })
  }
}

/** fetch() hides the reason (ECONNREFUSED, …) in `cause`. */
function causeText (e: unknown): string {
  const c = (e as { cause?: { code?: string, message?: string } }).cause
  if (c?.message !== undefined && c.message !== '') return c.code !== undefined && !c.message.includes(c.code) ? `${c.message} (${c.code})` : c.message
  return c?.code ?? (e as Error).message
}

function asSchema (v: unknown, known: { id?: number, subject?: string, version?: number }): RegisteredSchema {
  const o = v as Partial<RegisteredSchema> | null
  if (o === null || typeof o !== 'object' || typeof o.schema !== 'string') {
    throw new TilekilnError('TK_SOURCE', `the schema registry answered without a schema: ${JSON.stringify(v)?.slice(0, 200)}`)
  }
  const id = typeof o.id === 'number' ? o.id : known.id
  if (id === undefined) throw new TilekilnError('TK_SOURCE', `the schema registry answered without a schema id: ${JSON.stringify(v)?.slice(0, 200)}`)
  return {
    id,
    schema: o.schema,
    subject: typeof o.subject === 'string' ? o.subject : known.subject,
    version: typeof o.version === 'number' ? o.version : known.version,
    ...(o.schemaType === undefined ? {} : { schemaType: o.schemaType }),
    ...(o.references === undefined ? {} : { references: o.references })
  }
}

/** What the source does with one record: hand it over (null) or dead-letter it (the reason). */
export type Verdict = string | null

/**
 * A check of each record before it is handed over; the Kafka source calls `admit` and, when that says `undefined`
 * (not known yet), awaits `admitSlow`, keeping the partition's order.
 */
export interface RecordGate {
  /** null: hand it over; a string: dead-letter it with this reason; undefined: ask `admitSlow`. Cheap, synchronous. */
  admit (value: Uint8Array): Verdict | undefined
  /** Learns what `admit` lacked (fetches a schema) and answers; throws only when `signal` aborts. */
  admitSlow (value: Uint8Array, signal: AbortSignal, where: string): Promise<Verdict>
}

export interface WriterSchemasOptions {
  readonly client: SchemaRegistryClient
  /** The reader schema (JSON). */
  readonly reader: unknown
  /** Where the reader schema came from, for messages ('subject returns-value version 2', 'file x.avsc'). */
  readonly readerName: string
  readonly board?: SchemaBoard
  /** Default: the process's logger; a function takes each line's message. */
  readonly log?: Logger | ((line: string) => void)
  /** Unknown-id verdicts are re-asked after this long (default 60 s). */
  readonly unknownTtlMs?: number
  /** Backoff of a failing registry: first and largest delay (default 200 ms, 5 s). */
  readonly retryMinMs?: number
  readonly retryMaxMs?: number
}

/** The main thread's table of writer schemas: which ids records may carry, and the board the decoders read. */
export class WriterSchemas implements RecordGate {
  readonly board: SchemaBoard
  readonly #o: WriterSchemasOptions
  readonly #reader: avro.Type
  /** id → null (on the board: decodable) or the dead-letter reason. */
  readonly #verdicts = new Map<number, Verdict>()
  /** When an unknown-id verdict expires (ms since epoch). */
  readonly #unknownUntil = new Map<number, number>()
  readonly #pending = new Map<number, Promise<Verdict>>()
  #lastGood = -1
  #fetches = 0

  constructor (o: WriterSchemasOptions) {
    this.#o = o
    this.board = o.board ?? SchemaBoard.create()
    try {
      this.#reader = avroReaderType(o.reader)
    } catch (e) {
      throw new TilekilnError('TK_USAGE', `the reader schema (${o.readerName}) is not a valid Avro schema: ${(e as Error).message}`)
    }
  }

  /** Registry requests made for ids first seen in records (not counting the ones at start). */
  get fetches (): number { return this.#fetches }

  /** Ids that are on the board, in the order they were added. */
  get known (): number[] { return [...this.#verdicts].filter(([, v]) => v === null).map(([id]) => id) }

  /** The verdict on a registered schema, recorded for its id (and the schema put on the board when readable). */
  add (s: RegisteredSchema): Verdict {
    const have = this.#verdicts.get(s.id)
    if (have !== undefined && !this.#unknownUntil.has(s.id)) return have
    const verdict = this.#judge(s)
    this.#unknownUntil.delete(s.id)
    this.#verdicts.set(s.id, verdict)
    return verdict
  }

  #judge (s: RegisteredSchema): Verdict {
    const what = `writer schema id ${s.id}${s.subject === undefined ? '' : ` (subject ${s.subject}${s.version === undefined ? '' : ` version ${s.version}`})`}`
    if (s.schemaType !== undefined && s.schemaType.toUpperCase() !== 'AVRO') return `${what} is a ${s.schemaType} schema, not Avro`
    if (s.references !== undefined && s.references.length > 0) return `${what} has schema references, which are not supported`
    let writer: avro.Type
    try {
      writer = avroReaderType(JSON.parse(s.schema))
    } catch (e) {
      return `${what} is not a valid Avro schema: ${(e as Error).message}`
    }
    try {
      writerResolver(this.#reader, writer)
    } catch (e) {
      return `${what} is incompatible with the reader schema (${this.#o.readerName}): ${(e as Error).message.replace(/^the writer schema cannot be read as the reader schema: /, '')}`
    }
    if (!this.board.append(s.id, s.schema)) return `${what} cannot be used: the writer-schema table is full (${this.board.capacity} bytes)`
    return null
  }

  admit (value: Uint8Array): Verdict | undefined {
    const id = confluentSchemaId(value)
    // Not framed: the decoder dead-letters it with its own reason.
    if (id < 0 || id === this.#lastGood) return null
    const v = this.#verdicts.get(id)
    if (v === null) { this.#lastGood = id; return null }
    if (v !== undefined && (!this.#unknownUntil.has(id) || Date.now() < this.#unknownUntil.get(id)!)) return v
    return undefined
  }

  async admitSlow (value: Uint8Array, signal: AbortSignal, where: string): Promise<Verdict> {
    const id = confluentSchemaId(value)
    let p = this.#pending.get(id)
    if (p === undefined) {
      p = this.#learn(id, signal, where).finally(() => this.#pending.delete(id))
      this.#pending.set(id, p)
    }
    return await p
  }

  async #learn (id: number, signal: AbortSignal, where: string): Promise<Verdict> {
    const log = asLogger(this.#o.log)
    let delay = this.#o.retryMinMs ?? 200
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted()
      try {
        this.#fetches++
        const s = await this.#o.client.schemaById(id)
        const verdict = this.add({ ...s, id })
        log.info(verdict === null
          ? `writer schema id ${id} fetched from the schema registry ${this.#o.client.url} (first seen at ${where})`
          : `records with ${verdict} go to the dead letters (first seen at ${where})`)
        return verdict
      } catch (e) {
        if (e instanceof RegistryError && e.notFound) {
          const verdict = `writer schema id ${id} is unknown to the schema registry ${this.#o.client.url}: ${e.message.replace(/^schema registry GET \S+: /, '')}`
          this.#verdicts.set(id, verdict)
          this.#unknownUntil.set(id, Date.now() + (this.#o.unknownTtlMs ?? 60_000))
          log.warn(`records with ${verdict} go to the dead letters (first seen at ${where})`)
          return verdict
        }
        if (signal.aborted) throw signal.reason
        log.warn(`cannot fetch writer schema id ${id} (attempt ${attempt}, retrying in ${delay} ms; records of ${where.replace(/ offset.*$/, '')} wait): ${(e as Error).message}`)
        await abortableSleep(delay, signal)
        delay = Math.min(delay * 2, this.#o.retryMaxMs ?? 5000)
      }
    }
  }
}

async function abortableSleep (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => { clearTimeout(t); reject(signal.reason) }
    const t = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

export interface RegistryFormat {
  /** The reader schema (JSON). */
  readonly reader: unknown
  readonly readerName: string
  readonly writers: WriterSchemas
}

/**
 * Start-up: the reader schema (`given`, or the subject's latest version) and every version of the subject as
 * writer schemas. Fails (TK_USAGE / TK_SOURCE) when the registry cannot be reached or the subject is missing and no
 * reader schema was given.
 */
export async function loadRegistrySchemas (client: SchemaRegistryClient, subject: string, given: { schema: unknown, name: string } | undefined, log?: Logger | ((line: string) => void)): Promise<RegistryFormat> {
  let reader: unknown
  let readerName: string
  let versions: number[] = []
  try {
    versions = await client.versions(subject)
  } catch (e) {
    if (!(e instanceof RegistryError && e.notFound)) throw e
    if (given === undefined) throw new TilekilnError('TK_USAGE', `subject '${subject}' is not in the schema registry ${client.url}: register the records' schema there, name the subject with --schema-subject, or give the reader schema with --schema FILE`, { subject, registry: client.url }, { cause: e })
  }
  const registered: RegisteredSchema[] = []
  for (const v of versions) registered.push(await client.version(subject, v))
  if (given !== undefined) {
    reader = given.schema
    readerName = given.name
  } else {
    // The latest version, as the registry names it (a version deleted between the two calls is not a problem).
    const latest = await client.latest(subject)
    if (latest.schemaType !== undefined && latest.schemaType.toUpperCase() !== 'AVRO') throw new TilekilnError('TK_USAGE', `the latest schema of subject '${subject}' is ${latest.schemaType}, not Avro`, { subject, registry: client.url })
    try { reader = JSON.parse(latest.schema) } catch (e) { throw new TilekilnError('TK_SOURCE', `the latest schema of subject '${subject}' is not JSON: ${(e as Error).message}`, { subject, registry: client.url }) }
    readerName = `subject ${subject} version ${latest.version ?? '?'}, id ${latest.id}`
    if (!registered.some(r => r.id === latest.id)) registered.push(latest)
  }
  const writers = new WriterSchemas({ client, reader, readerName, log })
  for (const r of registered) {
    const verdict = writers.add(r)
    if (verdict !== null) asLogger(log).warn(`records with ${verdict} will go to the dead letters`)
  }
  return { reader, readerName, writers }
}
