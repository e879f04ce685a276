// bench:report (bench/report-page.ts) renders every scenario's result into its section: from one result file of each
// (test/bench/report-fixture/: real outputs of the runner, smoke-sized for sweep, stores and fetch, engine also on
// Node 24 for the Node-versions section), every section has its chart and none says its result is missing; from an
// empty directory every section says what to run. The screenshot (headless Chromium) is not taken here.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { renderReport } from '../../bench/report-page.ts'
import { repoRoot } from '../helpers/reference.ts'

const FIXTURE = join(repoRoot, 'test', 'bench', 'report-fixture')
const SECTIONS = ['Throughput by workers and keys', 'Latency by load', 'tilekiln vs Flink', 'Node versions', 'All results']

test('every scenario\'s result is drawn: a chart per section, nothing reported missing', async () => {
  const { html, results } = await renderReport(FIXTURE)
  assert.equal(results, 8)
  for (const h of SECTIONS) assert.ok(html.includes(`<h2>${h}`), `section ${h}`)
  assert.ok(!html.includes('class="missing"'), `a section says its result is missing: ${/<p class="missing">[^<]*/.exec(html)?.[0]}`)
  // engine (Node 20 and 24), latency, sweep, flink, fetch, stores reads, Node versions: each an inline SVG
  const charts = html.match(/<svg[\s>]/g)?.length ?? 0
  assert.ok(charts >= 7, `${charts} charts`)
  assert.ok(!html.includes('<script'), 'the page carries no script')
  for (const f of ['engine.node20.json', 'engine.node24.json', 'fetch.node20.json', 'kafka.node20.json']) assert.ok(html.includes(f), `details of ${f}`)
})

test('an empty results directory: every section says what to run', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'tilekiln-report-'))
  try {
    const { html, results } = await renderReport(empty)
    assert.equal(results, 0)
    for (const what of ['engine', 'latency', 'sweep', 'Flink', 'fetch', 'stores']) assert.match(html, new RegExp(`No ${what} result in bench/results/\\. Run <code>npm run bench`), what)
  } finally {
    rmSync(empty, { recursive: true, force: true })
  }
})
