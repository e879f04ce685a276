// The whole test suite, and the one command CI runs (`npm test` → this file). It installs and builds when needed,
// starts the real services the integration tests use (Kafka broker, Redis) on 127.0.0.1, runs every
// dist/test/**/*.test.js with node:test, and stops the services again, whatever happens.
//
//   npm test                   everything
//   npm test -- --unit         only tests that need no external service (skips test/integration/)
//   npm test -- <substring>…   only test files whose path contains one of the substrings
//   npm test -- --lanes N      N integration files at a time (default 2; see below)
//   npm test -- --serial       one file at a time, everything in one live stream
//   npm test -- --node 24      the same on another Node major, installed from the npm registry's `node` package into
//                              .tilekiln/runtimes/ on first use (CI runs the suite on the machine's Node and on 24)
//
// It ends with a timing report (each file's time and lane, each stream's time, the test totals), also written to
// test-output/test-times.json, and with the test-count check: each file's tests (names and counts, from a second
// reporter, scripts/test-events-reporter.mjs) are compared with what the same file content registered on the other
// Node majors and on this one's previous run (scripts/test-counts.mjs, records in .tilekiln/test-counts/); a file
// that registered other tests fails the run.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { delimiter, dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { nodeRuntime } from './node-runtime.mjs'
import { checkAndRecord, contentHasher, plural, readEvents, RECORD_DIR, testsByFile } from './test-counts.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

// --node MAJOR: run this very script again on that Node, with its bin first on PATH, so that everything the tests
// spawn (process.execPath, `node`, `npm start` in the README test) runs on it too.
const nodeFlag = process.argv.indexOf('--node')
if (nodeFlag !== -1) {
  const major = process.argv[nodeFlag + 1] ?? ''
  const rest = process.argv.slice(2).filter((_, i) => i !== nodeFlag - 2 && i !== nodeFlag - 1)
  let node
  try {
    node = nodeRuntime(major)
  } catch (e) {
    console.error(`tilekiln: --node: ${e.message}`)
    process.exit(2)
  }
  const bin = dirname(node)
  const version = spawnSync(node, ['--version'], { encoding: 'utf8', timeout: 30_000 }).stdout.trim()
  console.error(`tilekiln: running the tests on Node ${version} (${relative(root, node)})`)
  const child = spawn(node, [fileURLToPath(import.meta.url), ...rest], {
    cwd: root, stdio: 'inherit', env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` }
  })
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
  child.on('exit', (c, sig) => process.exit(c ?? (sig ? 1 : 0)))
  await new Promise(() => {}) // the child's exit ends this process
}

const boot = spawnSync(process.execPath, [join(root, 'scripts', 'bootstrap.mjs')], { cwd: root, stdio: 'inherit' })
if (boot.status !== 0) process.exit(boot.status ?? 1)

const args = process.argv.slice(2)
const unitOnly = args.includes('--unit')
const lanesFlag = args.indexOf('--lanes')
const lanes = lanesFlag === -1 ? 2 : Number(args[lanesFlag + 1])
if (!Number.isInteger(lanes) || lanes < 1 || lanes > 8) {
  console.error(`tilekiln: --lanes takes a number of integration files to run at a time, 1 to 8 (got "${args[lanesFlag + 1] ?? ''}")`)
  process.exit(2)
}
const filters = args.filter((a, i) => !a.startsWith('--') && !(lanesFlag !== -1 && i === lanesFlag + 1))

function walk (dir, out = []) {
  if (!existsSync(dir)) return out
  for (const f of readdirSync(dir)) {
    const p = join(dir, f)
    if (statSync(p).isDirectory()) walk(p, out)
    else if (p.endsWith('.test.js')) out.push(p)
  }
  return out
}

// dist/ keeps the output of a test whose source was since deleted or renamed (the build adds, it never removes): only
// compiled tests with a source in test/ run.
let files = walk(join(root, 'dist', 'test')).sort().filter(f => existsSync(join(root, relative(join(root, 'dist'), f).replace(/\.js$/, '.ts'))))
if (unitOnly) files = files.filter(f => !relative(root, f).includes(`${join('test', 'integration')}`))
if (filters.length > 0) files = files.filter(f => filters.some(s => relative(root, f).includes(s)))
if (files.length === 0) {
  console.error('no test files matched')
  process.exit(1)
}

// How the files run. The unit files (CPU only, ~5 min together on a quiet 2-core machine) are one `node --test`
// stream. The integration files (Kafka, Redis, daemons: much of their time is spent waiting on sessions, rebalances,
// restarts and other processes) run one `node --test` process per file, `lanes` files at a time beside the unit
// stream, longest first (EXPECTED below), each lane taking the next file when its last one ends. A file's report is
// printed whole when it ends (the files of other lanes would interleave with it), so the log reads file by file.
// Files in ALONE run last, one at a time, once the lanes and the unit stream are done: they load both cores on purpose
// (CPU burners) and bound a recovery time, which a neighbour's load would turn into a coin toss.
// `--serial` runs every file one after the other in one live stream, as a single `node --test` run.
const isIntegration = f => relative(root, f).includes(join('test', 'integration'))
const integrationFiles = files.filter(isIntegration)
const unitFiles = files.filter(f => !isIntegration(f))
const serial = args.includes('--serial')

/** About the seconds each integration file takes on the 2-core development machine (from the timing report); only their
 * order matters: the longest start first, so that the lanes end together. A file not listed counts as 30 s. */
const EXPECTED = {
  'kafka-crash.test.js': 120,
  'kafka-group.test.js': 115,
  'scale-out-repartition.test.js': 100,
  'scale-out-cluster.test.js': 90,
  'scale-out-redis.test.js': 90,
  'kafka-client.test.js': 90,
  'kafka-engine.test.js': 60,
  'readme.test.js': 55,
  'redis-store.test.js': 55,
  'bench-smoke.test.js': 40,
  'kafka-records.test.js': 40,
  'kafka-untiled.test.js': 31,
  'schema-registry.test.js': 21,
  'redis-writer-stall.test.js': 19,
  'redis-untiled.test.js': 12,
  'redis-conformance.test.js': 5,
  'redis-cli-readers.test.js': 3
}
const ALONE = new Set(['kafka-broker-restart.test.js'])
const base = f => f.slice(f.lastIndexOf('/') + 1)
const expected = f => EXPECTED[base(f)] ?? 30

// An integration file still running after 25 minutes (the unit stream, or a --serial run of everything: after 90) is
// killed with everything it started: tests carry their own timeouts, this is the net under them.
const FILE_TIMEOUT_MS = 25 * 60_000
const STREAM_TIMEOUT_MS = 90 * 60_000

let services = null
const env = { ...process.env }
const children = new Set()
const stopServices = async () => {
  if (services !== null) {
    const s = services
    services = null
    await s.stop()
  }
}
// Each `node --test` run leads a process group of its own (it, the test files, the daemons and brokers they start), so
// a timeout or Ctrl-C ends all of it.
const signalGroup = (child, sig) => { try { process.kill(-child.pid, sig) } catch {} }
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of children) signalGroup(c, sig)
    stopServices().finally(() => process.exit(130))
  })
}

// Beside spec (on stdout, as before), each `node --test` run writes the events that say which tests each file
// registered to a file of test-output/test-events/node<major>/ (one directory per major: CI runs two, one after the
// other, and a developer may run them at once), for the test-count check at the end. That reporter writes its file
// itself (see why in it) and nothing to its destination, stdout (a file or /dev/null there: Node 24 fsyncs it on
// close, which /dev/null refuses with EINVAL and the run then crashes).
const EVENTS_REPORTER = pathToFileURL(join(root, 'scripts', 'test-events-reporter.mjs')).href
const eventsDir = join(root, 'test-output', 'test-events', `node${process.versions.node.split('.')[0]}`)
rmSync(eventsDir, { recursive: true, force: true })
mkdirSync(eventsDir, { recursive: true })
const streams = [] // { what, files, events, code, killed }: one per `node --test` run, for the test-count check

/** Runs `node --test` on `runFiles`, its output collected and, if `live`, also passed on as it comes. Resolves with
 * the exit code, the output and the seconds it took. */
function runTests (runFiles, runEnv, live, what, timeoutMs = FILE_TIMEOUT_MS) {
  return new Promise(resolve => {
    const t0 = Date.now()
    const events = join(eventsDir, `${what.replace(/[^A-Za-z0-9.-]+/g, '_')}.jsonl`)
    const reporters = ['--test-reporter=spec', '--test-reporter-destination=stdout', `--test-reporter=${EVENTS_REPORTER}?out=${encodeURIComponent(events)}`, '--test-reporter-destination=stdout']
    const child = spawn(process.execPath, ['--test', ...reporters, ...runFiles], {
      cwd: root, env: runEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe']
    })
    children.add(child)
    const out = []
    child.stdout.on('data', d => { out.push(d); if (live) process.stdout.write(d) })
    child.stderr.on('data', d => { out.push(d); if (live) process.stderr.write(d) })
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; signalGroup(child, 'SIGKILL') }, timeoutMs)
    child.on('exit', (c, sig) => {
      clearTimeout(timer)
      children.delete(child)
      // The test files' own children (daemons, brokers) are in the group: none may outlive the run.
      signalGroup(child, 'SIGKILL')
      let output = Buffer.concat(out).toString('utf8')
      if (timedOut) {
        const msg = `\ntilekiln: ${what} was still running after ${timeoutMs / 60_000} min: killed\n`
        output += msg
        if (live) process.stderr.write(msg)
      }
      const code = timedOut ? 124 : (c ?? (sig ? 1 : 0))
      streams.push({ what, files: runFiles, events, code, killed: timedOut || sig !== null })
      resolve({ code, output, seconds: (Date.now() - t0) / 1000 })
    })
  })
}

/** node:test's summary counts (ℹ tests N, ℹ pass N, …) of one report. */
function counts (output) {
  const c = {}
  for (const m of output.matchAll(/^ℹ (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)$/gm)) c[m[1]] = (c[m[1]] ?? 0) + Number(m[2])
  return c
}

const started = Date.now()
const rel = f => relative(join(root, 'dist'), f).replace(/\.js$/, '.ts')
const report = [] // { file, lane, seconds, code, counts }
const unitRun = serial || unitFiles.length === 0
  ? null
  : runTests(unitFiles, { ...process.env }, integrationFiles.length === 0, 'the unit stream', STREAM_TIMEOUT_MS)
if (integrationFiles.length > 0) {
  try {
    const mod = await import(pathToFileURL(join(root, 'dist', 'test', 'services', 'index.js')).href)
    services = await mod.startServices()
    Object.assign(env, services.env)
  } catch (e) {
    console.error('tilekiln: the test services did not start:', e)
    for (const c of children) signalGroup(c, 'SIGKILL')
    await stopServices()
    process.exit(1)
  }
}

let code = 0
let lanesTime = []
if (serial) {
  const r = await runTests(files, env, true, 'the tests', STREAM_TIMEOUT_MS)
  code = r.code
  report.push({ file: `${files.length} files, serial`, lane: 1, seconds: r.seconds, code: r.code, counts: counts(r.output) })
} else if (integrationFiles.length > 0) {
  const alone = integrationFiles.filter(f => ALONE.has(base(f)))
  const queue = integrationFiles.filter(f => !ALONE.has(base(f))).sort((a, b) => expected(b) - expected(a) || a.localeCompare(b))
  const width = Math.min(lanes, queue.length)
  // With one file at a time nothing can interleave: its report is printed live.
  const liveOnly = width <= 1
  const runOne = async (f, lane, live) => {
    if (!live) process.stdout.write(`tilekiln: lane ${lane} started ${rel(f)}\n`)
    const r = await runTests([f], env, live, rel(f))
    if (!live) process.stdout.write(`\n── ${rel(f)} (lane ${lane}, ${r.seconds.toFixed(1)} s) ──\n${r.output}`)
    report.push({ file: rel(f), lane, seconds: r.seconds, code: r.code, counts: counts(r.output), alone: ALONE.has(base(f)) })
    code = code || r.code
  }
  lanesTime = Array.from({ length: width }, () => 0)
  await Promise.all(Array.from({ length: width }, async (_, i) => {
    const t0 = Date.now()
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) await runOne(f, i + 1, liveOnly)
    lanesTime[i] = (Date.now() - t0) / 1000
  }))
  // ALONE files last, once the lanes and the unit stream are done: only their own load then; live, since nothing
  // else prints meanwhile (the unit stream's report comes at the end).
  if (alone.length > 0 && unitRun !== null) {
    process.stdout.write(`tilekiln: ${alone.map(rel).join(', ')} next, after the unit stream\n`)
    await unitRun
  }
  for (const f of alone) await runOne(f, 1, true)
}
await stopServices()
let unitSeconds = null
if (unitRun !== null) {
  const u = await unitRun
  unitSeconds = u.seconds
  if (integrationFiles.length > 0) {
    process.stdout.write(`\n── unit tests (${unitFiles.length} files, run beside the integration tests above, ${u.seconds.toFixed(1)} s) ──\n`)
    process.stdout.write(u.output)
  }
  report.push({ file: `unit stream (${unitFiles.length} files)`, lane: 'unit', seconds: u.seconds, code: u.code, counts: counts(u.output) })
  code = code || u.code
}

/** What each file that ran registered ({ tests, counts, … } with its content hash), by test file; `warn` is told of
 * the runs whose events say nothing usable. */
function registeredTests (warn) {
  const hashOf = contentHasher(root)
  const results = new Map()
  for (const s of streams) {
    // A run that was killed, or ended before node:test's report did, says nothing of what its files register; its
    // failure is in the report already.
    if (s.killed) continue
    const events = readEvents(s.events)
    if (events === null) {
      if (s.code === 0) warn(`the test events of ${s.what} (${relative(root, s.events)}) end early: not compared`)
      continue
    }
    const byFile = testsByFile(events, s.files, root)
    if (byFile.reason !== undefined) {
      warn(`could not tell which file some tests of ${s.what} are in (${byFile.reason}): not compared`)
      continue
    }
    for (const [f, r] of byFile.results) results.set(rel(f), { ...r, hash: hashOf(f) })
  }
  return results
}

const nFiles = n => plural(n, 'file')

/**
 * The test-count check (scripts/test-counts.mjs): the tests each file registered in this run against the records of
 * the other Node majors and of this one's previous run, for the files whose content is the same. Returns the lines
 * for the summary, and what failed (null if nothing did).
 */
function testCountCheck () {
  const lines = []
  const warn = m => lines.push(`test counts: ${m}`)
  const major = Number(process.versions.node.split('.')[0])
  const c = checkAndRecord({ root, major, version: process.version, results: registeredTests(warn), warn })
  const n = c.differing.length
  if (n > 0) {
    lines.push('', '── test counts: files that registered other tests than the record for the same content ──', ...c.differing.flatMap(d => d.lines),
      'A test file must register the same tests on every run and every Node major: one registered after a top-level',
      'await, or only under some condition, is lost without failing (use { skip } for tests that cannot run here).',
      `If the record is what is wrong, delete it (${RECORD_DIR}/node<major>.json) and run again.`)
  }
  const others = c.records.filter(m => m !== major)
  const against = [others.length > 0 ? `Node ${others.join(', ')}` : '', c.records.includes(major) ? "this Node's previous run" : ''].filter(Boolean).join(' and ')
  const summary = [
    n > 0 ? `${n} of ${nFiles(c.compared)} compared registered other tests than recorded (above)` : c.compared > 0 ? `${nFiles(c.compared)} registered the same tests as recorded for ${against}` : 'no file compared',
    c.unrecorded > 0 ? `${nFiles(c.unrecorded)} with no record of ${c.unrecorded === 1 ? 'its' : 'their'} content yet` : '',
    c.failed > 0 ? `${nFiles(c.failed)} failed, not compared` : '',
    `recorded in ${relative(root, c.path)}`
  ]
  lines.push(`test counts: ${summary.filter(Boolean).join('; ')}`)
  return { lines, failed: n > 0 ? `the test counts of ${nFiles(n)}` : null }
}

let countCheck
try {
  countCheck = testCountCheck()
} catch (e) {
  // A check that cannot run cannot fail either: say so, and fail the run.
  countCheck = { lines: [`test counts: the check itself failed: ${e.stack ?? e}`], failed: 'the test-count check' }
}
if (countCheck.failed !== null) code = code || 1

// The timing report.
const total = (Date.now() - started) / 1000
const sum = {}
for (const r of report) for (const [k, v] of Object.entries(r.counts ?? {})) sum[k] = (sum[k] ?? 0) + v
const lines = ['', '── timing report ──']
for (const r of [...report].sort((a, b) => b.seconds - a.seconds)) {
  lines.push(`${r.seconds.toFixed(1).padStart(8)} s  ${String(r.lane === 'unit' ? 'unit' : `lane ${r.lane}`).padEnd(6)}  ${r.code === 0 ? 'ok  ' : `FAIL (exit ${r.code})`}  ${r.file}`)
}
if (lanesTime.length > 0) {
  const aloneSeconds = report.filter(r => r.alone === true).reduce((a, r) => a + r.seconds, 0)
  lines.push(`integration: ${lanesTime.map((s, i) => `lane ${i + 1} ${s.toFixed(1)} s`).join(', ')}${aloneSeconds > 0 ? `, then ${aloneSeconds.toFixed(1)} s alone` : ''}`)
}
if (unitSeconds !== null) lines.push(`unit stream: ${unitSeconds.toFixed(1)} s`)
if (Object.keys(sum).length > 0) lines.push(`tests ${sum.tests ?? 0}, pass ${sum.pass ?? 0}, fail ${sum.fail ?? 0}, cancelled ${sum.cancelled ?? 0}, skipped ${sum.skipped ?? 0}, todo ${sum.todo ?? 0}`)
const failed = report.filter(r => r.code !== 0)
lines.push(...countCheck.lines)
const failedNames = [...failed.map(r => r.file), ...(countCheck.failed !== null ? [countCheck.failed] : [])]
if (failedNames.length > 0) lines.push(`failed: ${failedNames.join(', ')}`)
process.stdout.write(lines.join('\n') + '\n')
try {
  mkdirSync(join(root, 'test-output'), { recursive: true })
  writeFileSync(join(root, 'test-output', 'test-times.json'), JSON.stringify({ node: process.version, lanes, seconds: total, code, totals: sum, testCounts: countCheck.failed ?? 'ok', files: report }, null, 2) + '\n')
} catch {}
console.error(`tests finished in ${total.toFixed(1)} s with exit code ${code}`)
process.exit(code)
