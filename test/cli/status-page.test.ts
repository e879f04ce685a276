// The status page in a real headless Chromium (Debian's, through playwright-core): loaded while `tilekiln run` is
// running, its four charts draw live data, the GroupBy table lists the output columns, the lookup form returns the
// features of a key, and the page logs no error. The screenshot is kept in test-output/status-page/.
import assert from 'node:assert/strict'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { test } from 'node:test'
import { startTilekiln } from '../helpers/cli.ts'
import { repoRoot } from '../helpers/reference.ts'
import { tempDir } from '../hardening/helpers.ts'
import { ensureChromium } from '../services/chromium.ts'

const GB = 'examples/group_bys/clicks.v1.json'
const chromium = ensureChromium()

function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0))
    })
  })
}

async function until<T> (what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const started = Date.now()
  for (;;) {
    const v = await probe().catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

test('the status page of tilekiln run: live charts, GroupBys, a key looked up, no page errors (headless Chromium)', { timeout: 180_000, skip: chromium.path === null ? chromium.reason : false }, async () => {
  const { chromium: browserType } = await import('playwright-core')
  const tmp = tempDir('status-page')
  const port = await freePort()
  const cli = startTilekiln(['run', '--group-by', GB, '--source', 'generator:keys=20,rate=20000,seed=3', '--store', `embedded:${join(tmp.dir, 'store')}`,
    '--dead-letter', join(tmp.dir, 'dlq.jsonl'), '--metrics-port', String(port), '--progress', '0'], {}, 150_000)
  const base = `http://127.0.0.1:${port}`
  const browser = await browserType.launch({ executablePath: chromium.path!, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] })
  try {
    await until('the run is ready', 30_000, async () => (await fetch(`${base}/readyz`)).status === 200 ? true : undefined)
    // A key with features: the generator's keys are small integers.
    const key = await until('a key with tiles', 30_000, async () => {
      for (let k = 0; k < 40; k++) {
        const r = await fetch(`${base}/v1/features/examples.clicks.v1?user_id=${k}`)
        if (r.status !== 200) continue
        const body = await r.json() as { features: Record<string, unknown> }
        if (typeof body.features.price_count_1d === 'number' && body.features.price_count_1d > 0) return k
      }
      return undefined
    })

    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } })
    const problems: string[] = []
    page.on('console', m => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`) })
    page.on('pageerror', e => { problems.push(`page error: ${e.message}`) })
    page.on('requestfailed', r => { problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`) })
    page.on('request', r => { if (!r.url().startsWith(base) && !r.url().startsWith('data:')) problems.push(`request outside the server: ${r.url()}`) })
    await page.goto(`${base}/`)
    // Every chart drew, with a few seconds of live samples in it.
    // (A string: it runs in the page, and this project's TypeScript has no DOM types.)
    await page.waitForFunction('Number(document.body.dataset.points ?? 0) >= 4 && Number(document.body.dataset.draws ?? 0) >= 8', undefined, { timeout: 30_000 })
    assert.equal(await page.locator('canvas').count(), 4, 'four charts')
    const throughput = await page.locator('#now-throughput').textContent()
    assert.match(throughput ?? '', /^[\d,]+$/, 'the throughput chart shows a number')
    assert.ok(Number((throughput ?? '0').replace(/,/g, '')) > 0, `events/s ${throughput}`)
    assert.equal(await page.locator('#state').textContent(), 'ready')
    // The GroupBy and its output columns.
    const table = await page.locator('#group-bys').textContent()
    assert.match(table ?? '', /examples\.clicks\.v1/)
    for (const col of ['price_sum_1h', 'price_count_7d', 'price_average_1d']) assert.ok(table!.includes(col), `output column ${col} listed`)
    // Look the key up through the form.
    await page.locator('#lookup-keys input[data-key="user_id"]').fill(String(key))
    await page.locator('#lookup button[type="submit"]').click()
    await page.locator('#features:not([hidden])').waitFor({ timeout: 10_000 })
    const features = await page.locator('#features').textContent()
    assert.match(features ?? '', /price_count_1d\s*\d+/, 'the looked-up features are shown')
    assert.equal(await page.locator('#lookup-error').textContent(), '')
    const out = join(repoRoot, 'test-output', 'status-page')
    mkdirSync(out, { recursive: true })
    await page.screenshot({ path: join(out, 'status-page.png'), fullPage: true })
    assert.deepEqual(problems, [], 'the page logged no error and loaded nothing from elsewhere')
  } finally {
    await browser.close()
    cli.child.kill('SIGTERM')
    const r = await cli.done
    tmp.remove()
    assert.equal(r.code, 0, r.stderr.slice(-2000))
  }
})

test('tilekiln serve answers the status page and its assets from the uplot package', { timeout: 60_000 }, async () => {
  const tmp = tempDir('status-serve')
  try {
    const store = `embedded:${join(tmp.dir, 'store')}`
    const run = startTilekiln(['run', '--group-by', GB, '--source', 'generator:keys=5,count=500,seed=1', '--store', store, '--until-end', '--dead-letter', join(tmp.dir, 'dlq.jsonl'), '--progress', '0'], {}, 60_000)
    assert.equal((await run.done).code, 0)
    const port = await freePort()
    const serve = startTilekiln(['serve', '--group-by', GB, '--store', store, '--port', String(port)], {}, 50_000)
    try {
      const base = `http://127.0.0.1:${port}`
      const page = await until('serve listens', 20_000, async () => { const r = await fetch(`${base}/`); return r.status === 200 ? r : undefined })
      assert.match(page.headers.get('content-type') ?? '', /text\/html/)
      assert.match(await page.text(), /<script src="\/assets\/uPlot\.iife\.min\.js">/)
      const js = await fetch(`${base}/assets/uPlot.iife.min.js`)
      assert.equal(js.status, 200)
      assert.match(await js.text(), /uPlot/)
      const status = await until('a sample', 5000, async () => { const s = await (await fetch(`${base}/v1/status`)).json() as { mode: string, samples: unknown[] }; return s.samples.length > 0 ? s : undefined })
      assert.equal(status.mode, 'serve')
    } finally {
      serve.child.kill('SIGTERM')
      await serve.done
    }
  } finally {
    tmp.remove()
  }
})
