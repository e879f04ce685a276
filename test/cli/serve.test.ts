// `tilekiln serve`: the HTTP read API returns what `tilekiln fetch` returns, refuses bad requests clearly, and
// exposes Prometheus metrics.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { listeningUrl, startTilekiln, tilekiln } from '../helpers/cli.ts'
import { groupByPath, referencePath } from '../helpers/reference.ts'

const GB = groupByPath('airbnb-chronon/api/py/test/sample/production/group_bys/quickstart/returns.v1')
const CSV = referencePath('chronon', 'quickstart_events', 'returns.csv')

test('serve answers feature requests like fetch, with clear errors and metrics', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-serve-'))
  const store = `embedded:${join(dir, 'store')}`
  try {
    const r = await tilekiln(['run', '--group-by', GB, '--source', `file:${CSV}`, '--store', store, '--dead-letter', join(dir, 'dlq.jsonl'), '--progress', '0'])
    assert.equal(r.code, 0, r.stderr)
    const server = startTilekiln(['serve', '--group-by', GB, '--store', store, '--port', '0'])
    try {
      const base = await listeningUrl(server)
      const got = await (await fetch(`${base}/v1/features/quickstart.returns.v1?user_id=91&at=1701475200000`)).json() as { features: unknown, key: unknown }
      const cli = await tilekiln(['fetch', '--group-by', GB, '--store', store, '--key', 'user_id=91', '--at', '1701475200000', '--json'])
      assert.deepEqual(got.features, JSON.parse(cli.stdout))
      assert.deepEqual(got.key, { user_id: 91 })

      const bad = await fetch(`${base}/v1/features/quickstart.returns.v1?user=91`)
      assert.equal(bad.status, 400)
      assert.match(((await bad.json()) as { error: string }).error, /not a key column/)
      const notInt = await fetch(`${base}/v1/features/quickstart.returns.v1?user_id=abc`)
      assert.equal(notInt.status, 400)
      assert.equal((await fetch(`${base}/v1/features/nope`)).status, 404)
      const list = await (await fetch(`${base}/v1/group-bys`)).json() as { name: string }[]
      assert.equal(list[0]!.name, 'quickstart.returns.v1')
      const metrics = await (await fetch(`${base}/metrics`)).text()
      assert.match(metrics, /tilekiln_fetch_requests_total\{feature_group="serve"\} 1/)
      assert.match(metrics, /tilekiln_fetch_errors_total\{feature_group="serve"\} 2/)
    } finally {
      server.child.kill('SIGTERM')
      await server.done
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
