// Readers on a Redis store that holds nothing under their prefix (a typo, another database) fail and say so,
// rather than printing nothing or answering "no features".
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import { tilekiln } from '../helpers/cli.ts'
import { repoRoot } from '../helpers/reference.ts'

const REDIS = process.env.TILEKILN_TEST_REDIS
const skip = REDIS === undefined ? 'needs Redis: run through `npm test`' : false
const GB = join(repoRoot, 'examples', 'group_bys', 'returns.v1.json')

test('dump, fetch and serve on an empty Redis prefix are errors', { skip }, async () => {
  const store = `${REDIS!}/0?prefix=nothing-here-${process.pid}`
  const dump = await tilekiln(['dump', '--store', store], {}, 30_000)
  assert.equal(dump.code, 1, dump.stderr)
  assert.match(dump.stderr, /holds nothing: check the store spec/)
  const fetch = await tilekiln(['fetch', '--group-by', GB, '--store', store, '--key', 'user_id=7'], {}, 30_000)
  assert.equal(fetch.code, 1, fetch.stderr)
  assert.match(fetch.stderr, /the store has no tiles for GroupBy 'examples.returns.v1' \(no serving info\)/)
  const serve = await tilekiln(['serve', '--group-by', GB, '--store', store, '--port', '0'], {}, 30_000)
  assert.equal(serve.code, 1, serve.stderr)
  assert.match(serve.stderr, /no serving info/)
  // And once a run wrote there, dump lists it.
  const run = await tilekiln(['run', '--group-by', GB, '--source', `file:${join(repoRoot, 'examples', 'events', 'returns.csv')}`, '--store', store, '--progress', '0', '--dead-letter', '/dev/null'], {}, 120_000)
  assert.equal(run.code, 0, run.stderr)
  const again = await tilekiln(['dump', '--store', store], {}, 30_000)
  assert.equal(again.code, 0, again.stderr)
  assert.ok(again.stdout.split('\n').length > 100)
})
