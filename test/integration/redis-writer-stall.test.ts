// A run stalled on a store that answers nothing (a real redis-server, SIGSTOPped) still ends on one SIGTERM, in
// bounded time, with exit code 1 and a message that says how much was not written — where the old writer retried
// for ever and ignored the signal. While it waits it says what for.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { startTilekiln } from '../helpers/cli.ts'
import { sleep } from '../services/process.ts'
import { startRedis } from '../services/redis.ts'

const skip = process.env.TILEKILN_TEST_REDIS === undefined ? 'runs with the integration tests (node scripts/test.mjs redis-writer-stall)' : false

describe('a run stalled on a frozen Redis', { skip, timeout: 120_000 }, () => {
  test('stops on one SIGTERM within the stop grace, exit code 1, saying what was not written', async () => {
    const redis = await startRedis()
    const run = startTilekiln(['run', '--group-by', 'examples/group_bys/clicks.v1.json', '--source', 'generator:keys=5000,rate=20000',
      '--store', `redis://127.0.0.1:${redis.port}?prefix=stall`, '--progress', '0', '--workers', '1'], { TILEKILN_STOP_REPORT_MILLIS: '2000' })
    const guard = setTimeout(() => run.child.kill('SIGKILL'), 90_000)
    try {
      await sleep(3000)
      process.kill(redis.pid, 'SIGSTOP')
      await sleep(2000)
      const signalled = Date.now()
      run.child.kill('SIGTERM')
      const r = await run.done
      const took = Date.now() - signalled
      assert.equal(r.code, 1, r.stderr)
      assert.ok(took < 30_000, `ended ${took} ms after SIGTERM`)
      // While it waits, it says for what (every 2 s here; 15 s by default).
      assert.match(r.stderr, /still stopping after \d+ s: waiting for the workers to finish their batches and the writer to store their tiles/)
      assert.match(r.stderr, /tilekiln run: stopped with [\d,]+ write\(s\) in \d+ batch\(es\) not acknowledged by the store: it acknowledged nothing for 10\.0 s after the stop.*\[TK_STORE\]/)
    } finally {
      clearTimeout(guard)
      run.child.kill('SIGKILL')
      try { process.kill(redis.pid, 'SIGCONT') } catch {}
      await redis.stop()
    }
  })
})
