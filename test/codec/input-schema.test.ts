// Avro input schemas with logical types, read as Zipline's Flink job reads them: its AvroDeserializationSchema
// decodes input records with Spark's AvroDataToCatalyst, whose SchemaConverters type a `long` with logicalType
// timestamp-millis or timestamp-micros as TIMESTAMP (values turned into microseconds) and an `int` with logicalType
// date as DATE. The Zipline user_activities canary depends on it: `unix_millis(TIMESTAMP(event_time_ms))` is the
// event time in milliseconds only when event_time_ms is a TIMESTAMP column (TIMESTAMP(n) of a BIGINT reads seconds).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import avro from 'avsc'
import { type StructType, T } from '../../src/api/data-type.ts'
import { fromAvroSchema } from '../../src/codec/input-schema.ts'
import { createDecoder } from '../../src/codec/record.ts'
import { compileQuery } from '../../src/expr/compile.ts'

const SCHEMA = {
  type: 'record',
  name: 'UserActivity',
  fields: [
    { name: 'user_id', type: ['null', 'string'], default: null },
    { name: 'event_time_ms', type: ['null', { type: 'long', logicalType: 'timestamp-millis' }], default: null },
    { name: 'at_micros', type: ['null', { type: 'long', logicalType: 'timestamp-micros' }], default: null },
    { name: 'day', type: ['null', { type: 'int', logicalType: 'date' }], default: null },
    { name: 'plain', type: ['null', 'long'], default: null }
  ]
}

test('Avro timestamp-millis / timestamp-micros longs are TIMESTAMP columns, date ints DATE columns', () => {
  const t = fromAvroSchema(SCHEMA) as StructType
  assert.deepEqual(t.fields.map(f => [f.name, f.type.kind]), [
    ['user_id', 'string'], ['event_time_ms', 'timestamp'], ['at_micros', 'timestamp'], ['day', 'date'], ['plain', 'long']
  ])
})

test('decoding turns timestamp-millis into the engine\'s microseconds and leaves the others as written', () => {
  const schema = fromAvroSchema(SCHEMA) as StructType
  const bytes = avro.Type.forSchema(SCHEMA as avro.Schema).toBuffer({
    user_id: 'u1', event_time_ms: 1_700_000_000_123, at_micros: 1_700_000_000_123_456, day: 19_675, plain: 42
  })
  const rec = createDecoder({ kind: 'avro', schema, avroSchema: SCHEMA, framing: 'raw' }).decode(bytes)
  assert.equal(rec.event_time_ms, 1_700_000_000_123_000)
  assert.equal(rec.at_micros, 1_700_000_000_123_456)
  assert.equal(rec.day, 19_675)
  assert.equal(rec.plain, 42)
  assert.equal(rec.user_id, 'u1')
})

test('the user_activities canary\'s time column is the event time in milliseconds', () => {
  const schema = fromAvroSchema(SCHEMA) as StructType
  const bytes = avro.Type.forSchema(SCHEMA as avro.Schema).toBuffer({ user_id: 'u1', event_time_ms: 1_700_000_000_123, at_micros: null, day: null, plain: null })
  const record = createDecoder({ kind: 'avro', schema, avroSchema: SCHEMA, framing: 'raw' }).decode(bytes)
  const q = compileQuery({
    selects: { user_id: 'user_id', t: 'unix_millis(TIMESTAMP(event_time_ms))' },
    wheres: [],
    timeColumn: 'unix_millis(TIMESTAMP(event_time_ms))',
    groupBy: 'aws.user_activities.kafka_v1__1',
    path: 'sources[0].events.query'
  }, schema, ['user_id', 't'])
  const out: unknown[] = []
  const rows: unknown[][] = []
  q.run(record, out, () => rows.push(out.slice()))
  assert.deepEqual(rows, [['u1', 1_700_000_000_123, 1_700_000_000_123]])
  assert.equal(q.columns[1]!.type.kind, T.long.kind)
})
