// The worker pool's handling of a result the engine refuses (src/engine/worker-pool.ts): an error of ours (a
// TilekilnError: e.g. the writer refusing batches after a fatal store error, TK_STORE_FULL) is the run's failure as
// it is; anything else is a bug, reported as TK_INTERNAL with its cause. Before, both were wrapped: a CI run of
// `tilekiln run` onto a full disk ended with "TK_INTERNAL: the result of worker 0's tick task could not be handled:
// the disk … is full" instead of the full-disk message.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import { compilePlan } from '../../src/config/plan.ts'
import { type WorkerBase, WorkerPool } from '../../src/engine/worker-pool.ts'
import { BatchSizer } from '../../src/engine/batch-sizer.ts'
import { isTilekilnError, TilekilnError } from '../../src/errors.ts'
import { DEFAULT_RING } from '../../src/route/ring.ts'
import { openGeneratorSource, parseGeneratorOptions } from '../../src/source/generator.ts'
import type { InputFormat } from '../../src/codec/record.ts'
import { repoRoot } from '../helpers/reference.ts'

function base (): WorkerBase {
  const groupBy = JSON.parse(readFileSync(`${repoRoot}/examples/group_bys/clicks.v1.json`, 'utf8'))
  const source = openGeneratorSource(compilePlan(groupBy), parseGeneratorOptions('keys=10,count=10'))
  return { groupBy, planOptions: {}, format: source.format as InputFormat, allowedLatenessMillis: 0, trigger: { kind: 'always' }, evaluator: 'spark', ownershipCheck: false, maxKeyBytes: 1000 }
}

async function refusedTick (refusal: unknown): Promise<{ failures: unknown[], idle: unknown }> {
  const failures: unknown[] = []
  const pool = new WorkerPool(base(), 1, DEFAULT_RING, new BatchSizer(1, { records: 8192, maxRecords: DEFAULT_RING.maxRecords }), () => { throw refusal }, e => { failures.push(e) })
  try {
    pool.tick(0, [], Date.now())
    const idle = await pool.idle().then(() => null, (e: unknown) => e)
    return { failures, idle }
  } finally {
    await pool.close()
  }
}

test('a TilekilnError from result handling is the run\'s failure as it is (a full disk stays TK_STORE_FULL)', { timeout: 30_000 }, async () => {
  const full = new TilekilnError('TK_STORE_FULL', 'the disk holding the embedded store at /x is full', { store: 'embedded:/x', fatal: true })
  const r = await refusedTick(full)
  assert.deepEqual(r.failures, [full])
  assert.equal(r.idle, full)
})

test('any other error from result handling is a TK_INTERNAL naming the worker and task, with its cause', { timeout: 30_000 }, async () => {
  const bug = new TypeError('cannot read properties of undefined')
  const r = await refusedTick(bug)
  assert.equal(r.failures.length, 1)
  const e = r.failures[0]
  assert.ok(isTilekilnError(e))
  assert.equal(e.code, 'TK_INTERNAL')
  assert.match(e.message, /the result of worker 0's tick task could not be handled: .*cannot read properties of undefined/)
  assert.equal((e as Error).cause, bug)
  assert.equal(r.idle, e)
})
