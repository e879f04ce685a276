// `run --batch-records N [--batch-records-max M]`: the records of one worker batch, and the most it grows to while
// the source outruns the worker. They change how often a busy tile is written (the always trigger writes each
// touched tile once per batch), never what the store ends up holding.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { logMessages, tilekiln } from '../helpers/cli.ts'
import { dumpLines } from '../helpers/store-dump.ts'
import { repoRoot } from '../helpers/reference.ts'

const GB = join(repoRoot, 'examples', 'group_bys', 'clicks.v1.json')

test('--batch-records: smaller batches write busy tiles more often, into the same store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-batch-records-'))
  try {
    const source = `generator:keys=50,count=20000,seed=5,start=${Date.UTC(2024, 0, 1)},step=30`
    const run = async (name: string, extra: string[]): Promise<{ tilesWritten: number }> => {
      const r = await tilekiln(['run', '--group-by', GB, '--source', source, '--store', `embedded:${join(dir, name)}`, '--until-end', '--progress', '0', '--json', '--dead-letter', join(dir, `${name}.jsonl`), ...extra], {}, 120_000)
      assert.equal(r.code, 0, r.stderr)
      return JSON.parse(r.stdout) as { tilesWritten: number }
    }
    const whole = await run('default', [])
    const small = await run('small', ['--batch-records', '40', '--batch-records-max', '40'])
    // 50 keys: a batch of 40 records writes up to 40 tiles, one of the default size at most one per key and tile.
    assert.ok(small.tilesWritten > 2 * whole.tilesWritten, `${small.tilesWritten} tile writes with batches of 40, ${whole.tilesWritten} by default`)
    const a = await dumpLines(join(dir, 'default'))
    assert.ok(a.length > 50)
    assert.deepEqual(await dumpLines(join(dir, 'small')), a)
    const bad = await tilekiln(['run', '--group-by', GB, '--source', source, '--store', `embedded:${join(dir, 'bad')}`, '--batch-records', '0'], {}, 30_000)
    assert.equal(bad.code, 2)
    assert.match(logMessages(bad.stderr), /--batch-records must be an integer from 1/)
    const inverted = await tilekiln(['run', '--group-by', GB, '--source', source, '--store', `embedded:${join(dir, 'inverted')}`, '--batch-records', '100', '--batch-records-max', '50'], {}, 30_000)
    assert.equal(inverted.code, 2, inverted.stderr)
    assert.match(logMessages(inverted.stderr), /--batch-records-max 50 is below --batch-records 100/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
