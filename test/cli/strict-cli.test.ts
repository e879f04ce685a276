// The command line refuses what it cannot honour, and says what was probably meant: unknown flags, stray arguments,
// unknown config keys, out-of-range numbers, times in seconds; readers refuse a missing store; a run refuses to
// change the key schema a store was written with. And what it offers works: --version, per-command help,
// `embedded:DIR` on any empty directory, and dump's GroupBy/key filters and decoded JSON.
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { logMessages, tilekiln } from '../helpers/cli.ts'
import { repoRoot } from '../helpers/reference.ts'

const GB = join(repoRoot, 'examples', 'group_bys', 'clicks.v1.json')

function tempDir (): { dir: string, [Symbol.dispose]: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-cli-'))
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) }
}

async function usageError (args: string[], pattern: RegExp): Promise<void> {
  const r = await tilekiln(args, {}, 30_000)
  assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`)
  assert.match(logMessages(r.stderr), pattern)
}

test('unknown flags, short flags and stray arguments are refused with a did-you-mean', async () => {
  await usageError(['run', '--worker', '2'], /unknown option --worker for 'run'; did you mean --workers\?/)
  await usageError(['run', '-w', '2'], /unknown option -w .*did you mean --workers\?/)
  await usageError(['run', '--group-by', GB, 'extra'], /unexpected argument 'extra'/)
  await usageError(['run', '--until-end', 'yes'], /--until-end takes no value/)
  await usageError(['fetch', 'store'], /unexpected argument 'store'.*did you mean --store\?/)
  await usageError(['frtch'], /unknown command 'frtch'; did you mean 'fetch'\?/)
  await usageError(['run', '--kafka-library', 'platformatik'], /--kafka-library must be kafkajs or platformatic, got 'platformatik'; did you mean platformatic\?/)
})

test('numbers are bounded: --workers from 1 to cores × 4', async () => {
  const max = Math.min(31, availableParallelism() * 4)
  await usageError(['run', '--workers', '0'], new RegExp(`--workers must be an integer from 1 to ${max}, got 0`))
  await usageError(['run', '--workers', String(max + 1)], new RegExp(`--workers must be an integer from 1 to ${max}`))
  await usageError(['run', '--workers', '1.5'], /--workers must be an integer/)
  await usageError(['run', '--workers', '2s'], /--workers must be a whole number, got '2s'/)
  await usageError(['run', '--metrics-port', '70000'], /--metrics-port must be an integer from 0 to 65535/)
  const env = await tilekiln(['run', '--group-by', GB], { TILEKILN_WORKERS: '0' }, 30_000)
  assert.equal(env.code, 2)
  assert.match(env.stderr, /TILEKILN_WORKERS must be an integer from 1/)
})

test('config files: unknown keys are refused, keys of other commands are left alone', async () => {
  using t = tempDir()
  const bad = join(t.dir, 'bad.json')
  writeFileSync(bad, JSON.stringify({ workerz: 2 }))
  await usageError(['run', '--config', bad], /unknown key "workerz"; did you mean "workers"\?/)
  // `port` is serve's, `workers` run's: one file can hold both; fetch takes neither and complains of neither.
  const shared = join(t.dir, 'shared.json')
  writeFileSync(shared, JSON.stringify({ workers: 2, port: 0, groupBy: GB, store: `embedded:${join(t.dir, 'none')}` }))
  const r = await tilekiln(['fetch', '--config', shared, '--key', 'user_id=1'], {}, 30_000)
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, /there is no embedded store at/)
  writeFileSync(bad, JSON.stringify({ workers: 0 }))
  await usageError(['run', '--config', bad], /"workers" must be an integer from 1/)
  writeFileSync(bad, '[1]')
  await usageError(['run', '--config', bad], /must hold one JSON object/)
})

test('--version and per-command help', async () => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'))
  const v = await tilekiln(['--version'], {}, 30_000)
  assert.equal(v.code, 0)
  assert.match(v.stdout, new RegExp(`^tilekiln ${pkg.version.replace(/\./g, '\\.')} `))
  const h = await tilekiln(['run', '--help'], {}, 30_000)
  assert.equal(h.code, 0)
  assert.match(h.stdout, /^tilekiln run — /)
  assert.match(h.stdout, /--workers N .*\[1 … \d+\]/)
  assert.doesNotMatch(h.stdout, /tilekiln fetch/)
  const f = await tilekiln(['help', 'fetch'], {}, 30_000)
  assert.match(f.stdout, /--at TIME .*ISO-8601/)
})

test('fetch --at takes ISO-8601 and epoch ms, and refuses what looks like seconds', async () => {
  using t = tempDir()
  // mktemp -d makes names with a dot (tmp.Xy12ab): LMDB must not take it for a file name.
  const storeDir = join(t.dir, 'tmp.AbC123')
  mkdirSync(storeDir)
  const store = `embedded:${storeDir}`
  const start = Date.UTC(2023, 11, 1)
  const run = await tilekiln(['run', '--group-by', GB, '--source', `generator:keys=10,count=1000,start=${start},step=60000`, '--store', store, '--until-end', '--progress', '0', '--dead-letter', join(t.dir, 'dl.jsonl')], {}, 120_000)
  assert.equal(run.code, 0, run.stderr)
  const at = start + 2 * 86_400_000
  const ms = await tilekiln(['fetch', '--group-by', GB, '--store', store, '--key', 'user_id=3', '--at', String(at), '--json'], {}, 30_000)
  assert.equal(ms.code, 0, ms.stderr)
  const features = JSON.parse(ms.stdout)
  assert.ok(Object.values(features).some(v => v !== null), ms.stdout)
  for (const iso of ['2023-12-03', '2023-12-03T00:00:00Z', '2023-12-03T00:00:00.000Z', '2023-12-03T01:00:00+01:00', '2023-12-03T00:00']) {
    const r = await tilekiln(['fetch', '--group-by', GB, '--store', store, '--key', 'user_id=3', '--at', iso, '--json'], {}, 30_000)
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout), features, iso)
  }
  await usageError(['fetch', '--group-by', GB, '--store', store, '--key', 'user_id=3', '--at', String(at / 1000)], new RegExp(`looks like epoch seconds.*give milliseconds, ${at} \\(2023-12-03T00:00:00.000Z\\)`))
  await usageError(['fetch', '--group-by', GB, '--store', store, '--key', 'user_id=3', '--at', '2023-02-30'], /is not a date that exists/)
  await usageError(['fetch', '--group-by', GB, '--store', store, '--key', 'user_id=3', '--at', 'yesterday'], /--at must be an ISO-8601 time/)
  await usageError(['fetch', '--group-by', GB, '--store', store, '--key', 'userid=3'], /'userid' is not a key column of examples.clicks.v1; did you mean user_id\?/)
})

test('fetch, serve and dump on a missing store are errors; run creates it', async () => {
  using t = tempDir()
  const missing = `embedded:${join(t.dir, 'nothing-here')}`
  for (const args of [
    ['fetch', '--group-by', GB, '--store', missing, '--key', 'user_id=1'],
    ['serve', '--group-by', GB, '--store', missing, '--port', '0'],
    ['dump', '--store', missing],
    ['dump', '--store', `embedded:${t.dir}`]
  ]) {
    const r = await tilekiln(args, {}, 30_000)
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`)
    assert.match(r.stderr, /there is no embedded store at .*\[TK_STORE\]/)
  }
})

test('a run whose key schema differs from the store\'s is refused with both schemas, unless told to replace it', async () => {
  using t = tempDir()
  const store = `embedded:${join(t.dir, 'store')}`
  const numeric = join(t.dir, 'a.csv')
  const text = join(t.dir, 'b.csv')
  writeFileSync(numeric, 'user_id,price,ts\n1,2.5,1701475200000\n2,3.5,1701475260000\n')
  writeFileSync(text, 'user_id,price,ts\n1,2.5,1701475200000\nu-2,3.5,1701475260000\n')
  const run = (file: string, ...more: string[]): ReturnType<typeof tilekiln> =>
    tilekiln(['run', '--group-by', GB, '--source', `file:${file}`, '--store', store, '--progress', '0', '--dead-letter', join(t.dir, 'dl.jsonl'), ...more], {}, 120_000)
  const first = await run(numeric)
  assert.equal(first.code, 0, first.stderr)
  const again = await run(numeric)
  assert.equal(again.code, 0, again.stderr)
  const flipped = await run(text)
  assert.equal(flipped.code, 1, flipped.stderr)
  assert.match(flipped.stderr, /the store has \(user_id: int\), this run has \(user_id: string\).*--replace-key-schema/)
  const dumpBefore = await tilekiln(['dump', '--store', store], {}, 30_000)
  const forced = await run(text, '--replace-key-schema')
  assert.equal(forced.code, 0, forced.stderr)
  const dumpAfter = await tilekiln(['dump', '--store', store], {}, 30_000)
  assert.notEqual(dumpAfter.stdout, dumpBefore.stdout)
  const untiled = await run(text, '--untiled')
  assert.equal(untiled.code, 1)
  assert.match(untiled.stderr, /the store holds this GroupBy tiled, this run is untiled/)
})

test('dump filters by GroupBy and key, in key order, and decodes tiles as JSON', async () => {
  using t = tempDir()
  const store = `embedded:${join(t.dir, 'store')}`
  const other = join(t.dir, 'other.json')
  const gb = JSON.parse(readFileSync(GB, 'utf8'))
  gb.metaData.name = 'examples.other.v1'
  writeFileSync(other, JSON.stringify(gb))
  const common = ['--store', store, '--until-end', '--progress', '0', '--dead-letter', join(t.dir, 'dl.jsonl')]
  const start = Date.UTC(2023, 11, 1)
  for (const g of [GB, other]) {
    const r = await tilekiln(['run', '--group-by', g, '--source', `generator:keys=5,count=400,start=${start},step=60000`, ...common], {}, 120_000)
    assert.equal(r.code, 0, r.stderr)
  }
  const all = (await tilekiln(['dump', '--store', store], {}, 30_000)).stdout.trim().split('\n')
  const mine = (await tilekiln(['dump', '--store', store, '--group-by', GB], {}, 30_000)).stdout.trim().split('\n')
  const theirs = (await tilekiln(['dump', '--store', store, '--group-by', other], {}, 30_000)).stdout.trim().split('\n')
  assert.ok(mine.length > 1 && theirs.length > 1)
  assert.deepEqual([...mine, ...theirs].sort(), all, 'the two GroupBys partition the whole dump')
  assert.deepEqual([...mine].sort(), mine, 'hex lines in key order')
  const json = (await tilekiln(['dump', '--store', store, '--group-by', GB, '--key', 'user_id=2', '--json'], {}, 30_000)).stdout.trim().split('\n').map(l => JSON.parse(l))
  assert.ok(json.length > 1)
  const starts = json.map(x => x.tileStartMillis)
  assert.deepEqual(starts, [...starts].sort((a, b) => a - b), 'tiles by start')
  // 5-minute tiles, and (clicks.v1 has windows of a day and more: --rollups auto) rolled-up hour and day tiles, all
  // closed at the end of the input: each holds every event of the key once.
  const count = new Map<number, number>()
  for (const x of json) {
    assert.deepEqual(x.key, { user_id: 2 })
    assert.ok([300_000, 3_600_000, 86_400_000].includes(x.tileSizeMillis), `tile size ${x.tileSizeMillis}`)
    assert.equal(typeof x.isComplete, 'boolean')
    assert.deepEqual(Object.keys(x.irs), ['price_sum', 'price_count', 'price_average'])
    count.set(x.tileSizeMillis, (count.get(x.tileSizeMillis) ?? 0) + x.irs.price_count)
  }
  assert.deepEqual([...count.keys()].sort((a, b) => a - b), [300_000, 3_600_000, 86_400_000])
  assert.equal(new Set(count.values()).size, 1, `events per tile size: ${JSON.stringify([...count])}`)
  // Every event of key 2 is in exactly one tile (generator: keys round-robin over 400 events … counted from the dump).
  const hexOfKey = (await tilekiln(['dump', '--store', store, '--group-by', GB, '--key', 'user_id=2'], {}, 30_000)).stdout.trim().split('\n')
  assert.equal(hexOfKey.length, json.length)
  assert.ok(count.get(300_000)! > 0)
  await usageError(['dump', '--store', store, '--json'], /--json decodes with the GroupBy: give --group-by FILE/)
})
