// `tilekiln fetch --rollups` and `tilekiln serve --rollups`: the readers' choice of rolled-up tiles, named and
// spelled as run's flag. On Chronon's quickstart returns.v1 (1-hour tiles, windows of 3–30 days: the run rolls them up
// into day tiles), `none` reads the GroupBy's own tiles only, `auto` and `1d` take day tiles where there are some:
// the same features from many more tiles. A size the GroupBy cannot have is refused, as run refuses it.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { listeningUrl, logMessages, startTilekiln, tilekiln } from '../helpers/cli.ts'
import { groupByPath, referencePath } from '../helpers/reference.ts'

const GB = groupByPath('airbnb-chronon/api/py/test/sample/production/group_bys/quickstart/returns.v1')
const CSV = referencePath('chronon', 'quickstart_events', 'returns.csv')
const AT = '1701475200000' // 2023-12-02, after the last event
const USERS = [91, 7, 42, 150]

/** `fetch` in text form: the features it prints and the tiles it says it read. */
async function fetchText (store: string, user: number, extra: readonly string[], env: Record<string, string> = {}): Promise<{ tiles: number, lines: string[] }> {
  const r = await tilekiln(['fetch', '--group-by', GB, '--store', store, '--key', `user_id=${user}`, '--at', AT, ...extra], env, 60_000)
  assert.equal(r.code, 0, r.stderr)
  const [head, ...lines] = r.stdout.trim().split('\n')
  const m = /\((\d+) tile\(s\)\)$/.exec(head!)
  assert.ok(m !== null, head)
  return { tiles: Number(m[1]), lines }
}

test('fetch and serve --rollups none read fine tiles only: same features, more tiles; bad sizes are refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-fetch-rollups-'))
  const store = `embedded:${join(dir, 'store')}`
  try {
    const r = await tilekiln(['run', '--group-by', GB, '--source', `file:${CSV}`, '--store', store, '--dead-letter', join(dir, 'dlq.jsonl'), '--progress', '0'])
    assert.equal(r.code, 0, r.stderr)

    let fewer = 0
    const none = new Map<number, number>()
    for (const user of USERS) {
      const auto = await fetchText(store, user, [])
      const fine = await fetchText(store, user, ['--rollups', 'none'])
      const day = await fetchText(store, user, ['--rollups', '1d'])
      const json = await tilekiln(['fetch', '--group-by', GB, '--store', store, '--key', `user_id=${user}`, '--at', AT, '--json', '--rollups', 'none'], {}, 60_000)
      assert.equal(json.code, 0, json.stderr)
      assert.deepEqual(fine.lines, auto.lines, `user ${user}: the same features either way`)
      assert.deepEqual(day.lines, auto.lines)
      assert.equal(day.tiles, auto.tiles, 'day tiles are all the GroupBy can have')
      assert.ok(fine.tiles >= auto.tiles)
      if (fine.tiles > auto.tiles) fewer++
      none.set(user, fine.tiles)
      // the environment variable and a config file say the same
      assert.equal((await fetchText(store, user, [], { TILEKILN_ROLLUPS: 'none' })).tiles, fine.tiles)
      const config = join(dir, 'config.json')
      writeFileSync(config, JSON.stringify({ rollups: 'none' }))
      assert.equal((await fetchText(store, user, ['--config', config])).tiles, fine.tiles)
    }
    assert.ok(fewer >= 2, `only ${fewer} of ${USERS.length} users read fewer tiles with day tiles`)

    // serve --rollups none answers with fetch --rollups none's tile count and fetch's features
    const server = startTilekiln(['serve', '--group-by', GB, '--store', store, '--port', '0', '--rollups', 'none'], {}, 120_000)
    try {
      const url = await listeningUrl(server)
      for (const user of USERS) {
        const got = await (await fetch(`${url}/v1/features/quickstart.returns.v1?user_id=${user}&at=${AT}`)).json() as { tilesRead: number, features: unknown }
        const cli = await tilekiln(['fetch', '--group-by', GB, '--store', store, '--key', `user_id=${user}`, '--at', AT, '--json'], {}, 60_000)
        assert.deepEqual(got.features, JSON.parse(cli.stdout))
        assert.equal(got.tilesRead, none.get(user))
      }
    } finally {
      server.child.kill('SIGTERM')
      await server.done
    }

    // 1-hour tiles cannot be rolled up into 1-hour tiles; 'weekly' is no size at all
    for (const cmd of ['fetch', 'serve']) {
      const extra = cmd === 'fetch' ? ['--key', 'user_id=91'] : ['--port', '0']
      const hour = await tilekiln([cmd, '--group-by', GB, '--store', store, ...extra, '--rollups', '1h'], {}, 60_000)
      assert.equal(hour.code, 2, `${cmd}: ${hour.stderr}`)
      assert.match(logMessages(hour.stderr), /--rollups: the GroupBy's tiles are 3600000 ms; rolled-up tiles of 3600000 ms cannot be made of them/)
      const bad = await tilekiln([cmd, '--group-by', GB, '--store', store, ...extra, '--rollups', 'weekly'], {}, 60_000)
      assert.equal(bad.code, 2, `${cmd}: ${bad.stderr}`)
      assert.match(logMessages(bad.stderr), /bad --rollups 'weekly': use auto, none, or a comma list of 1h, 1d/)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
