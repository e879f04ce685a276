// `npm run bench:report`: every result in bench/results/ as one self-contained HTML page (bench/results/report.html)
// with SVG charts, and a screenshot of it taken in headless Chromium (bench/results/report.png).
//
//   npm run bench:report [-- --dir DIR] [-- --no-screenshot]
//
// Charts are Vega-Lite specifications compiled and rendered to SVG in Node by vega-lite + vega (renderer 'none',
// no DOM, no canvas: text widths are estimated), so the page has no script and opens anywhere. Sections:
// throughput by workers and keys (engine), the parallelism sweep, latency percentiles by load level (latency),
// tilekiln vs Flink (flink), fetch latency by window (fetch), each scenario's headline figure per Node version
// when it ran on more than one, and every result's rows, machine, commit and options.
//
// Reads runner results (format tilekiln-bench/1, bench/lib/result.ts) and the stand-alone scripts' older JSON
// ({ benchmark, at, machine, data }, rows in `data`, `data.rows` or `data.summary`). A fetch result (bench/fetch.ts)
// is drawn from rows with `store`, `window` (e.g. "1h", "30d"), `keys` (keys per request) and latency columns
// named `p50 µs` / `p99 µs` (or `p50 us`, or `… ms`).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import * as vega from 'vega'
import * as vl from 'vega-lite'
import { ensureChromium } from '../test/services/chromium.ts'
import { RESULTS_DIR, type Spread } from './lib/result.ts'
import type { Cell, Row } from './lib/scenario.ts'
import { SCENARIOS } from './scenarios/index.ts'

interface Loaded {
  file: string
  scenario: string
  node: string
  at: string
  machine: Record<string, unknown>
  git?: { commit: string, dirty: boolean, branch: string }
  options?: Record<string, unknown>
  rounds?: number
  rows: Row[]
  spread: Array<Record<string, Spread>>
}

/** Columns that name a configuration even though they hold numbers. */
const ID_COLUMNS = new Set(['workers', 'keys', 'batch', 'slots', 'in-flight', 'workers / parallelism'])

function load (dir: string): Loaded[] {
  if (!existsSync(dir)) return []
  const out: Loaded[] = []
  for (const f of readdirSync(dir).filter(f => f.endsWith('.json')).sort()) {
    try {
      const j = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, any>
      if (j.format === 'tilekiln-bench/1') {
        out.push({ file: f, scenario: j.scenario, node: j.machine?.node ?? '?', at: j.at, machine: j.machine ?? {}, git: j.git, options: j.options, rounds: j.rounds, rows: j.rows ?? [], spread: j.spread ?? [] })
      } else if (typeof j.benchmark === 'string') {
        const d = j.data
        const rows = Array.isArray(d) ? d : Array.isArray(d?.rows) ? d.rows : Array.isArray(d?.summary) ? d.summary : []
        out.push({ file: f, scenario: j.benchmark, node: j.machine?.node ?? '?', at: j.at, machine: j.machine ?? {}, rows: rows.map(plainRow), spread: [] })
      }
    } catch (e) {
      process.stderr.write(`report: skipping ${f}: ${e instanceof Error ? e.message : String(e)}\n`)
    }
  }
  return out
}

function plainRow (r: Record<string, unknown>): Row {
  const row: Row = {}
  for (const [k, v] of Object.entries(r)) if (typeof v === 'number' || typeof v === 'string') row[k] = v
  return row
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
const fmt = (v: Cell | undefined): string => (typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : String(Number(v.toPrecision(4)))) : v ?? '')
const nodeMajor = (v: string): string => `Node ${v.replace(/^v/, '').split('.')[0]}`

async function svg (spec: Record<string, unknown>): Promise<string> {
  const full = { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config: { font: 'sans-serif', view: { stroke: '#ddd' }, axis: { labelLimit: 360 }, legend: { labelLimit: 360 } }, ...spec }
  const view = new vega.View(vega.parse(vl.compile(full as unknown as vl.TopLevelSpec).spec), { renderer: 'none' })
  const out = await view.toSVG()
  view.finalize()
  return out
}

/** The configuration of a row as one label (its string columns and its numeric identity columns). */
function label (r: Row): string {
  return Object.entries(r).filter(([k, v]) => (typeof v === 'string' && v !== '' && v !== '—') || ID_COLUMNS.has(k)).map(([k, v]) => (typeof v === 'number' ? `${k} ${fmt(v)}` : v)).join(', ')
}

function latest (results: Loaded[], scenario: string): Loaded[] {
  // One result per Node version: the newest.
  const byNode = new Map<string, Loaded>()
  for (const r of results.filter(r => r.scenario === scenario)) {
    const prev = byNode.get(nodeMajor(r.node))
    if (prev === undefined || prev.at < r.at) byNode.set(nodeMajor(r.node), r)
  }
  return [...byNode.values()].sort((a, b) => a.node.localeCompare(b.node, 'en', { numeric: true }))
}

const missing = (what: string, how: string): string => `<p class="missing">No ${what} result in bench/results/. ${how}</p>`

async function engineSection (results: Loaded[]): Promise<string> {
  const rs = latest(results, 'engine')
  if (rs.length === 0) return missing('engine', 'Run <code>npm run bench -- engine --quick</code>.')
  const values = rs.flatMap(r => r.rows.map((row, i) => ({
    node: nodeMajor(r.node),
    workers: String(row.workers),
    series: `${fmt(row.keys)} keys, ${String(row.keyDist ?? '')}${row.trigger !== 'always' ? `, ${String(row.trigger)}` : ''}`,
    rate: Number(row['events/s']),
    lo: r.spread[i]?.['events/s']?.min ?? Number(row['events/s']),
    hi: r.spread[i]?.['events/s']?.max ?? Number(row['events/s'])
  })))
  const chart = await svg({
    data: { values },
    facet: { column: { field: 'node', type: 'nominal', title: null } },
    spec: {
      width: 260, height: 220,
      layer: [
        { mark: 'bar', encoding: { x: { field: 'workers', type: 'nominal', title: 'workers' }, xOffset: { field: 'series' }, y: { field: 'rate', type: 'quantitative', title: 'events/s (median)' }, color: { field: 'series', type: 'nominal', title: 'keys' } } },
        { mark: { type: 'rule', color: 'black' }, encoding: { x: { field: 'workers', type: 'nominal' }, xOffset: { field: 'series' }, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } }
      ]
    }
  })
  return `<h2>Throughput by workers and keys</h2><p>Generator → workers → embedded LMDB (<code>examples.clicks.v1</code>); bars are medians over rounds, black lines min–max.</p>${chart}`
}

async function sweepSection (results: Loaded[]): Promise<string> {
  const rs = latest(results, 'sweep')
  if (rs.length === 0) return missing('sweep', 'Run <code>npm run bench -- sweep --quick</code>.')
  const values = rs.flatMap(r => r.rows.map(row => ({ node: nodeMajor(r.node), setting: `batch ${row.batch}, slots ${row.slots}, in flight ${row['in-flight']}`, workers: `${row.workers} worker(s)`, rate: Number(row['events/s']), p99: Number(row['p99 ms']) })))
  const chart = await svg({
    data: { values },
    facet: { row: { field: 'node', type: 'nominal', title: null } },
    spec: {
      width: 520, height: { step: 14 },
      mark: 'bar',
      encoding: { y: { field: 'setting', type: 'nominal', title: null }, yOffset: { field: 'workers' }, x: { field: 'rate', type: 'quantitative', title: 'events/s' }, color: { field: 'workers', type: 'nominal', title: null }, tooltip: [{ field: 'p99' }] }
    }
  })
  const best = rs.map(r => {
    const b = r.rows.reduce((a, c) => (Number(c['events/s']) > Number(a['events/s']) ? c : a))
    return `<li>${nodeMajor(r.node)}: best ${esc(label(b))} → ${fmt(b['events/s'])} events/s, p99 ${fmt(b['p99 ms'])} ms</li>`
  }).join('')
  return `<h2>Parallelism sweep</h2><ul>${best}</ul>${chart}`
}

async function latencySection (results: Loaded[]): Promise<string> {
  const rs = latest(results, 'latency')
  if (rs.length === 0) return missing('latency', 'Run <code>npm run bench -- latency --quick</code>.')
  const values: Array<Record<string, unknown>> = []
  for (const r of rs) {
    for (const row of r.rows) {
      for (const [k, v] of Object.entries(row)) {
        const m = /^p([\d.]+) ms$/.exec(k) ?? (k === 'max ms' ? [k, '100'] : null)
        if (m === null || typeof v !== 'number') continue
        const p = Number(m[1])
        values.push({ node: nodeMajor(r.node), load: row.load === 'max' ? 'max rate' : String(row.load), percentile: p === 100 ? 'max' : `p${p}`, order: p, ms: Math.max(v, 0.5) })
      }
    }
  }
  const chart = await svg({
    data: { values },
    facet: { column: { field: 'node', type: 'nominal', title: null } },
    spec: {
      width: 340, height: 240,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'percentile', type: 'ordinal', sort: { field: 'order' }, title: 'percentile' },
        y: { field: 'ms', type: 'quantitative', scale: { type: 'log' }, title: 'event → store latency, ms (log)' },
        color: { field: 'load', type: 'nominal', title: 'load' }
      }
    }
  })
  const rows = rs.flatMap(r => r.rows.map(row => `<tr><td>${nodeMajor(r.node)}</td><td>${esc(String(row.load))}</td><td>${fmt(row['target ev/s'])}</td><td>${fmt(row['events/s'])}</td><td>${fmt(row['p50 ms'])}</td><td>${fmt(row['p99 ms'])}</td><td>${fmt(row['p99.9 ms'])}</td></tr>`)).join('')
  return `<h2>Latency by load</h2><p>The engine's maximum rate, then the generator paced at fractions of it; percentiles of the engine's event→store histogram over the measured window.</p>${chart}<table><tr><th>Node</th><th>load</th><th>target ev/s</th><th>events/s</th><th>p50 ms</th><th>p99 ms</th><th>p999 ms</th></tr>${rows}</table>`
}

async function flinkSection (results: Loaded[]): Promise<string> {
  const rs = latest(results, 'flink')
  if (rs.length === 0) return missing('Flink', 'Run <code>npm run bench:flink -- --quick</code> (JDK 17+ and Maven).')
  const values = rs.flatMap(r => r.rows.flatMap(row => {
    const cfg = `${fmt(row['workers / parallelism'])} w, ${String(row.keys)}, ${String(row.trigger)}, ${String(row['flink sink / state'])}`
    return [
      { node: nodeMajor(r.node), cfg, engine: 'tilekiln', rate: Number(row['tilekiln ev/s']) },
      { node: nodeMajor(r.node), cfg, engine: 'Flink (warm)', rate: Number(row['flink ev/s (warm)']) }
    ]
  }))
  const chart = await svg({
    data: { values },
    facet: { row: { field: 'node', type: 'nominal', title: null } },
    spec: { width: 480, height: { step: 16 }, mark: 'bar', encoding: { y: { field: 'cfg', type: 'nominal', title: null }, yOffset: { field: 'engine' }, x: { field: 'rate', type: 'quantitative', title: 'events/s' }, color: { field: 'engine', type: 'nominal', title: null } } }
  })
  return `<h2>tilekiln vs Flink</h2>${chart}`
}

async function fetchSection (results: Loaded[]): Promise<string> {
  const rs = latest(results, 'fetch')
  if (rs.length === 0) return missing('fetch', 'Run <code>npm run bench:fetch</code>.')
  const values: Array<Record<string, unknown>> = []
  for (const r of rs) {
    for (const row of r.rows) {
      for (const [k, v] of Object.entries(row)) {
        const m = /^(p\d+(?:\.\d+)?)\s*(µs|us|ms)$/.exec(k)
        if (m === null || typeof v !== 'number') continue
        values.push({ node: nodeMajor(r.node), window: String(row.window ?? '?'), series: `${String(row.store ?? '')}${row.keys !== undefined ? `, ${fmt(row.keys)} key(s)` : ''}${row.call === 'fetchFeaturesMany' ? ' in one call' : ''}`, percentile: m[1], us: m[2] === 'ms' ? v * 1000 : v })
      }
    }
  }
  if (values.length === 0) return '<h2>Fetch latency by window</h2><p class="missing">The fetch result has no <code>p50 µs</code>-like columns.</p>'
  const chart = await svg({
    data: { values },
    facet: { column: { field: 'percentile', type: 'nominal', title: null }, row: { field: 'node', type: 'nominal', title: null } },
    spec: { width: 280, height: 200, mark: { type: 'line', point: true }, encoding: { x: { field: 'window', type: 'ordinal', sort: null, title: 'window' }, y: { field: 'us', type: 'quantitative', scale: { type: 'log' }, title: 'µs (log)' }, color: { field: 'series', type: 'nominal', title: null } } }
  })
  return `<h2>Fetch latency by window</h2>${chart}`
}

/** The store scenario's reads of one key's 300 tiles: the read path under a fetch, per store and Node version. */
async function storeReadsSection (results: Loaded[]): Promise<string> {
  const rs = latest(results, 'stores')
  if (rs.length === 0) return missing('stores', 'Run <code>npm run bench -- stores --quick</code>.')
  const values: Array<Record<string, unknown>> = []
  for (const r of rs) {
    for (const row of r.rows) {
      for (const [k, v] of Object.entries(row)) {
        const m = /^(read 300|unbounded) (p\d+) µs$/.exec(k)
        if (m !== null && typeof v === 'number') values.push({ node: nodeMajor(r.node), store: String(row.store), read: `${m[1] === 'unbounded' ? 'unbounded range' : '300 tiles'} ${m[2]}`, us: v })
      }
    }
  }
  if (values.length === 0) return ''
  const chart = await svg({
    data: { values },
    facet: { column: { field: 'node', type: 'nominal', title: null } },
    spec: { width: 300, height: { step: 22 }, mark: { type: 'point', filled: true, size: 60 }, encoding: { y: { field: 'store', type: 'nominal', title: null }, x: { field: 'us', type: 'quantitative', scale: { type: 'log' }, title: 'µs (log)' }, color: { field: 'read', type: 'nominal', title: null }, shape: { field: 'read', type: 'nominal', title: null } } }
  })
  return `<h2>Store reads</h2><p>One key's 300 five-minute tiles read back to back (<code>stores</code>): the read under every fetch.</p>${chart}`
}

async function nodesSection (results: Loaded[]): Promise<string> {
  const parts: string[] = []
  for (const name of [...new Set(results.map(r => r.scenario))].sort()) {
    const rs = latest(results, name)
    if (rs.length < 2) continue
    const headline = SCENARIOS.find(s => s.name === name)?.headline ?? Object.keys(rs[0]!.rows[0] ?? {}).find(k => k.includes('/s'))
    if (headline === undefined) continue
    const values = rs.flatMap(r => r.rows.filter(row => typeof row[headline] === 'number').map(row => ({ node: nodeMajor(r.node), cfg: label(row).slice(0, 60), v: row[headline] })))
    if (values.length === 0) continue
    parts.push(await svg({ title: `${name}: ${headline}`, width: 480, height: { step: 12 }, data: { values }, mark: 'bar', encoding: { y: { field: 'cfg', type: 'nominal', title: null }, yOffset: { field: 'node' }, x: { field: 'v', type: 'quantitative', title: headline }, color: { field: 'node', type: 'nominal', title: null } } }))
  }
  return parts.length === 0 ? '<h2>Node versions</h2><p class="missing">No scenario has results from two Node versions (<code>npm run bench -- engine --quick --node PATH</code>).</p>' : `<h2>Node versions side by side</h2><p>Each scenario's headline figure, newest result per Node major version.</p><div class="grid">${parts.join('')}</div>`
}

function detailsSection (results: Loaded[]): string {
  return '<h2>All results</h2>' + results.map(r => {
    const cols = [...new Set(r.rows.flatMap(x => Object.keys(x)))]
    const body = r.rows.map((row, i) => `<tr>${cols.map(c => {
      const s = r.spread[i]?.[c]
      return `<td>${esc(fmt(row[c]))}${s !== undefined && s.min !== s.max ? `<span class="sp"> ${esc(fmt(s.min))}–${esc(fmt(s.max))}</span>` : ''}</td>`
    }).join('')}</tr>`).join('')
    const m = r.machine
    const git = r.git === undefined ? '' : `, commit ${esc(r.git.commit.slice(0, 10))}${r.git.dirty ? ' (dirty)' : ''} on ${esc(r.git.branch)}`
    return `<details><summary><b>${esc(r.scenario)}</b> — ${esc(r.file)}, ${esc(r.at)}</summary>
<p class="meta">${esc(String(m.node))}, ${esc(String(m.cores ?? m.cpus))} cores (${esc(String(m.cpu))}), ${esc(String(m.memoryGiB))} GiB${m.loadAverage !== undefined ? `, load average ${esc(String(m.loadAverage))}` : ''}${git}${r.rounds !== undefined ? `, ${r.rounds} round(s): medians, min–max in grey` : ''}${r.options !== undefined ? `<br>options <code>${esc(JSON.stringify(r.options))}</code>` : ''}</p>
<table><tr>${cols.map(c => `<th>${esc(c)}</th>`).join('')}</tr>${body}</table></details>`
  }).join('\n')
}

export async function renderReport (dir: string): Promise<{ html: string, results: number }> {
  const results = load(dir)
  const sections = [await engineSection(results), await latencySection(results), await sweepSection(results), await flinkSection(results), await fetchSection(results), await storeReadsSection(results), await nodesSection(results), detailsSection(results)]
  const machines = [...new Set(results.map(r => `${String(r.machine.cores ?? r.machine.cpus)} × ${String(r.machine.cpu)}`))].join('; ')
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tilekiln benchmarks</title><style>
body{font-family:sans-serif;margin:24px;max-width:1200px;color:#222}h1{margin-bottom:0}h2{margin-top:32px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:12px;margin:8px 0}td,th{border:1px solid #ddd;padding:2px 6px;text-align:right}th{background:#f4f4f4}
.sp{color:#999;font-size:10px}.missing{color:#a60}.meta{font-size:12px;color:#555}.grid{display:flex;flex-wrap:wrap;gap:16px}code{background:#f4f4f4;padding:0 3px}
</style></head><body><h1>tilekiln benchmarks</h1><p class="meta">${results.length} result file(s) from ${esc(dir)}, rendered ${new Date().toISOString()}; machine(s): ${esc(machines)}. Numbers from a shared machine are noisy: compare medians and their spread, not single runs.</p>
${sections.join('\n')}</body></html>\n`
  return { html, results: results.length }
}

/** A full-page screenshot of the report in headless Chromium (playwright-core, Debian's chromium). */
export async function screenshot (htmlPath: string, pngPath: string): Promise<string | null> {
  const chromium = ensureChromium()
  if (chromium.path === null) return chromium.reason
  const { chromium: pw } = await import('playwright-core')
  const browser = await pw.launch({ executablePath: chromium.path, args: ['--no-sandbox'], timeout: 60_000 })
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await page.goto(pathToFileURL(htmlPath).href, { timeout: 60_000 })
    await page.screenshot({ path: pngPath, fullPage: true, timeout: 60_000 })
  } finally {
    await browser.close()
  }
  return null
}

async function main (argv: string[]): Promise<void> {
  const d = argv.indexOf('--dir')
  const dir = d >= 0 ? argv[d + 1]! : RESULTS_DIR
  const { html, results } = await renderReport(dir)
  const out = join(dir, 'report.html')
  writeFileSync(out, html)
  process.stdout.write(`report of ${results} result file(s): ${out}\n`)
  if (argv.includes('--no-screenshot')) return
  const png = join(dir, 'report.png')
  const why = await screenshot(out, png)
  process.stdout.write(why === null ? `screenshot: ${png}\n` : `no screenshot: ${why}\n`)
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2))
