// `tilekiln run --untiled` on Chronon's quickstart returns.v1 and returns.csv, through the command: one stored event
// per CSV row (dump), and `tilekiln fetch --json`, which finds out from the stored serving info that it must read
// events, equals the untiled oracle (ts < Q) for every user.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { T } from '../../src/api/data-type.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { tilekiln } from '../helpers/cli.ts'
import { naiveColumns } from '../helpers/engine.ts'
import { groupByPath, referencePath } from '../helpers/reference.ts'
import { naiveFeatures, type NaiveEvent } from '../reference/naive.ts'
import { matchesNaive } from '../reference/naive-ops.ts'

const GB = groupByPath('airbnb-chronon/api/py/test/sample/production/group_bys/quickstart/returns.v1')
const CSV = referencePath('chronon', 'quickstart_events', 'returns.csv')

test('tilekiln run --untiled + fetch on the quickstart returns.v1: one entry per row, fetch = the untiled oracle', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-untiled-cli-'))
  try {
    const store = `embedded:${join(dir, 'store')}`
    const r = await tilekiln(['run', '--untiled', '--group-by', GB, '--source', `file:${CSV}`, '--store', store, '--workers', '2', '--dead-letter', join(dir, 'dlq.jsonl'), '--progress', '0', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(JSON.parse(r.stdout).tilesWritten, 500)
    const dump = await tilekiln(['dump', '--store', store])
    assert.equal(dump.stdout.trim().split('\n').length, 1 + 500)

    const lines = readFileSync(CSV, 'utf8').trim().split('\n')
    const header = lines[0]!.split(',')
    const byUser = new Map<number, NaiveEvent[]>()
    for (const line of lines.slice(1)) {
      const row = Object.fromEntries(header.map((h, i) => [h, line.split(',')[i]]))
      const user = Number(row.user_id)
      byUser.set(user, [...(byUser.get(user) ?? []), { ts: Number(row.ts), row: { user_id: user, refund_amt: Number(row.refund_amt) } }])
    }
    const plan = compilePlan(JSON.parse(readFileSync(GB, 'utf8')))
    const columns = naiveColumns(plan, T.struct('Row', [{ name: 'user_id', type: T.int }, { name: 'refund_amt', type: T.int }]) as never)
    const allTs = [...byUser.values()].flat().map(e => e.ts).sort((a, b) => a - b)
    // Just after an event, and mid-tile (1 h tiles): the tiled read would count the whole tile.
    const times = [allTs[100]! + 1, allTs[250]! + 1_800_000, allTs[499]! + 1, 1701475200000]
    for (const user of [...byUser.keys()].slice(0, 5)) {
      const events = byUser.get(user)!.sort((a, b) => a.ts - b.ts)
      for (const q of times) {
        const f = await tilekiln(['fetch', '--group-by', GB, '--store', store, '--key', `user_id=${user}`, '--at', String(q), '--json'])
        assert.equal(f.code, 0, f.stderr)
        const features = JSON.parse(f.stdout) as Record<string, unknown>
        const expected = naiveFeatures(events, columns, q, plan.tileSizeMillis, 'untiled')
        for (const c of columns) assert.ok(matchesNaive(features[c.name], expected[c.name]), `user ${user} at ${q}: ${c.name} = ${JSON.stringify(features[c.name])}, oracle ${JSON.stringify(expected[c.name])}`)
      }
    }
    const text = await tilekiln(['fetch', '--group-by', GB, '--store', store, '--key', 'user_id=91', '--at', '1701475200000'])
    assert.match(text.stdout, /\(9 event\(s\)\)/)

    const bad = await tilekiln(['run', '--untiled', '--trigger', 'buffered:100', '--group-by', GB, '--source', `file:${CSV}`, '--store', store])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /drop one of --trigger and --untiled/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
