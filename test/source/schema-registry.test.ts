// The main thread's side of the schema registry, without a registry: URL and credentials, which records are handed
// over or dead-lettered, fetching an id once, caching verdicts, retrying a failing registry. (The real registry is
// exercised by test/integration/schema-registry.test.ts.)
import assert from 'node:assert/strict'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { test } from 'node:test'
import { confluentHeader } from '../../src/cli/produce.ts'
import { SchemaBoard } from '../../src/codec/schema-board.ts'
import { loadRegistrySchemas, parseRegistryUrl, RegistryError, type RegisteredSchema, SchemaRegistryClient, WriterSchemas } from '../../src/source/schema-registry.ts'

const rec = (fields: unknown[]): unknown => ({ type: 'record', name: 'E', fields })
const V1 = rec([{ name: 'k', type: 'long' }, { name: 'x', type: 'double' }])
const V2 = rec([{ name: 'k', type: 'long' }, { name: 'x', type: 'double' }, { name: 'y', type: ['null', 'string'], default: null }])
const BAD = rec([{ name: 'k', type: 'string' }, { name: 'x', type: 'double' }])
const record = (id: number): Uint8Array => Buffer.concat([confluentHeader(id), Buffer.from([2, 0, 0, 0, 0, 0, 0, 0, 0])])

/** A stand-in for the HTTP client: answers by id from a table, counting calls; `fail` makes the next calls throw. */
function fakeClient (byId: Record<number, unknown>, subjects: Record<string, RegisteredSchema[]> = {}): SchemaRegistryClient & { calls: number[], fail: number, failWith: () => Error } {
  const c = {
    url: 'http://registry.test',
    calls: [] as number[],
    fail: 0,
    failWith: () => new RegistryError('schema registry GET x failed: ECONNREFUSED', 0, undefined, {}),
    async schemaById (id: number): Promise<RegisteredSchema> {
      c.calls.push(id)
      await Promise.resolve()
      if (c.fail > 0) { c.fail--; throw c.failWith() }
      const s = byId[id]
      if (s === undefined) throw new RegistryError(`schema registry GET http://registry.test/schemas/ids/${id}: 404 (error 40403) Schema ${id} not found`, 404, 40403, {})
      return { id, schema: JSON.stringify(s) }
    },
    async versions (subject: string): Promise<number[]> {
      const v = subjects[subject]
      if (v === undefined) throw new RegistryError('404', 404, 40401, {})
      return v.map(s => s.version!)
    },
    async version (subject: string, version: number): Promise<RegisteredSchema> {
      return subjects[subject]!.find(s => s.version === version)!
    },
    async latest (subject: string): Promise<RegisteredSchema> {
      const v = subjects[subject]
      if (v === undefined) throw new RegistryError('404', 404, 40401, {})
      return v[v.length - 1]!
    }
  }
  return c as unknown as SchemaRegistryClient & typeof c
}

const quiet = (): void => {}
const never = new AbortController().signal

test('registry URL: credentials become basic auth and leave the URL; a trailing slash goes', () => {
  assert.deepEqual(parseRegistryUrl('http://127.0.0.1:8081/apis/ccompat/v7/'), { baseUrl: 'http://127.0.0.1:8081/apis/ccompat/v7', authorization: undefined })
  const r = parseRegistryUrl('https://us%40r:p%3Ass@sr.example:443/')
  assert.equal(r.baseUrl, 'https://sr.example')
  assert.equal(r.authorization, 'Basic ' + Buffer.from('us@r:p:ss').toString('base64'))
  assert.throws(() => parseRegistryUrl('127.0.0.1:8081'), /not a URL|http/)
  assert.throws(() => parseRegistryUrl('ftp://x'), /http/)
})

test('known ids pass without a fetch; an id first seen is fetched once, put on the board, then passes', async () => {
  const client = fakeClient({ 2: V2 })
  const w = new WriterSchemas({ client, reader: V2, readerName: 'v2', log: quiet })
  assert.equal(w.add({ id: 1, schema: JSON.stringify(V1) }), null)
  assert.equal(w.admit(record(1)), null)
  assert.equal(w.admit(record(1)), null)
  assert.equal(w.admit(record(2)), undefined)
  // Two partitions meeting the same new id at once: one request.
  const [a, b] = await Promise.all([w.admitSlow(record(2), never, 'p0'), w.admitSlow(record(2), never, 'p1')])
  assert.equal(a, null)
  assert.equal(b, null)
  assert.deepEqual(client.calls, [2])
  assert.equal(w.admit(record(2)), null)
  assert.deepEqual(w.known, [1, 2])
  const ids: number[] = []
  new SchemaBoard(w.board.buffer).readFrom(0, id => ids.push(id))
  assert.deepEqual(ids, [1, 2])
  // Not framed at all: handed over, for the decoder to dead-letter with its own reason.
  assert.equal(w.admit(Buffer.from([9, 9])), null)
})

test('an id the registry does not have is dead-lettered with the id; the verdict is cached, then asked again', async (t) => {
  // The clock is the test's: with the real one, a process that did not run for 50 ms (a loaded machine) between the
  // verdict and the next admit() saw the TTL run out before the cache was ever looked at.
  t.mock.timers.enable({ apis: ['Date'], now: 1_700_000_000_000 })
  const client = fakeClient({})
  const w = new WriterSchemas({ client, reader: V2, readerName: 'v2', log: quiet, unknownTtlMs: 50 })
  const v = await w.admitSlow(record(77), never, 'topic t partition 0 offset 5')
  assert.match(v!, /writer schema id 77 is unknown to the schema registry http:\/\/registry\.test: 404 \(error 40403\) Schema 77 not found/)
  assert.equal(w.admit(record(77)), v)
  assert.equal(client.calls.length, 1)
  t.mock.timers.tick(49)
  assert.equal(w.admit(record(77)), v, 'cached until the TTL is over')
  t.mock.timers.tick(1)
  assert.equal(w.admit(record(77)), undefined, 'asked again after the TTL')
})

test('an incompatible writer schema is dead-lettered for good, naming both schemas; it is not put on the board', async () => {
  const client = fakeClient({ 5: BAD })
  const w = new WriterSchemas({ client, reader: V2, readerName: 'subject t-value version 2', log: quiet })
  const v = await w.admitSlow(record(5), never, 'p0')
  assert.match(v!, /^writer schema id 5 is incompatible with the reader schema \(subject t-value version 2\): cannot read "string" as "long"/)
  assert.equal(w.admit(record(5)), v)
  assert.deepEqual(w.known, [])
  assert.equal(w.add({ id: 6, schema: '{"type":"nope"}' })?.includes('not a valid Avro schema'), true)
  assert.match(w.add({ id: 7, schema: '{}', schemaType: 'PROTOBUF' })!, /PROTOBUF schema, not Avro/)
  assert.match(w.add({ id: 8, schema: JSON.stringify(V1), references: [{ name: 'x' }] })!, /references/)
})

test('a failing registry is retried with backoff until it answers; a stop ends the wait', async () => {
  const client = fakeClient({ 3: V1 })
  const lines: string[] = []
  const w = new WriterSchemas({ client, reader: V2, readerName: 'v2', log: l => lines.push(l), retryMinMs: 1, retryMaxMs: 4 })
  client.fail = 3
  assert.equal(await w.admitSlow(record(3), never, 'topic t partition 1 offset 9'), null)
  assert.equal(client.calls.length, 4)
  assert.equal(lines.filter(l => /cannot fetch writer schema id 3 \(attempt \d/.test(l)).length, 3)
  assert.match(lines.at(-1)!, /writer schema id 3 fetched .* \(first seen at topic t partition 1 offset 9\)/)

  const stop = new AbortController()
  client.fail = 1_000_000
  const waiting = w.admitSlow(record(4), stop.signal, 'p2')
  await new Promise(resolve => setTimeout(resolve, 20))
  stop.abort()
  await assert.rejects(waiting)
})

test('start-up: every version of the subject is a writer schema, the latest the reader; no subject needs --schema', async () => {
  const client = fakeClient({}, { 't-value': [{ id: 10, subject: 't-value', version: 1, schema: JSON.stringify(V1) }, { id: 11, subject: 't-value', version: 2, schema: JSON.stringify(V2) }] })
  const r = await loadRegistrySchemas(client, 't-value', undefined, quiet)
  assert.deepEqual(r.reader, V2)
  assert.equal(r.readerName, 'subject t-value version 2, id 11')
  assert.deepEqual(r.writers.known, [10, 11])
  await assert.rejects(loadRegistrySchemas(client, 'other-value', undefined, quiet), /subject 'other-value' is not in the schema registry .*--schema FILE/)
  const given = await loadRegistrySchemas(client, 'other-value', { schema: V1, name: '--schema v1.avsc' }, quiet)
  assert.deepEqual(given.writers.known, [])
  // A reader given by file that cannot read an old version: that id is dead-lettered, the others are fine.
  const narrow = await loadRegistrySchemas(client, 't-value', { schema: rec([{ name: 'k', type: 'long' }, { name: 'y', type: 'string' }]), name: 'f' }, quiet)
  assert.deepEqual(narrow.writers.known, [])
  assert.match(narrow.writers.admit(record(10))!, /writer schema id 10 \(subject t-value version 1\) is incompatible/)
})

test('HTTP: basic auth and content type go with every request; error_code and message come back in the error', async () => {
  // Only the request/response shapes: the registry's behaviour is tested against a real one in test/integration.
  const seen: { method: string, url: string, headers: IncomingHttpHeaders, body: string }[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', d => { body += String(d) })
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body })
      res.setHeader('Content-Type', 'application/vnd.schemaregistry.v1+json')
      if (req.url === '/ccompat/subjects/a%2Fb-value/versions') { res.end('{"id":42}'); return }
      if (req.url === '/ccompat/schemas/ids/7') { res.end('{"schema":"\\"long\\""}'); return }
      res.statusCode = 404
      res.end('{"error_code":40403,"message":"Schema not found"}')
    })
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  try {
    const c = new SchemaRegistryClient(`http://me:s3cret@127.0.0.1:${port}/ccompat/`)
    assert.equal(c.url, `http://127.0.0.1:${port}/ccompat`)
    assert.equal(await c.register('a/b-value', { type: 'long' }), 42)
    assert.deepEqual(await c.schemaById(7), { id: 7, schema: '"long"', subject: undefined, version: undefined })
    const e = await c.schemaById(8).then(() => null, (x: unknown) => x)
    assert.ok(e instanceof RegistryError)
    assert.equal(e.status, 404)
    assert.equal(e.errorCode, 40403)
    assert.ok(e.notFound)
    assert.match(e.message, /GET http:\/\/127\.0\.0\.1:\d+\/ccompat\/schemas\/ids\/8: 404 \(error 40403\) Schema not found/)
    assert.doesNotMatch(e.message, /s3cret/)
    assert.equal(seen[0]!.method, 'POST')
    assert.deepEqual(JSON.parse(seen[0]!.body), { schema: '{"type":"long"}' })
    assert.equal(seen[0]!.headers['content-type'], 'application/vnd.schemaregistry.v1+json')
    for (const r of seen) assert.equal(r.headers.authorization, 'Basic ' + Buffer.from('me:s3cret').toString('base64'))
  } finally {
    await new Promise(resolve => server.close(resolve))
  }
  // Nobody listening: status 0, the reason from the socket.
  const probe = createServer()
  await new Promise<void>(resolve => probe.listen(0, '127.0.0.1', resolve))
  const closed = (probe.address() as AddressInfo).port
  await new Promise(resolve => probe.close(resolve))
  const down = await new SchemaRegistryClient(`http://127.0.0.1:${closed}`).schemaById(1).then(() => null, (x: unknown) => x)
  assert.ok(down instanceof RegistryError)
  assert.equal(down.status, 0)
  assert.match(down.message, /ECONNREFUSED/)
})
