// The quickstart: Chronon's own returns.v1 GroupBy over its returns.csv, through the `tilekiln` command. The CSV is
// not in time order; as a bounded input nothing in it is late. Every user's features, fetched at several times,
// must equal the oracle computed straight from the CSV.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { T } from '../../src/api/data-type.ts'
import { compilePlan } from '../../src/config/plan.ts'
import { fetchFeatures, loadReadSide } from '../../src/fetch/tiled-read.ts'
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'
import { tilekiln } from '../helpers/cli.ts'
import { naiveColumns } from '../helpers/engine.ts'
import { groupByPath, referencePath } from '../helpers/reference.ts'
import { naiveFeatures, type NaiveEvent, tiledMode } from '../reference/naive.ts'
import { matchesNaive } from '../reference/naive-ops.ts'

const GB = groupByPath('airbnb-chronon/api/py/test/sample/production/group_bys/quickstart/returns.v1')
const CSV = referencePath('chronon', 'quickstart_events', 'returns.csv')

function csvEvents (): Map<number, NaiveEvent[]> {
  const lines = readFileSync(CSV, 'utf8').trim().split('\n')
  const header = lines[0]!.split(',')
  const byUser = new Map<number, NaiveEvent[]>()
  for (const line of lines.slice(1)) {
    const cells = line.split(',')
    const row = Object.fromEntries(header.map((h, i) => [h, cells[i]]))
    const user = Number(row.user_id)
    const ev = { ts: Number(row.ts), row: { user_id: user, refund_amt: Number(row.refund_amt) } }
    byUser.set(user, [...(byUser.get(user) ?? []), ev])
  }
  return byUser
}

test('tilekiln run + fetch on the quickstart returns.v1 GroupBy equals the oracle for every user', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-quickstart-'))
  try {
    const r = await tilekiln(['run', '--group-by', GB, '--source', `file:${CSV}`, '--store', `embedded:${join(dir, 'store')}`, '--until-end', '--workers', '2', '--dead-letter', join(dir, 'dlq.jsonl'), '--progress', '0', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const summary = JSON.parse(r.stdout)
    assert.equal(summary.records, 500)
    assert.equal(summary.deadLetters, 0)

    const plan = compilePlan(JSON.parse(readFileSync(GB, 'utf8')))
    const store = new EmbeddedStore(join(dir, 'store'), { readOnly: true })
    const read = await loadReadSide(plan, store)
    const columns = naiveColumns(plan, T.struct('Row', [{ name: 'user_id', type: T.int }, { name: 'refund_amt', type: T.int }]) as never)
    const byUser = csvEvents()
    const allTs = [...byUser.values()].flat().map(e => e.ts)
    const lo = Math.min(...allTs)
    const hi = Math.max(...allTs)
    const times = [lo + 86_400_000, Math.round((lo + hi) / 2), hi, hi + 1, hi + 3 * 86_400_000, hi + 20 * 86_400_000, 1701475200000]
    let compared = 0
    for (const [user, events] of byUser) {
      for (const q of times) {
        // the GroupBy's default rule (airbnb: latest) and both rules given, each against its oracle
        for (const rule of [undefined, 'start', 'latest'] as const) {
          const { features } = await fetchFeatures(read, store, [user], q, { headTile: rule })
          const expected = naiveFeatures(events, columns, q, plan.tileSizeMillis, tiledMode(rule ?? 'latest'))
          for (const c of columns) {
            assert.ok(matchesNaive(features[c.name], expected[c.name]), `user ${user} at ${q} (head tile ${rule ?? 'default'}): ${c.name} = ${JSON.stringify(features[c.name])}, oracle ${JSON.stringify(expected[c.name])}`)
            compared++
          }
        }
      }
    }
    await store.close()
    assert.equal(plan.flavour, 'airbnb')
    assert.ok(compared >= 3 * 100 * times.length * 9)

    // The command-line fetch prints the same object, by either rule (--head-tile).
    for (const user of [91, 5, 46]) {
      for (const rule of ['start', 'latest'] as const) {
        const f = await tilekiln(['fetch', '--group-by', GB, '--store', `embedded:${join(dir, 'store')}`, '--key', `user_id=${user}`, '--at', '1701475200000', '--head-tile', rule, '--json'])
        assert.equal(f.code, 0, f.stderr)
        const expected = naiveFeatures(byUser.get(user)!, columns, 1701475200000, plan.tileSizeMillis, tiledMode(rule))
        const got = JSON.parse(f.stdout)
        for (const c of columns) assert.ok(matchesNaive(got[c.name], expected[c.name]), `${rule}: ${c.name}: ${got[c.name]} vs ${expected[c.name]}`)
      }
    }
    const bad = await tilekiln(['fetch', '--group-by', GB, '--store', `embedded:${join(dir, 'store')}`, '--key', 'user_id=91', '--head-tile', 'end'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /--head-tile must be start or latest, got 'end'/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
