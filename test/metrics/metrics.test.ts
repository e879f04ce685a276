// The metric table and its Prometheus exposition (prom-client).
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { exposedName, M, type MetricName, Metrics } from '../../src/metrics/metrics.ts'
import { repoRoot } from '../helpers/reference.ts'

/** name{labels} value lines of an exposition, without comments. */
function samples (text: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const i = line.lastIndexOf(' ')
    out.set(line.slice(0, i), Number(line.slice(i + 1)))
  }
  return out
}

test('every counter and unlabelled gauge is exposed from the start at 0, counters named *_total, names unique and valid', async () => {
  const m = new Metrics('g.v1')
  const text = await m.prometheus()
  const s = samples(text)
  const exposed = new Set<string>()
  for (const name of Object.values(M) as MetricName[]) {
    const e = exposedName(name)
    assert.match(e, /^tilekiln_[a-zA-Z_:][a-zA-Z0-9_:]*$/, e)
    assert.ok(!exposed.has(e), `${e} exposed twice`)
    exposed.add(e)
    const type = new RegExp(`^# TYPE ${e} (counter|gauge|histogram)$`, 'm').exec(text)
    assert.ok(type !== null, `${e} has a TYPE line`)
    if (type[1] === 'counter') assert.match(e, /_total$/, `${e} is a counter`)
    if (type[1] === 'histogram') {
      assert.match(e, /_seconds$/, `${e}: durations in seconds`)
      assert.equal(s.get(`${e}_count{feature_group="g.v1"}`), 0, `${e}_count at 0`)
    }
  }
  for (const n of [M.recordsIn, M.deadLetters, M.lateEvents, M.kvRetries, M.checkpoints, M.fetchRequests]) {
    assert.equal(s.get(`${exposedName(n)}{feature_group="g.v1"}`), 0, `${n} at 0 before anything happened`)
  }
  assert.ok(exposed.has('tilekiln_dead_letters_total') && exposed.has('tilekiln_tiling_late_events_total') && exposed.has('tilekiln_kvstore_writer_successes_total'), 'Chronon names kept')
})

test('histograms take a count per observation (one call per batch) into cumulative buckets, in seconds', async () => {
  const m = new Metrics('g')
  m.record(M.latency, 3, 1000) // 3 ms × 1000
  m.record(M.latency, 700, 20) // 0.7 s × 20
  const s = samples(await m.prometheus())
  const b = (le: string): number | undefined => s.get(`tilekiln_event_to_store_latency_seconds_bucket{le="${le}",feature_group="g"}`)
  assert.equal(b('0.0025'), 0)
  assert.equal(b('0.005'), 1000)
  assert.equal(b('0.5'), 1000)
  assert.equal(b('1'), 1020)
  assert.equal(b('+Inf'), 1020)
  assert.equal(s.get('tilekiln_event_to_store_latency_seconds_count{feature_group="g"}'), 1020)
  assert.ok(Math.abs(s.get('tilekiln_event_to_store_latency_seconds_sum{feature_group="g"}')! - 17) < 1e-9)
  assert.equal(m.summary(M.latency).count, 1020)
  assert.equal(m.takeRecent(M.latency).p99, 700)
  assert.equal(m.takeRecent(M.latency).count, 0, 'the recent window starts afresh')
})

test('per-partition and per-worker metrics carry their label; a partition that moved away is forgotten', async () => {
  const m = new Metrics('g')
  m.setPartition(M.partitionLag, 3, 120)
  m.setPartition(M.partitionWatermark, 3, 1_700_000_000_000)
  m.setPartition(M.partitionRecords, 3, 42)
  m.setPartition(M.partitionLag, 4, 7)
  m.setLabelled(M.liveKeys, 1, 99)
  let s = samples(await m.prometheus())
  assert.equal(s.get('tilekiln_partition_lag_records{partition="3",feature_group="g"}'), 120)
  assert.equal(s.get('tilekiln_partition_watermark_timestamp_seconds{partition="3",feature_group="g"}'), 1_700_000_000)
  assert.equal(s.get('tilekiln_partition_records_in_total{partition="3",feature_group="g"}'), 42)
  assert.equal(s.get('tilekiln_live_keys{worker="1",feature_group="g"}'), 99)
  m.dropPartition(3)
  s = samples(await m.prometheus())
  assert.equal(s.get('tilekiln_partition_lag_records{partition="3",feature_group="g"}'), undefined)
  assert.equal(s.get('tilekiln_partition_lag_records{partition="4",feature_group="g"}'), 7)
  assert.equal(s.get('tilekiln_live_keys{worker="1",feature_group="g"}'), 99, 'worker metrics stay')
})

test('checkpoint age, duration and size; process, GC and event-loop metrics when asked for', async () => {
  const m = new Metrics('g')
  m.checkpointed(250, 4096)
  m.includeProcessMetrics()
  const text = await m.prometheus()
  const s = samples(text)
  assert.equal(s.get('tilekiln_checkpoints_total{feature_group="g"}'), 1)
  assert.equal(s.get('tilekiln_checkpoint_last_bytes{feature_group="g"}'), 4096)
  assert.equal(s.get('tilekiln_checkpoint_duration_seconds_bucket{le="0.25",feature_group="g"}'), 1)
  assert.ok(s.get('tilekiln_checkpoint_age_seconds{feature_group="g"}')! < 5)
  for (const n of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_eventloop_lag_seconds', 'nodejs_heap_size_used_bytes']) assert.match(text, new RegExp(`^${n} `, 'm'), n)
  assert.match(text, /^# TYPE nodejs_gc_duration_seconds histogram$/m)
})

test('metric names live in the one table: no string literal is passed where a metric name goes', () => {
  const offenders: string[] = []
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f)
      if (statSync(p).isDirectory()) { walk(p); continue }
      if (!p.endsWith('.ts') || p.endsWith(join('metrics', 'metrics.ts'))) continue
      const text = readFileSync(p, 'utf8')
      for (const m of text.matchAll(/metrics\??\.(inc|set|setPartition|setLabelled|record|counter|gauge|summary|takeRecent)\(\s*['"`]/g)) offenders.push(`${p}: ${m[0]}`)
    }
  }
  walk(join(repoRoot, 'src'))
  assert.deepEqual(offenders, [])
})

test('recentPercentiles: the curve since the last takeRecent, without starting a new interval', () => {
  const m = new Metrics('g')
  m.record(M.latency, 5000, 10)
  m.takeRecent(M.latency)
  assert.deepEqual(m.recentPercentiles(M.latency, [50]), [Number.NaN], 'nothing recorded since')
  m.record(M.latency, 10, 90)
  m.record(M.latency, 200, 9)
  m.record(M.latency, 900, 1)
  assert.deepEqual(m.recentPercentiles(M.latency, [50, 99, 100]), [10, 200, 900])
  assert.equal(m.takeRecent(M.latency).count, 100, 'reading the curve kept the interval')
})
