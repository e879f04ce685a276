// The status page at `/` of `tilekiln serve` and `tilekiln run --metrics-port`: live charts of throughput, lag,
// watermark delay and latency, the GroupBys served with their output columns, and a form that looks a key's features
// up through the read API. Everything it loads comes from this server: the page, uPlot (the charting library, from
// the npm package, /assets/uPlot.*) and the data (/v1/status, /v1/group-bys, /v1/features/…). Nothing from a CDN.
//
// The page polls /v1/status?since=<ms> every second; the server keeps the last 10 minutes of samples.

import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { M, type Metrics } from '../metrics/metrics.ts'

/** One point of the charts. NaN (null in JSON) where the process has no such figure (serve has no source lag). */
export interface StatusPoint {
  readonly at: number
  /** Events written per second (run) or feature requests per second (serve). */
  readonly eventsPerSecond: number
  readonly sourceLag: number
  readonly watermarkDelayMillis: number
  /** p99 event-to-store latency (run) or fetch latency (serve) over the last interval, ms. */
  readonly p99LatencyMillis: number
}

/** What the page charts: the samples of the process (engine/live-stats.ts for a run). */
export interface StatusFeed {
  readonly mode: 'run' | 'serve'
  readonly title: string
  samples (): readonly StatusPoint[]
}

const require = createRequire(import.meta.url)

let assets: Map<string, { type: string, body: Buffer }> | null = null

/** The page's static files, read once from the uplot package. */
export function statusAssets (): Map<string, { type: string, body: Buffer }> {
  if (assets === null) {
    assets = new Map([
      ['/assets/uPlot.iife.min.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js')) }],
      ['/assets/uPlot.min.css', { type: 'text/css; charset=utf-8', body: readFileSync(require.resolve('uplot/dist/uPlot.min.css')) }],
      ['/', { type: 'text/html; charset=utf-8', body: Buffer.from(PAGE) }]
    ])
  }
  return assets
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tilekiln status</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/uPlot.min.css">
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa }
  h1 { font-size: 1.3em; margin: 0 0 .2em } h2 { font-size: 1.1em; margin: 1.5em 0 .5em }
  #state { color: #555 } #state.bad { color: #b00 }
  .charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 1em }
  .chart { background: #fff; border: 1px solid #ddd; border-radius: 4px; padding: .5em }
  .chart h3 { font-size: .95em; margin: 0 0 .3em; font-weight: 600 } .chart .now { float: right; font-weight: normal; color: #555 }
  table { border-collapse: collapse; background: #fff } td, th { border: 1px solid #ddd; padding: .25em .6em; text-align: left; vertical-align: top }
  code { font-size: .9em } form { display: flex; flex-wrap: wrap; gap: .6em; align-items: end } label { display: flex; flex-direction: column; font-size: .9em }
  input, select, button { font: inherit; padding: .2em .4em } #lookup-error { color: #b00 }
</style>
</head>
<body>
<h1 id="title">tilekiln</h1>
<div id="state">connecting…</div>
<h2>Live</h2>
<div class="charts">
  <div class="chart"><h3 id="h-throughput">Throughput <span class="now" id="now-throughput"></span></h3><div id="c-throughput"></div></div>
  <div class="chart"><h3>Kafka lag (records) <span class="now" id="now-lag"></span></h3><div id="c-lag"></div></div>
  <div class="chart"><h3>Watermark delay (s) <span class="now" id="now-watermark"></span></h3><div id="c-watermark"></div></div>
  <div class="chart"><h3 id="h-latency">p99 latency (ms) <span class="now" id="now-latency"></span></h3><div id="c-latency"></div></div>
</div>
<h2>GroupBys</h2>
<table id="group-bys"><thead><tr><th>GroupBy</th><th>key columns</th><th>output columns</th></tr></thead><tbody></tbody></table>
<h2>Look a key up</h2>
<form id="lookup">
  <label>GroupBy <select id="lookup-group-by"></select></label>
  <span id="lookup-keys"></span>
  <label>at (ISO time or epoch ms; empty = now) <input id="lookup-at" size="26"></label>
  <button type="submit">Fetch</button>
</form>
<p id="lookup-error"></p>
<table id="features" hidden><thead><tr><th>feature</th><th>value</th></tr></thead><tbody></tbody></table>
<script src="/assets/uPlot.iife.min.js"></script>
<script>
'use strict'
const $ = id => document.getElementById(id)
const fmt = v => v === null || v === undefined || Number.isNaN(v) ? '—' : Math.round(v).toLocaleString('en-US')
const series = [
  { key: 'throughput', value: s => s.eventsPerSecond, color: '#1f77b4' },
  { key: 'lag', value: s => s.sourceLag, color: '#d62728' },
  { key: 'watermark', value: s => s.watermarkDelayMillis === null ? null : s.watermarkDelayMillis / 1000, color: '#2ca02c' },
  { key: 'latency', value: s => s.p99LatencyMillis, color: '#9467bd' }
]
const data = { at: [], values: series.map(() => []) }
let draws = 0
const charts = series.map(c => new uPlot({
  width: Math.max(300, $('c-' + c.key).clientWidth), height: 180, legend: { show: false },
  scales: { x: { time: true } },
  series: [{}, { stroke: c.color, width: 2, spanGaps: false }],
  axes: [{}, { size: 60 }],
  hooks: { draw: [() => { draws++; document.body.dataset.draws = String(draws) }] }
}, [[], []], $('c-' + c.key)))
let since = 0
async function poll () {
  try {
    const r = await fetch('/v1/status?since=' + since)
    const s = await r.json()
    $('title').textContent = 'tilekiln ' + s.mode + ' — ' + s.title
    $('state').textContent = s.ready === null ? 'ready' : 'not ready: ' + s.ready
    $('state').className = s.ready === null ? '' : 'bad'
    if (s.mode === 'serve') { $('h-throughput').firstChild.textContent = 'Feature requests/s '; $('h-latency').firstChild.textContent = 'p99 fetch latency (ms) ' } else $('h-throughput').firstChild.textContent = 'Events/s '
    for (const p of s.samples) {
      data.at.push(p.at / 1000)
      series.forEach((c, i) => data.values[i].push(c.value(p)))
      since = p.at
    }
    while (data.at.length > 600) { data.at.shift(); data.values.forEach(v => v.shift()) }
    charts.forEach((ch, i) => ch.setData([data.at, data.values[i]]))
    document.body.dataset.points = String(data.at.length)
    const last = s.samples[s.samples.length - 1]
    if (last !== undefined) series.forEach(c => { $('now-' + c.key).textContent = fmt(c.value(last)) })
  } catch (e) {
    $('state').textContent = 'cannot reach the server: ' + e.message
    $('state').className = 'bad'
  }
  setTimeout(poll, 1000)
}
let groupBys = []
async function loadGroupBys () {
  const r = await fetch('/v1/group-bys')
  groupBys = await r.json()
  const body = $('group-bys').tBodies[0]
  body.replaceChildren()
  for (const g of groupBys) {
    const tr = body.insertRow()
    tr.insertCell().textContent = g.name
    tr.insertCell().textContent = g.keyColumns.join(', ')
    const cols = tr.insertCell()
    for (const f of g.features) { const c = document.createElement('code'); c.textContent = f; cols.append(c, document.createElement('br')) }
  }
  const sel = $('lookup-group-by')
  sel.replaceChildren(...groupBys.map(g => new Option(g.name, g.name)))
  keyInputs()
  if (groupBys.length === 0) setTimeout(loadGroupBys, 1000)
}
function keyInputs () {
  const g = groupBys.find(x => x.name === $('lookup-group-by').value)
  $('lookup-keys').replaceChildren(...(g ? g.keyColumns : []).map(k => {
    const l = document.createElement('label'); l.textContent = k
    const i = document.createElement('input'); i.name = k; i.dataset.key = k; i.size = 12
    l.append(i); return l
  }))
}
$('lookup-group-by').addEventListener('change', keyInputs)
$('lookup').addEventListener('submit', async ev => {
  ev.preventDefault()
  $('lookup-error').textContent = ''
  const name = $('lookup-group-by').value
  const q = new URLSearchParams()
  for (const i of $('lookup-keys').querySelectorAll('input')) q.set(i.dataset.key, i.value)
  const at = $('lookup-at').value.trim()
  if (at !== '') q.set('at', /^-?\\d+$/.test(at) ? at : String(Date.parse(at)))
  try {
    const r = await fetch('/v1/features/' + encodeURIComponent(name) + '?' + q)
    const body = await r.json()
    if (!r.ok) { $('lookup-error').textContent = body.error + ' [' + body.code + ']'; $('features').hidden = true; return }
    const tb = $('features').tBodies[0]
    tb.replaceChildren()
    for (const [k, v] of Object.entries(body.features)) { const tr = tb.insertRow(); tr.insertCell().textContent = k; tr.insertCell().textContent = JSON.stringify(v) }
    $('features').hidden = false
    $('features').dataset.key = JSON.stringify(body.key)
  } catch (e) {
    $('lookup-error').textContent = 'request failed: ' + e.message
  }
})
poll()
loadGroupBys().catch(e => { $('lookup-error').textContent = 'cannot list the GroupBys: ' + e.message })
</script>
</body>
</html>
`

/** The status feed of `tilekiln serve`: feature requests per second and their p99 latency, sampled every second. */
export class FetchStats implements StatusFeed {
  readonly mode = 'serve'
  readonly title: string
  readonly #metrics: Metrics
  readonly #points: StatusPoint[] = []
  #prev = { at: Date.now(), requests: 0 }
  readonly #timer: NodeJS.Timeout

  constructor (metrics: Metrics, title: string) {
    this.#metrics = metrics
    this.title = title
    this.#timer = setInterval(() => this.#sample(), 1000)
    this.#timer.unref()
  }

  #sample (now = Date.now()): void {
    const requests = this.#metrics.counter(M.fetchRequests) + this.#metrics.counter(M.fetchErrors)
    const recent = this.#metrics.takeRecent(M.fetchLatency)
    this.#points.push({
      at: now,
      eventsPerSecond: (requests - this.#prev.requests) / (Math.max(1, now - this.#prev.at) / 1000),
      sourceLag: Number.NaN,
      watermarkDelayMillis: Number.NaN,
      p99LatencyMillis: recent.count === 0 ? Number.NaN : recent.p99 / 1000
    })
    if (this.#points.length > 600) this.#points.shift()
    this.#prev = { at: now, requests }
  }

  samples (): readonly StatusPoint[] { return this.#points }

  close (): void { clearInterval(this.#timer) }
}
