// Issue 3, item 7: expression evaluation failures are dead-lettered and counted as spark_expr_eval_errors (also in
// `tilekiln run --json`), and spark_expr_eval_time is a histogram of sampled per-record evaluation times (µs).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { compilePlan } from '../../src/config/plan.ts'
import { M } from '../../src/metrics/metrics.ts'
import { openGeneratorSource, parseGeneratorOptions } from '../../src/source/generator.ts'
import { tilekiln } from '../helpers/cli.ts'
import { runEngine } from '../helpers/engine.ts'
import { fixture, readJson } from '../helpers/e2e.ts'
import { groupByPath } from '../helpers/reference.ts'

test('a select failing at run time dead-letters the record and counts spark_expr_eval_errors in run --json', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-expr-metrics-'))
  try {
    const groupBy = join(dir, 'gb.json')
    writeFileSync(groupBy, JSON.stringify({
      metaData: { name: 'test.expr_errors.v1' },
      keyColumns: ['id'],
      // split_part with part 0 is an error in Spark (part numbers start at 1), whatever the ANSI setting
      sources: [{ events: { table: 't', query: { selects: { id: 'id', v: "split_part(s, ',', n)" }, timeColumn: 'ts' } } }],
      aggregations: [{ inputColumn: 'v', operation: 6 }]
    }))
    const schema = join(dir, 'schema.avsc')
    writeFileSync(schema, JSON.stringify({ type: 'record', name: 'E', fields: [{ name: 'id', type: ['null', 'string'] }, { name: 's', type: ['null', 'string'] }, { name: 'n', type: ['null', 'int'] }, { name: 'ts', type: ['null', 'long'] }] }))
    const input = join(dir, 'events.jsonl')
    writeFileSync(input, Array.from({ length: 10 }, (_, i) => JSON.stringify({ id: 'a', s: 'x,y', n: i % 3, ts: 1000 + i })).join('\n') + '\n')
    const r = await tilekiln(['run', '--group-by', groupBy, '--source', `file:${input}`, '--schema', schema, '--store', `embedded:${join(dir, 'store')}`,
      '--dead-letter', join(dir, 'dlq.jsonl'), '--progress', '0', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const summary = JSON.parse(r.stdout)
    assert.equal(summary.metrics[M.exprErrors], 4) // n = 0 at i = 0, 3, 6, 9
    assert.equal(summary.metrics[M.deadLetters], 4)
    assert.match(r.stderr, /the index 0 is invalid for split_part/)
    const f = await tilekiln(['fetch', '--group-by', groupBy, '--store', `embedded:${join(dir, 'store')}`, '--key', 'id=a', '--at', '3600000', '--json'])
    assert.deepEqual(JSON.parse(f.stdout), { v_count: 6 })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('spark_expr_eval_time samples one record in 1024 per worker', async () => {
  const groupBy = readJson(groupByPath('zipline-chronon/python/test/canary/compiled/group_bys/aws/user_activities.kafka_v1__1'))
  for (const workers of [1, 2]) {
    const source = openGeneratorSource(compilePlan(groupBy), parseGeneratorOptions('keys=50,count=20000,seed=1,start=1700000000000,step=1000'), fixture('user_activities.avsc'))
    const run = await runEngine(groupBy, source, { workers })
    try {
      const h = run.metrics.summary(M.exprEvalTime)
      // 20000 records: ⌊20000 / 1024⌋ = 19 samples with one worker; per worker ⌊n_w / 1024⌋ with two
      if (workers === 1) assert.equal(h.count, 19)
      else assert.ok(h.count >= 18 && h.count <= 19, `${h.count} samples`)
      assert.ok(h.p50 >= 1 && h.max < 1_000_000, `p50 ${h.p50} µs, max ${h.max} µs`)
      assert.match(await run.metrics.prometheus(), /tilekiln_spark_expr_eval_time_seconds_count\{feature_group="aws.user_activities.kafka_v1__1"\} 1[89]/)
    } finally {
      await run.cleanup()
    }
  }
})
