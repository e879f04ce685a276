// Crash recovery against a real Kafka broker: the daemon SIGKILLed 10 times (at random moments and at chosen fault
// points: mid-write, before a checkpoint write, between the checkpoint and the commit, during a take-over) with 1, 2
// and 3 workers, restarted each time, and the store it finally leaves compared byte for byte with an uninterrupted
// run's.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { Random } from '../../src/source/generator.ts'
import { startTilekiln, tilekiln } from '../helpers/cli.ts'
import { referenceRun, runArgs, skipWithoutKafka as skip } from '../helpers/kafka-source.ts'
import { dumpLines } from '../helpers/store-dump.ts'

const work = mkdtempSync(join(tmpdir(), 'tilekiln-kafka-crash-'))
const schemaFile = join(work, 'schema.avsc')

describe('Kafka source: crash recovery', { skip }, () => {
  const topic = `returns-${process.pid}`
  let reference: string[] = []

  // An uninterrupted run over 200,000 events (kafka-engine.test.ts checks such a run against the oracle).
  before(async () => { reference = await referenceRun(topic, work, schemaFile) })
  // TILEKILN_TEST_KEEP=1 keeps the stores, checkpoints and logs for a post-mortem.
  after(() => { if (process.env.TILEKILN_TEST_KEEP === undefined) rmSync(work, { recursive: true, force: true }) })

  for (const workers of [1, 2, 3]) {
    test(`crash test: SIGKILLed 10 times (at random moments and fault points), restarted, the store equals an uninterrupted run's (${workers} worker(s))`, async () => {
      assert.ok(reference.length > 0, 'the reference run must have succeeded')
      const dir = mkdtempSync(join(work, `crash${workers}-`))
      const rnd = new Random(workers * 101)
      // Fault points first, while most of the topic is still unread; then kills at random moments.
      const faults: (string | undefined)[] = ['write-mid-batch:3', 'checkpoint-before-write:3', 'checkpoint-before-commit:2', 'handover-after-epoch:2']
      let kills = 0
      for (let i = 0; i < 10; i++) {
        const fault = faults[i]
        const p = startTilekiln(runArgs(topic, dir, schemaFile, workers, ['--checkpoint-interval', '200'], i), fault === undefined ? {} : { TILEKILN_FAULT: fault })
        // The whole topic takes ~1–2 s to consume here (plus ~0.5 s to start): kill early and often.
        const delay = fault !== undefined ? 20_000 : 200 + rnd.int(700)
        const timer = setTimeout(() => p.child.kill('SIGKILL'), delay)
        const r = await p.done
        clearTimeout(timer)
        if (process.env.TILEKILN_TEST_KEEP !== undefined) writeFileSync(join(dir, `incarnation-${i}.log`), `fault=${fault} code=${r.code}\n${r.stderr}`)
        if (r.code !== 0) kills++
        else break // finished before the kill: nothing left to crash
      }
      assert.ok(kills >= 6, `only ${kills} run(s) were killed`)
      const final = await tilekiln(runArgs(topic, dir, schemaFile, workers, ['--checkpoint-interval', '300'], 99))
      assert.equal(final.code, 0, final.stderr)
      const lines = await dumpLines(join(dir, 'store'))
      assert.equal(lines.length, reference.length)
      for (let i = 0; i < lines.length; i++) assert.equal(lines[i], reference[i], `entry ${i} differs`)
    })
  }
})
