// Confluent-framed Avro with writer schemas: the shared schema board and the decoder's Avro schema resolution
// (records written with older or newer compatible schemas read as the reader schema).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Worker } from 'node:worker_threads'
import avro from 'avsc'
import { type StructType } from '../../src/api/data-type.ts'
import { fromAvroSchema } from '../../src/codec/input-schema.ts'
import { avroReaderType, confluentSchemaId, createDecoder, writerResolver } from '../../src/codec/record.ts'
import { SchemaBoard } from '../../src/codec/schema-board.ts'
import { confluentHeader } from '../../src/cli/produce.ts'

const V1 = {
  type: 'record',
  name: 'Return',
  namespace: 'ai.chronon.data',
  fields: [
    { name: 'user_id', type: ['null', 'long'], default: null },
    { name: 'ts', type: ['null', { type: 'long', logicalType: 'timestamp-millis' }], default: null },
    { name: 'refund_amt', type: ['null', 'double'], default: null },
    { name: 'qty', type: 'int' }
  ]
}
// v2: a field added in the middle with a non-null default, qty promoted to long, a field dropped, fields reordered.
const V2 = {
  type: 'record',
  name: 'Return',
  namespace: 'ai.chronon.data',
  fields: [
    { name: 'ts', type: ['null', { type: 'long', logicalType: 'timestamp-millis' }], default: null },
    { name: 'bonus', type: 'double', default: 1.5 },
    { name: 'user_id', type: ['null', 'long'], default: null },
    { name: 'refund_amt', type: ['null', 'double'], default: null },
    { name: 'qty', type: 'long' },
    { name: 'channel', type: ['null', 'string'], default: null }
  ]
}
// v3 (newer than the reader v2): `channel` gone, a field the reader does not know, ts as a plain long of millis.
const V3 = {
  type: 'record',
  name: 'Return',
  namespace: 'ai.chronon.data',
  fields: [
    { name: 'user_id', type: ['null', 'long'], default: null },
    { name: 'ts', type: ['null', 'long'], default: null },
    { name: 'bonus', type: 'double', default: 1.5 },
    { name: 'refund_amt', type: ['null', 'double'], default: null },
    { name: 'qty', type: 'long' },
    { name: 'store', type: { type: 'record', name: 'Store', fields: [{ name: 'id', type: 'int' }, { name: 'tags', type: { type: 'array', items: 'string' } }] } }
  ]
}
// refund_amt as a string: nothing a double reader can read.
const BAD = { ...V1, fields: [V1.fields[0], V1.fields[1], { name: 'refund_amt', type: 'string' }, V1.fields[3]] }

const framed = (id: number, schema: unknown, value: unknown): Buffer =>
  Buffer.concat([confluentHeader(id), avro.Type.forSchema(schema as avro.Schema).toBuffer(value)])

function decoderFor (reader: unknown, writers: Record<number, unknown>): { decode: (b: Uint8Array) => Record<string, unknown>, board: SchemaBoard } {
  const board = SchemaBoard.create(1 << 16)
  for (const [id, s] of Object.entries(writers)) assert.ok(board.append(Number(id), JSON.stringify(s)))
  const d = createDecoder({ kind: 'avro', schema: fromAvroSchema(reader) as StructType, avroSchema: reader, framing: 'confluent', writerSchemas: board.buffer })
  return { decode: b => ({ ...d.decode(b) }), board }
}

test('the Confluent header: magic byte 0, big-endian id; anything else is no id', () => {
  assert.deepEqual([...confluentHeader(0x01020304)], [0, 1, 2, 3, 4])
  assert.equal(confluentSchemaId(confluentHeader(4_000_000_000)), 4_000_000_000)
  assert.equal(confluentSchemaId(Buffer.from([1, 0, 0, 0, 7, 2])), -1)
  assert.equal(confluentSchemaId(Buffer.from([0, 0, 0, 7])), -1)
})

test('records of an older writer schema are resolved to the reader: defaults, promotion, reordering, dropped fields', () => {
  const { decode } = decoderFor(V2, { 11: V1, 12: V2 })
  const v1 = decode(framed(11, V1, { user_id: 7, ts: 1_700_000_000_123, refund_amt: 12.5, qty: 3 }))
  assert.deepEqual(v1, { ts: 1_700_000_000_123_000, bonus: 1.5, user_id: 7, refund_amt: 12.5, qty: 3, channel: null })
  const v2 = decode(framed(12, V2, { ts: 1_700_000_000_999, bonus: 0.25, user_id: 8, refund_amt: null, qty: 2 ** 40, channel: 'web' }))
  assert.deepEqual(v2, { ts: 1_700_000_000_999_000, bonus: 0.25, user_id: 8, refund_amt: null, qty: 2 ** 40, channel: 'web' })
  // Interleaved ids (the decoder caches the last one): still each with its own writer schema.
  assert.equal(decode(framed(11, V1, { user_id: 9, ts: 1, refund_amt: 1, qty: 1 })).bonus, 1.5)
  assert.equal(decode(framed(12, V2, { ts: 1, bonus: 2, user_id: 9, refund_amt: 1, qty: 1, channel: null })).bonus, 2)
})

test('records of a newer writer schema: unknown fields skipped, a plain long read as timestamp-millis, missing fields defaulted', () => {
  const { decode } = decoderFor(V2, { 13: V3 })
  const r = decode(framed(13, V3, { user_id: 1, ts: 1_700_000_000_001, bonus: 4, refund_amt: 2, qty: 5, store: { id: 3, tags: ['a', 'b'] } }))
  assert.deepEqual(r, { ts: 1_700_000_000_001_000, bonus: 4, user_id: 1, refund_amt: 2, qty: 5, channel: null })
})

test('a schema id learned after the decoder was made is read from the board when first seen', () => {
  const { decode, board } = decoderFor(V2, { 12: V2 })
  assert.throws(() => decode(framed(11, V1, { user_id: 1, ts: 1, refund_amt: 1, qty: 1 })), /writer schema id 11 is not known/)
  board.append(11, JSON.stringify(V1))
  assert.equal(decode(framed(11, V1, { user_id: 1, ts: 1, refund_amt: 1, qty: 1 })).bonus, 1.5)
})

test('bad records say why, with the schema id', () => {
  const { decode } = decoderFor(V2, { 11: V1, 14: BAD })
  assert.throws(() => decode(Buffer.from([1, 2, 3])), /not in the Confluent wire format/)
  assert.throws(() => decode(framed(14, BAD, { user_id: 1, ts: 1, refund_amt: 'x', qty: 1 })), /writer schema id 14: the writer schema cannot be read as the reader schema: .*"string" as .*double/)
  const good = framed(11, V1, { user_id: 1, ts: 1, refund_amt: 1, qty: 1 })
  assert.throws(() => decode(good.subarray(0, good.length - 1)), /truncated Avro record \(writer schema id 11\)/)
  assert.throws(() => decode(Buffer.concat([good, Buffer.from([0])])), /1 trailing byte\(s\) \(writer schema id 11\)/)
})

test('writerResolver: null for the reader schema itself, an error naming the field type for an incompatible one', () => {
  const reader = avroReaderType(V2)
  assert.equal(writerResolver(reader, avroReaderType(V2)), null)
  assert.notEqual(writerResolver(reader, avroReaderType(V1)), null)
  assert.throws(() => writerResolver(reader, avroReaderType(BAD)), { name: 'TilekilnError', message: /cannot read .*string/ })
  // A reader field without a default that the writer lacks.
  const strict = { ...V2, fields: [...V2.fields, { name: 'must', type: 'int' }] }
  assert.throws(() => writerResolver(avroReaderType(strict), avroReaderType(V1)), /no matching field for default-less .*must/)
})

test('without a board, confluent framing decodes every record with the one schema, as before', () => {
  const d = createDecoder({ kind: 'avro', schema: fromAvroSchema(V1) as StructType, avroSchema: V1, framing: 'confluent' })
  assert.equal(d.decode(framed(99, V1, { user_id: 1, ts: 2, refund_amt: 3, qty: 4 })).ts, 2000)
})

test('schema board: appends are read in order from a cursor; a full board refuses', () => {
  const board = SchemaBoard.create(64)
  assert.ok(board.append(1, '{"type":"int"}'))
  assert.ok(board.append(2, '"ünïcode"'))
  const seen: [number, string][] = []
  let cursor = board.readFrom(0, (id, s) => seen.push([id, s]))
  assert.deepEqual(seen, [[1, '{"type":"int"}'], [2, '"ünïcode"']])
  cursor = board.readFrom(cursor, (id, s) => seen.push([id, s]))
  assert.equal(seen.length, 2)
  assert.equal(board.append(3, 'x'.repeat(40)), false)
  assert.ok(board.append(4_294_967_295, '"long"'))
  board.readFrom(cursor, (id, s) => seen.push([id, s]))
  assert.deepEqual(seen[2], [4_294_967_295, '"long"'])
})

test('schema board: a worker thread sees entries appended after it started', async () => {
  const board = SchemaBoard.create(1024)
  board.append(1, '"a"')
  const w = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads')
    const used = new Int32Array(workerData, 0, 1)
    parentPort.on('message', () => parentPort.postMessage(Atomics.load(used, 0)))
  `, { eval: true, workerData: board.buffer })
  try {
    const ask = async (): Promise<number> => await new Promise(resolve => { w.once('message', resolve); w.postMessage(0) })
    const before = await ask()
    board.append(2, '"b"')
    const after = await ask()
    assert.ok(after > before, `${after} > ${before}`)
    const ids: number[] = []
    new SchemaBoard(board.buffer).readFrom(0, id => ids.push(id))
    assert.deepEqual(ids, [1, 2])
  } finally {
    await w.terminate()
  }
})
