// The main thread must never detach an ArrayBuffer. The first detach in an isolate invalidates V8's
// ArrayBufferDetaching protector, and from then on the isolate's optimized code checks every typed-array access for
// a detached buffer: measured 2–36 % more main-thread CPU on the generator bench (README, Benchmarks, "Freeing
// acknowledged batches at once"). Workers detach anyway (they transfer their results); the restore of a checkpoint
// used to transfer its shards from the main thread, which detached them there.
//
// V8 reports each invalidation with --trace-protector-invalidation, once per isolate. The probe runs an engine with
// one worker, then a second one, also with one worker, resumed from a checkpoint with open tiles: two worker
// isolates, two invalidations. A third is the main thread's.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test } from 'node:test'

const PROBE = fileURLToPath(new URL('../helpers/restore-probe.js', import.meta.url))
const INVALIDATED = /Invalidating protector cell ArrayBufferDetaching/g

test('running, checkpointing and resuming with open tiles, the main thread detaches no ArrayBuffer', { timeout: 120_000 }, () => {
  const r = spawnSync(process.execPath, ['--trace-protector-invalidation', PROBE], { encoding: 'utf8', timeout: 100_000, killSignal: 'SIGKILL', maxBuffer: 16 << 20 })
  assert.equal(r.status, 0, `the probe failed (${r.signal ?? r.status}): ${r.stderr.slice(-2000)}`)
  const restored = Number(/\[probe\] restored (-?\d+) open tiles/.exec(r.stderr)?.[1] ?? -1)
  assert.ok(restored > 0, `the resumed run restored ${restored} open tiles: the probe must resume with some, or it tests nothing`)
  // V8 prints on stdout; count both streams.
  const invalidations = (r.stdout.match(INVALIDATED)?.length ?? 0) + (r.stderr.match(INVALIDATED)?.length ?? 0)
  assert.equal(invalidations, 2, `${invalidations} isolates detached an ArrayBuffer: one per worker (2) is expected, a third is the main thread's`)
})
