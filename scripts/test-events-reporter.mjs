// A node:test reporter that scripts/test.mjs adds beside `spec`: it writes, one JSON line each, the events that say
// which tests a test file registered, so that the runner can compare them with earlier runs and other Node majors
// (scripts/test-counts.mjs). It only keeps what that needs: test:start (the nesting of names), test:pass and
// test:fail (the results), and the top-level test:complete (Node 20 numbers a file's top-level tests from 1 there:
// how scripts/test-counts.mjs tells the files apart when a test was defined in a helper module). It ends with
// {"type":"end"}, written once node:test has reported every file: a file without it was cut short (the process was
// killed), and its counts mean nothing.
//
// It writes the file named by `?out=` in its URL itself, synchronously, rather than through its destination: under
// --test-force-exit Node 20 ends the process as soon as its summary is out, before a second reporter has seen all of
// it, and what a reporter had yielded to its destination but not yet written is lost (on 20.20: the last events).
//
//   node --test --test-reporter=spec --test-reporter-destination=stdout \
//               --test-reporter='file:///…/scripts/test-events-reporter.mjs?out=/tmp/events.jsonl' \
//               --test-reporter-destination=stdout …      (it writes nothing there)
import { closeSync, openSync, writeSync } from 'node:fs'

const KEPT = new Set(['test:start', 'test:pass', 'test:fail', 'test:complete'])

/** The fields of one event that the runner reads; `entryFile` (Node 22+) is the test file that ran, `file` the
 * module that called test() (a helper module for shared suites). */
function line (type, data) {
  const error = data.details?.error
  return JSON.stringify({
    type,
    name: data.name,
    nesting: data.nesting,
    file: data.file,
    entryFile: data.entryFile,
    line: data.line,
    column: data.column,
    testNumber: type === 'test:complete' ? data.testNumber : undefined,
    suite: data.details?.type === 'suite' ? true : undefined,
    skip: data.skip !== undefined ? true : undefined,
    todo: data.todo !== undefined ? true : undefined,
    failureType: error?.failureType
  }) + '\n'
}

/** The plan of the whole run (not a file's): node:test sends it once every file is reported, before its summary. */
const isRunPlan = (type, data) => type === 'test:plan' && data.nesting === 0 && data.file === undefined

export default async function * testEvents (source) {
  const out = new URL(import.meta.url).searchParams.get('out')
  if (out === null) throw new Error('test-events-reporter.mjs writes the file named by ?out= in its URL: none was given')
  const fd = openSync(out, 'w')
  let ended = false
  const end = () => { if (!ended) writeSync(fd, '{"type":"end"}\n'); ended = true }
  for await (const { type, data } of source) {
    if (isRunPlan(type, data)) end()
    // test:complete comes in execution order; only the top-level ones are needed (their per-file number).
    else if (KEPT.has(type) && !(type === 'test:complete' && data.nesting !== 0)) writeSync(fd, line(type, data))
  }
  end()
  closeSync(fd)
  yield '' // a reporter is a generator; everything went to `out`
}
