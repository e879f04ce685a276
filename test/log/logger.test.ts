// The one logger: JSON lines off a terminal, readable lines on one, per-class rate limits, and nothing else writing
// to stderr.
import assert from 'node:assert/strict'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { test } from 'node:test'
import { createLogger, Limiter, lineLogger } from '../../src/log/logger.ts'
import { tilekiln } from '../helpers/cli.ts'
import { repoRoot } from '../helpers/reference.ts'
import { tempDir } from '../hardening/helpers.ts'

function sink (tty: boolean): { stream: Writable & { isTTY?: boolean }, text: () => string } {
  let out = ''
  const stream = new Writable({ write (chunk, _enc, cb) { out += String(chunk); cb() } }) as Writable & { isTTY?: boolean }
  stream.isTTY = tty
  return { stream, text: () => out }
}

test('JSON lines when the stream is not a terminal: level name, ISO time, message and fields', () => {
  const s = sink(false)
  const log = createLogger({ stream: s.stream as never })
  log.info({ partition: 3 }, 'partition 3: took over at offset 10')
  log.debug('not shown at info')
  const lines = s.text().trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
  assert.equal(lines.length, 1)
  assert.equal(lines[0]!.level, 'info')
  assert.equal(lines[0]!.msg, 'partition 3: took over at offset 10')
  assert.equal(lines[0]!.partition, 3)
  assert.equal(lines[0]!.name, 'tilekiln')
  assert.match(String(lines[0]!.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
})

test('readable lines on a terminal: time of day, level, message, fields as key=value', () => {
  const s = sink(true)
  const log = createLogger({ stream: s.stream as never, level: 'debug' })
  log.warn({ store: 'redis://x' }, 'the store is slow')
  log.debug('details')
  const lines = s.text().replace(/\x1b\[[0-9;]*m/g, '').trim().split('\n')
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} WARN {2}the store is slow store=redis:\/\/x$/)
  assert.match(lines[1]!, /^\d\d:\d\d:\d\d\.\d{3} DEBUG details$/)
})

test('rate limit per class of trouble: one line per interval, then the count of those left out', () => {
  const lines: string[] = []
  const log = lineLogger(l => lines.push(l))
  const limiter = new Limiter(10_000)
  for (let i = 1; i <= 5; i++) limiter.log(log, 'warn', `store write failed (attempt ${i})`, {}, undefined, 1000 + i)
  limiter.log(log, 'warn', 'another kind of trouble', {}, undefined, 1010)
  limiter.log(log, 'warn', 'store write failed (attempt 6)', {}, undefined, 12_000)
  assert.deepEqual(lines, ['store write failed (attempt 1)', 'another kind of trouble', 'store write failed (attempt 6) (and 4 more like it since the last report)'])
})

test('nothing in src/ writes to stderr or the console by hand', () => {
  const offenders: string[] = []
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f)
      if (statSync(p).isDirectory()) { walk(p); continue }
      if (!p.endsWith('.ts')) continue
      readFileSync(p, 'utf8').split('\n').forEach((line, i) => {
        if (/^\s*(\/\/|\*)/.test(line)) return
        // The embedded store filters lmdb-js's own console.error prints (and passes the rest on).
        if (p.endsWith('embedded-store.ts') && /console\.error/.test(line)) return
        if (/process\.stderr\.write|console\.(log|error|warn|info)\(/.test(line)) offenders.push(`${p}:${i + 1}: ${line.trim()}`)
      })
    }
  }
  walk(join(repoRoot, 'src'))
  assert.deepEqual(offenders, [])
})

test('tilekiln run: JSON lines on a pipe, --log-level warn hides the lifecycle lines, --log-format pretty is readable', { timeout: 120_000 }, async () => {
  const tmp = tempDir('log-cli')
  try {
    const args = (store: string): string[] => ['run', '--group-by', 'examples/group_bys/clicks.v1.json', '--source', 'generator:keys=10,count=2000,seed=1', '--store', `embedded:${join(tmp.dir, store)}`, '--until-end', '--dead-letter', join(tmp.dir, 'dlq.jsonl'), '--progress', '0']
    const json = await tilekiln(args('a'))
    assert.equal(json.code, 0, json.stderr)
    const lines = json.stderr.trim().split('\n').map(l => JSON.parse(l) as { level: string, msg: string })
    assert.ok(lines.some(l => l.level === 'info' && /^running examples\.clicks\.v1 /.test(l.msg)), 'the start line')
    assert.ok(lines.some(l => /^done\. 2,000 events/.test(l.msg)), 'the end line')
    // Nothing at warn or above either: with a store deadline far beyond any commit, since the writer rightly warns
    // of a store slower than its deadline (1 s by default), and on a loaded machine an LMDB commit can take that long.
    const quiet = await tilekiln([...args('b'), '--log-level', 'warn', '--kv-timeout', '600000'])
    assert.equal(quiet.code, 0, quiet.stderr)
    assert.equal(quiet.stderr, '')
    const pretty = await tilekiln([...args('c'), '--log-format', 'pretty'])
    assert.equal(pretty.code, 0, pretty.stderr)
    assert.match(pretty.stderr, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}running examples\.clicks\.v1 /m)
    const bad = await tilekiln([...args('d'), '--log-level', 'loud'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /--log-level must be fatal or error or warn or info or debug or trace or silent/)
  } finally {
    tmp.remove()
  }
})
