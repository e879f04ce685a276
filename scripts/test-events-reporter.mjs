// A node:test reporter that scripts/test.mjs adds beside `spec`: it writes, one JSON line each, the events that say
// which tests a test file registered, so that the runner can compare them with earlier runs and other Node majors
// (scripts/test-counts.mjs). It only keeps what that needs: test:start (the nesting of names), test:pass and
// test:fail (the results), and the top-level test:complete (Node 20 numbers a file's top-level tests from 1 there:
// how scripts/test-counts.mjs tells the files apart when a test was defined in a helper module). Its last line is
// {"type":"end"}: a file without it was cut short (the process was killed), and its counts mean nothing.
//
//   node --test --test-reporter=spec --test-reporter-destination=stdout \
//               --test-reporter=./scripts/test-events-reporter.mjs --test-reporter-destination=events.jsonl …

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

export default async function * testEvents (source) {
  for await (const { type, data } of source) {
    if (!KEPT.has(type)) continue
    // test:complete comes in execution order; only the top-level ones are needed (their per-file number).
    if (type === 'test:complete' && data.nesting !== 0) continue
    yield line(type, data)
  }
  yield '{"type":"end"}\n'
}
