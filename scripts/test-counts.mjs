// The tests each test file registered, compared with what the same file registered before: on the other Node majors
// and on this one's previous run. A file that silently registers fewer tests is a test that cannot fail (a test
// registered after a top-level await under --test-force-exit was lost that way: 1,451 tests on Node 24 against 1,486
// on Node 20, and nothing failed). scripts/test.mjs adds scripts/test-events-reporter.mjs to each `node --test` run;
// this module reads what it wrote, keeps a record per Node major in .tilekiln/test-counts/node<major>.json, and says
// which files now register other tests than the record for the same content.
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const RECORD_DIR = join('.tilekiln', 'test-counts')
const SEP = ' > '
/** The failure types node:test counts as cancelled rather than failed. */
const CANCELLED = new Set(['cancelledByParent', 'testTimeoutFailure', 'testAborted'])

const asPath = f => typeof f === 'string' && f.startsWith('file:') ? fileURLToPath(f) : f

/** The events of one run, or null if the run was cut short (no end line: the process was killed first). */
export function readEvents (path) {
  if (!existsSync(path)) return null
  const events = []
  for (const text of readFileSync(path, 'utf8').split('\n')) {
    if (text === '') continue
    try { events.push(JSON.parse(text)) } catch { return null } // a line cut in two by a kill
  }
  return events.some(ev => ev.type === 'end') ? events.filter(ev => ev.type !== 'end') : null
}

/** node:test's own event about a test file as a whole (Node 20 names it by its path, Node 24 by a shorter name): it
 * reports a file itself only when the file crashed or registered nothing. */
function isFileEvent (ev, fileSet, cwd) {
  const file = asPath(ev.file)
  return ev.entryFile === undefined && ev.nesting === 0 && ev.line === 1 && ev.column === 1 && fileSet.has(file) &&
    (resolve(cwd, ev.name) === file || basename(file) === ev.name)
}

/**
 * Which test file each event belongs to. Node 22+ says it (`entryFile`). Node 20 only says which module called test(),
 * which for a suite defined in a helper module (test/sink/store-conformance.ts) is the helper; but it reports the
 * files one after the other, in sorted order, whatever their concurrency, and numbers each file's top-level tests
 * from 1 in their test:complete. So its events are cut into top-level tests ("units": the events up to a top-level
 * test:pass or test:fail); a unit with an event of a test file is that file's, one of a helper module only is the
 * next file's if its number is 1, else the same file's as the unit before. Returns { owned: [{ i, file, ev }] } in the
 * order of the events, or { reason } when a helper's test cannot be placed.
 */
function attribute (events, files, cwd) {
  const fileSet = new Set(files)
  const owned = []
  const units = []
  let unit = []
  for (const [i, ev] of events.entries()) {
    if (ev.entryFile !== undefined) { owned.push({ i, file: asPath(ev.entryFile), ev }); continue }
    if (ev.type === 'test:complete' && isFileEvent(ev, fileSet, cwd)) continue // execution order, not report order
    unit.push({ i, ev })
    if (ev.nesting === 0 && (ev.type === 'test:pass' || ev.type === 'test:fail')) { units.push(unit); unit = [] }
  }
  const placed = placeUnits(units, files, fileSet)
  if (placed.reason !== undefined) return placed
  return { owned: [...owned, ...placed.owned].sort((a, b) => a.i - b.i) }
}

/** The file of each unit of events (see attribute), as [{ i, file, ev }], or { reason }. */
function placeUnits (units, files, fileSet) {
  const index = new Map(files.map((f, i) => [f, i]))
  const owned = []
  let current = -1
  let disorder = null // set when the files' reports were not one after the other, in order
  for (const u of units) {
    const anchors = new Set(u.map(({ ev }) => asPath(ev.file)).filter(f => fileSet.has(f)))
    const top = u.at(-1).ev
    const first = u.find(({ ev }) => ev.type === 'test:complete' && ev.name === top.name)?.ev.testNumber === 1
    let at
    if (anchors.size === 1) {
      at = index.get([...anchors][0])
      if (at < current || (first && at === current)) disorder ??= `${files[at]} was reported after ${files[current]}`
    } else if (anchors.size > 1) {
      return { reason: `the top-level test "${top.name}" has events of ${[...anchors].join(' and ')}` }
    } else {
      if (disorder !== null) return { reason: disorder }
      at = first ? current + 1 : current
      if (at < 0 || at >= files.length) return { reason: `"${top.name}" (defined in ${top.file}) is in no test file` }
    }
    current = at
    for (const { i, ev } of u) owned.push({ i, file: files[at], ev })
  }
  return { owned }
}

const emptyResult = () => ({ tests: [], skippedSuites: [], counts: { tests: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 }, crashed: false, failedSuite: false })

/** Adds one test's result to its file's counts, the way node:test's summary counts it. */
function count (r, ev) {
  r.counts.tests++
  if (ev.skip) r.counts.skipped++
  else if (ev.todo) r.counts.todo++
  else if (ev.type === 'test:fail' && CANCELLED.has(ev.failureType)) r.counts.cancelled++
  else if (ev.type === 'test:fail') r.counts.fail++
  else r.counts.pass++
}

/**
 * The tests node:test reported for each of `files` (absolute paths, as the run was given them): their names with the
 * names of the suites and tests they are in, skipped suites (node:test does not register a skipped suite's tests),
 * counts, and whether the file crashed. Returns { results: Map(file → result) } or { reason } when the events cannot
 * be told apart by file.
 */
export function testsByFile (events, files, cwd) {
  const sorted = [...files].sort() // node:test's order
  const fileSet = new Set(sorted)
  const a = attribute(events, sorted, cwd)
  if (a.reason !== undefined) return { reason: a.reason }
  const results = new Map(sorted.map(f => [f, emptyResult()]))
  const stacks = new Map(sorted.map(f => [f, []])) // per file, the names of the tests a test is in
  for (const { file, ev } of a.owned) {
    const r = results.get(file)
    const stack = stacks.get(file)
    if (r === undefined) return { reason: `an event names ${file}, which this run was not given` }
    if (ev.type === 'test:start') { stack.length = ev.nesting; stack.push(ev.name); continue }
    if (ev.type !== 'test:pass' && ev.type !== 'test:fail') continue
    if (isFileEvent(ev, fileSet, cwd)) { r.crashed ||= ev.type === 'test:fail'; continue }
    const name = [...stack.slice(0, ev.nesting), ev.name].join(SEP)
    if (ev.suite === true) {
      if (ev.skip) r.skippedSuites.push(name)
      if (ev.type === 'test:fail') r.failedSuite = true
      continue
    }
    r.tests.push(name)
    count(r, ev)
  }
  return { results }
}

/** Whether a file's report says what it registers: not when it crashed or failed (a failure can stop a test before
 * it registers its subtests; the run fails anyway, and its record is kept until it passes). */
export const comparable = r => !r.crashed && !r.failedSuite && r.counts.fail === 0 && r.counts.cancelled === 0

// What decides which tests a file registers: its compiled module and every module it imports (a helper module
// defines suites; a table in src/ can decide the cases), and the data files tests are generated from.
const IMPORT = /\b(?:from|import)\s*\(?\s*["'](\.\.?\/[^"']+)["']/g
const DATA_DIRS = [join('test', 'fixtures'), join('test', 'vectors'), 'examples']
const sha = data => createHash('sha256').update(data).digest('hex')

function walkFiles (dir, out = []) {
  if (!existsSync(dir)) return out
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f)
    if (statSync(p).isDirectory()) walkFiles(p, out)
    else out.push(p)
  }
  return out
}

/** A function from a test module (absolute path) to a hash of it, the modules it imports and the test data. */
export function contentHasher (root) {
  const data = sha(DATA_DIRS.flatMap(d => walkFiles(join(root, d))).map(p => `${relative(root, p)}\0${sha(readFileSync(p))}`).join('\n'))
  const own = new Map() // module → { hash, imports }
  const read = m => {
    let e = own.get(m)
    if (e === undefined) {
      const text = readFileSync(m, 'utf8')
      e = { hash: sha(text), imports: [...text.matchAll(IMPORT)].map(x => resolve(dirname(m), x[1])).filter(p => existsSync(p)) }
      own.set(m, e)
    }
    return e
  }
  return file => {
    const seen = new Set([file])
    for (const m of seen) for (const i of read(m).imports) seen.add(i) // a Set iterates what is added meanwhile
    return sha([...seen].sort().map(m => `${relative(root, m)}\0${read(m).hash}`).join('\n') + `\ndata\0${data}`)
  }
}

/** The records of every Node major: Map(major → { path, node, files }); an unreadable one is reported and ignored. */
export function loadRecords (root, warn) {
  const dir = join(root, RECORD_DIR)
  const records = new Map()
  if (!existsSync(dir)) return records
  for (const f of readdirSync(dir)) {
    const m = /^node(\d+)\.json$/.exec(f)
    if (m === null) continue
    const path = join(dir, f)
    try {
      const r = JSON.parse(readFileSync(path, 'utf8'))
      if (typeof r.files !== 'object' || r.files === null) throw new Error('no "files"')
      records.set(Number(m[1]), { path, node: r.node, files: r.files })
    } catch (e) {
      warn(`${relative(root, path)} is not a test-count record (${e.message}): ignored, and rewritten by this run`)
    }
  }
  return records
}

/** `a` minus `b`, as multisets of names, leaving out the tests of suites skipped on either side. */
function minus (a, b, skippedSuites) {
  const left = new Map()
  for (const n of b) left.set(n, (left.get(n) ?? 0) + 1)
  const out = []
  for (const n of a) {
    if (skippedSuites.some(s => n.startsWith(s + SEP))) continue
    const k = left.get(n) ?? 0
    if (k > 0) left.set(n, k - 1)
    else out.push(n)
  }
  return out
}

export const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`
const listed = (names, max = 15) => [...names.slice(0, max).map(n => `      ${n}`), ...(names.length > max ? [`      … and ${names.length - max} more`] : [])]

/** One difference between this run's tests of a file and a record's, as lines for the summary (none if the same). */
function difference (file, now, version, rec, recNode, where) {
  const skipped = [...now.skippedSuites, ...(rec.skippedSuites ?? [])]
  const missing = minus(rec.tests, now.tests, skipped)
  const extra = minus(now.tests, rec.tests, skipped)
  if (missing.length === 0 && extra.length === 0) return []
  const lines = [`${file}: ${plural(now.tests.length, 'test')} on Node ${version} in this run, ${rec.tests.length} on Node ${recNode} (${where}) for the same content`]
  if (missing.length > 0) lines.push('    missing in this run:', ...listed(missing))
  if (extra.length > 0) lines.push('    not in the record:', ...listed(extra))
  return lines
}

/** Writes a record whole or not at all (a run killed while writing it leaves the old one). */
function saveRecord (path, version, files) {
  mkdirSync(dirname(path), { recursive: true })
  const sorted = Object.fromEntries(Object.keys(files).sort().map(k => [k, files[k]]))
  writeFileSync(path + '.tmp', JSON.stringify({ node: version, files: sorted }, null, 1) + '\n')
  renameSync(path + '.tmp', path)
}

/**
 * Compares this run's results (Map(relative test file → result with its hash)) with the records of the other Node
 * majors and of this one, then records the results that are comparable and did not differ. Returns the files that
 * differ with the lines that say how, how many files were compared, how many were not (no record of their content;
 * failed), the record written and the Node majors that had one.
 */
export function checkAndRecord ({ root, major, version, results, warn }) {
  const records = loadRecords(root, warn)
  const mine = records.get(major) ?? { path: join(root, RECORD_DIR, `node${major}.json`), node: version, files: {} }
  const differing = [] // { file, lines }
  let compared = 0
  let unrecorded = 0
  let failed = 0
  const files = { ...mine.files }
  const against = [...records.entries()].filter(([m]) => m !== major).map(([, r]) => ({ r, where: `recorded in ${relative(root, r.path)}` }))
  if (records.has(major)) against.push({ r: mine, where: `its previous run, recorded in ${relative(root, mine.path)}` })
  for (const [file, now] of results) {
    if (!comparable(now)) { failed++; continue }
    const same = against.filter(({ r }) => r.files[file]?.hash === now.hash)
    if (same.length === 0) unrecorded++
    else compared++
    const lines = same.flatMap(({ r, where }) => difference(file, now, version, r.files[file], r.node, where))
    if (lines.length > 0) differing.push({ file, lines })
    // A file that differs keeps its old record: the difference is reported again until it is fixed or the record reset.
    if (lines.length === 0) files[file] = { hash: now.hash, counts: now.counts, tests: now.tests, ...(now.skippedSuites.length > 0 ? { skippedSuites: now.skippedSuites } : {}) }
  }
  // A test file since deleted or renamed has nothing left to compare.
  for (const f of Object.keys(files)) if (!existsSync(join(root, f))) delete files[f]
  try {
    saveRecord(mine.path, version, files)
  } catch (e) {
    warn(`could not write ${relative(root, mine.path)}: ${e.message}`)
  }
  return { differing, compared, unrecorded, failed, path: mine.path, records: [...records.keys()].sort((a, b) => a - b) }
}
