// Every benchmark scenario that needs no external service runs for about a second on tiny input (bench/run.ts
// --smoke), so the benchmark suite cannot rot unnoticed. The Kafka, store and fetch scenarios are in
// test/integration/bench-smoke.test.ts; Flink (a JDK, Maven, minutes) and scale (consumer-group session expiry)
// are not smoke-tested. Each run has a timeout (test/helpers/bench-smoke.ts).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { smokeScenario } from '../helpers/bench-smoke.ts'

test('bench engine: one configuration, rows with events/s and latency', () => {
  const r = smokeScenario('engine')
  assert.ok(Number(r.rows[0]!['events/s']) > 0)
  assert.ok(Number(r.rows[0]!['p99 ms']) >= 0)
  assert.ok(r.machine.cores > 0 && r.machine.node === process.version)
  assert.match(r.git.commit, /^[0-9a-f]{40}$|^unknown$/)
})

test('bench latency: the maximum and one paced level with latency percentiles', () => {
  const r = smokeScenario('latency')
  assert.deepEqual(r.rows.map(x => x.load), ['max', '50 %'])
  const half = r.rows[1]!
  assert.ok(Number(half['target ev/s']) > 0)
  assert.ok(Number(half['p50 ms']) <= Number(half['p99 ms']) && Number(half['p99 ms']) <= Number(half['p99.9 ms']))
})

test('bench sweep: one row per setting of the grid', () => {
  const r = smokeScenario('sweep')
  assert.deepEqual(r.rows.map(x => x.batch), [1024, 8192])
  for (const x of r.rows) assert.ok(Number(x['events/s']) > 0)
})

for (const name of ['kernels', 'agg-ops', 'expr', 'cpc', 'sketches']) {
  test(`bench ${name}`, () => { smokeScenario(name) })
}

