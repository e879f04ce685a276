// Every select, where and timeColumn of the reference GroupBys parses and type-checks against a schema of its
// input (written here where the GroupBy does not carry one), and the golden catalyst_select_where cases from
// Chronon's CatalystUtilTest give Chronon's results.

import assert from 'node:assert/strict'
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { type DataType, type StructType, T } from '../../src/api/data-type.ts'
import { compileQuery, compileQueryWithSource } from '../../src/expr/compile.ts'
import { goldenCase, groupByPath, referencePath } from '../helpers/reference.ts'
import { rowsOf, spec } from './helpers.ts'

const struct = (fields: Record<string, DataType>): StructType =>
  T.struct('Input', Object.entries(fields).map(([name, type]) => ({ name, type }))) as StructType

const S = T.string
const L = T.long
const D = T.double

/** Input schemas of the reference GroupBys, by file name (the GroupBys themselves only name their columns). */
const SCHEMAS: Record<string, StructType> = {
  'fetcher_tiled_gb.json': struct({ listing_id: L, ts: L, rating: D }),
  'flink_e2e_sum_1d.json': struct({ id: S, int_val: T.int, double_val: D, created: L }),
  'flink_e2e_sum_1h.json': struct({ id: S, int_val: T.int, double_val: D, created: L }),
  // airbnb api/py samples: column names stand for arbitrary expressions; types as the sample data uses them
  'purchases.v1': struct({ user_id: S, purchase_amount: D, repayment_amount: D, transaction_type: S, merchant_id: S, country_code: S, purchase_price: L, ts: L }),
  'returns.v1': struct({ user_id: S, refund_amt: L, ts: L }),
  'user.sample_nested_group_by.v1': struct({ id_item: S, transaction_type: S, ts: S }),
  'sample_chaining_group_by.chaining_group_by_v1': struct({ event_expr: L, group_by_expr: S, user_id: S, ts: L }),
  sample_chaining_group_by: struct({ event_expr: L, group_by_expr: S, user_id: S, group_by_subject_expr: S, entity_expr: L, ts: L }),
  'group_by_with_kwargs.v1': struct({
    group_by_subject_expr_old_version: S, event_expr_old_version: L, possibly_different_group_by_subject_expr: S,
    possibly_different_event_expr: L, ts: S, __timestamp: L
  }),
  'event_sample_group_by.v1': struct({ event_expr: L, group_by_expr: S, ts: L }),
  'entity_sample_group_by_from_module.v1': struct({ group_by_subject_expr: S, entity_expr: L, ts: L }),
  // Zipline's FlinkKafkaItemEventDriver Avro schema (the canary's Kafka topic)
  'item_event_canary.actions_v1__0': struct({
    event_type: S, timestamp: L, visitor_id: S, is_primary: T.boolean, logger_name: S, source: S,
    is_mobile_req: T.boolean, is_mobile_device: T.boolean, is_mobile_view: T.boolean, item_ids: T.list(L),
    created_at: L, attributes: T.map(S, S)
  }),
  // user-activities: event_time_ms is a TIMESTAMP column (what TIMESTAMP(…) / unix_millis(…) imply; see below)
  'user_activities.kafka_v1__1': struct({ user_id: S, listing_id: L, event_type: S, device_type: S, event_time_ms: T.timestamp })
}

function walk (dir: string, out: string[] = []): string[] {
  for (const f of readdirSync(dir)) {
    const p = join(dir, f)
    if (statSync(p).isDirectory()) walk(p, out)
    else out.push(p)
  }
  return out
}

interface FoundQuery { path: string, query: { selects?: Record<string, string>, wheres?: string[], timeColumn?: string } }

function queriesOf (json: unknown, path = ''): FoundQuery[] {
  if (Array.isArray(json)) return json.flatMap((x, i) => queriesOf(x, `${path}[${i}]`))
  if (json === null || typeof json !== 'object') return []
  return Object.entries(json).flatMap(([k, v]) =>
    k === 'query' && v !== null && typeof v === 'object' ? [{ path: `${path}.query`.slice(1), query: v as FoundQuery['query'] }] : queriesOf(v, `${path}.${k}`))
}

describe('reference GroupBys: every select, where and timeColumn compiles', () => {
  const root = referencePath('chronon', 'group_bys')
  const files = walk(root)
  let compiled = 0
  for (const file of files) {
    const json = JSON.parse(readFileSync(file, 'utf8'))
    const queries = queriesOf(json)
    if (queries.length === 0) continue
    const name = file.split('/').pop()!
    test(name, () => {
      const schema = SCHEMAS[name]
      assert.ok(schema !== undefined, `no schema written for ${file}`)
      for (const { path, query } of queries) {
        const selects = query.selects ?? null
        const needed = selects === null ? [] : Object.keys(selects)
        const q = compileQuery({
          selects, wheres: query.wheres ?? [], timeColumn: query.timeColumn ?? 'ts', groupBy: json.metaData?.name ?? name, path
        }, schema, needed)
        assert.equal(q.columns.length, needed.length + 1)
        assert.equal(q.columns[needed.length]!.type.kind, 'long', `${path}: the time column is epoch millis`)
        compiled++
      }
    })
  }
  test('found the reference queries', () => assert.ok(compiled >= 15, `only ${compiled} queries compiled`))
})

describe('Zipline canaries evaluate as Chronon would', () => {
  const load = (rel: string): any => JSON.parse(readFileSync(groupByPath(rel), 'utf8'))

  test('item_event_canary: EXPLODE(TRANSFORM(SPLIT(COALESCE(…)))) gives one row per listing id, the where filters', () => {
    const gb = load('zipline-chronon/python/test/canary/compiled/group_bys/gcp/item_event_canary.actions_v1__0')
    const query = gb.sources[0].events.query
    const needed = ['listing_id', 'add_cart', 'view', 'purchase', 'favorite']
    const q = compileQuery({ selects: query.selects, wheres: query.wheres, timeColumn: query.timeColumn, groupBy: gb.metaData.name, path: 'sources[0].events.query' },
      SCHEMAS['item_event_canary.actions_v1__0']!, needed)
    assert.equal(q.multiRow, true)
    assert.deepEqual(q.columns.map(c => `${c.name}:${c.type.kind}`), ['listing_id:long', 'add_cart:int', 'view:int', 'purchase:int', 'favorite:int', 'ts:long'])
    assert.deepEqual(q.sourceFields, [null, null, null, null, null])
    const base = { timestamp: 1_700_000_000_000, attributes: { listing_id: '11,12' } }
    // sold_listing_ids wins over listing_id (COALESCE); non-numbers become NULL (CAST … AS LONG)
    assert.deepEqual(rowsOf(q, { ...base, event_type: 'backend_cart_payment', attributes: { sold_listing_ids: '5, x,6', listing_id: '9' } }),
      [[5, 0, 0, 1, 0, 1_700_000_000_000], [null, 0, 0, 1, 0, 1_700_000_000_000], [6, 0, 0, 1, 0, 1_700_000_000_000]])
    assert.deepEqual(rowsOf(q, { ...base, event_type: 'view_listing' }), [[11, 0, 1, 0, 0, 1_700_000_000_000], [12, 0, 1, 0, 0, 1_700_000_000_000]])
    assert.deepEqual(rowsOf(q, { ...base, event_type: 'search' }), [], 'the where drops other event types')
    assert.deepEqual(rowsOf(q, { ...base, event_type: null }), [], 'a NULL where drops the row')
    assert.deepEqual(rowsOf(q, { ...base, event_type: 'view_listing', attributes: {} }), [], 'EXPLODE(NULL) gives no row')
    assert.deepEqual(rowsOf(q, { ...base, event_type: 'view_listing', attributes: null }), [])
  })

  test('user_activities: STRUCT(…, unix_millis(TIMESTAMP(event_time_ms)) as timestamp) and the same time column', () => {
    const gb = load('zipline-chronon/python/test/canary/compiled/group_bys/aws/user_activities.kafka_v1__1')
    const query = gb.sources[0].events.query
    const needed = ['user_id', 'view_event', 'is_mobile', 'user_event_struct']
    const q = compileQueryWithSource({ selects: query.selects, wheres: [], timeColumn: query.timeColumn, groupBy: gb.metaData.name, path: 'sources[0].events.query' },
      SCHEMAS['user_activities.kafka_v1__1']!, needed)
    assert.deepEqual(q.sourceFields, ['user_id', null, null, null])
    assert.deepEqual(q.columns[3]!.type, T.struct('Struct', [{ name: 'event_type', type: S }, { name: 'listing_id', type: L }, { name: 'timestamp', type: L }]))
    const micros = 1_700_000_000_123_000
    assert.deepEqual(rowsOf(q, { user_id: 'u1', listing_id: 42, event_type: 'view', device_type: 'mobile', event_time_ms: micros }),
      [['u1', 1, 1, { event_type: 'view', listing_id: 42, timestamp: 1_700_000_000_123 }, 1_700_000_000_123]])
  })

  test('user_activities with event_time_ms as a BIGINT: TIMESTAMP(n) reads n as seconds, as Spark casts a long', () => {
    const schema = struct({ user_id: S, listing_id: L, event_type: S, device_type: S, event_time_ms: L })
    const q = compileQuery(spec({ user_id: 'user_id' }, [], 'unix_millis(TIMESTAMP(event_time_ms))'), schema, ['user_id'])
    assert.deepEqual(rowsOf(q, { user_id: 'u', event_time_ms: 1_700_000_000 }), [['u', 1_700_000_000_000]])
  })
})

describe('golden catalyst_select_where (Chronon CatalystUtilTest)', () => {
  const g = goldenCase('catalyst_select_where')
  const schema = struct({ bool_x: T.boolean, int32_x: T.int, int64_x: L, float64_x: D, string_x: S, bytes_x: T.binary })
  const row = {
    bool_x: true, int32_x: 2147483647, int64_x: 9223372036854775807n, float64_x: Number.MAX_VALUE,
    string_x: 'hello', bytes_x: new TextEncoder().encode('world')
  }
  for (const sel of g.selects as Record<string, unknown>[]) {
    const [alias, expr] = Object.entries(sel).find(([k]) => k !== 'out')! as [string, string]
    test(`${alias}: ${expr} = ${JSON.stringify(sel.out)}`, () => {
      const q = compileQuery({ selects: { [alias]: expr }, wheres: [], timeColumn: 'int32_x', groupBy: 'catalyst', path: 'query' }, schema, [alias])
      const rows = rowsOf(q, row)
      assert.equal(rows.length, 1)
      assert.equal(rows[0]![0], sel.out)
    })
  }
  for (const w of g.wheres as { wheres: string[], passes: boolean }[]) {
    test(`wheres ${JSON.stringify(w.wheres)} ${w.passes ? 'pass' : 'reject'} the row`, () => {
      const q = compileQuery({ selects: { a: 'int32_x' }, wheres: w.wheres, timeColumn: 'int32_x', groupBy: 'catalyst', path: 'query' }, schema, ['a'])
      assert.deepEqual(rowsOf(q, row), w.passes ? [[2147483647, 2147483647]] : [])
    })
  }
})
