// The runner's aggregation of rounds (bench/lib/result.ts) and its option parsing (bench/lib/scenario.ts).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { aggregate, quantile, resultFileName } from '../../bench/lib/result.ts'
import { resolveOptions, type Scenario } from '../../bench/lib/scenario.ts'

test('aggregate: numbers → median with min/max/IQR per row, strings from the first round', () => {
  const rounds = [
    [{ cfg: 'a', rate: 10, p99: 5 }, { cfg: 'b', rate: 1, p99: 9 }],
    [{ cfg: 'a', rate: 30, p99: 7 }, { cfg: 'b', rate: 3, p99: 8 }],
    [{ cfg: 'a', rate: 20, p99: 6 }, { cfg: 'b', rate: 2, p99: 7 }],
    [{ cfg: 'a', rate: 40, p99: 100 }, { cfg: 'b', rate: 4, p99: 6 }]
  ]
  const { rows, spread } = aggregate(rounds)
  assert.deepEqual(rows, [{ cfg: 'a', rate: 25, p99: 6.5 }, { cfg: 'b', rate: 2.5, p99: 7.5 }])
  assert.deepEqual(spread[0]!.rate, { min: 10, max: 40, q1: 17.5, q3: 32.5, values: [10, 30, 20, 40] })
  assert.equal(spread[0]!.cfg, undefined)
  assert.throws(() => aggregate([[{ x: 1 }], []]), /different row counts/)
})

test('aggregate: one round has no spread; quantile interpolates', () => {
  assert.deepEqual(aggregate([[{ x: 3 }]]), { rows: [{ x: 3 }], spread: [{}] })
  assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5)
  assert.equal(quantile([5], 0.99), 5)
})

test('result files are named by scenario and Node major version', () => {
  assert.equal(resultFileName('engine', 'v24.21.0'), 'engine.node24.json')
})

test('options: defaults, quick sizes, then given flags; unknown or malformed flags refused', () => {
  const s: Scenario = {
    name: 't', description: '', run: async () => ({ rows: [] }),
    options: { seconds: { help: '', default: 10, quick: 2 }, levels: { help: '', default: '0.5' }, flag: { help: '', default: false } }
  }
  assert.deepEqual(resolveOptions(s, {}, false), { seconds: 10, levels: '0.5', flag: false })
  assert.deepEqual(resolveOptions(s, { levels: '0.25,0.5', flag: true }, true), { seconds: 2, levels: '0.25,0.5', flag: true })
  assert.throws(() => resolveOptions(s, { bogus: '1' }, false), /unknown option --bogus/)
  assert.throws(() => resolveOptions(s, { seconds: 'x' }, false), /needs a number/)
})
