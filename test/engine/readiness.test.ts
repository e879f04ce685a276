// /readyz and /healthz of a running engine: not ready until the store took the serving info, not ready (with the
// reason) while the store fails for longer than a retry, ready again when it recovers; the recovery is logged.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { compilePlan } from '../../src/config/plan.ts'
import { MemoryDeadLetters } from '../../src/engine/dead-letter.ts'
import { Engine } from '../../src/engine/engine.ts'
import { featureServer, listen } from '../../src/fetch/http.ts'
import { MemoryStore } from '../../src/sink/memory-store.ts'
import { openGeneratorSource, parseGeneratorOptions } from '../../src/source/generator.ts'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { repoRoot } from '../helpers/reference.ts'

const GB = JSON.parse(readFileSync(join(repoRoot, 'examples/group_bys/clicks.v1.json'), 'utf8')) as unknown

async function waitFor (what: string, timeoutMs: number, ok: () => Promise<boolean> | boolean): Promise<void> {
  const started = Date.now()
  while (!await ok()) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

test('readyz: 503 until the store is connected, 503 with the reason while the writer is stalled, 200 after; healthz stays ok', { timeout: 60_000 }, async () => {
  let failing = false
  const store = new MemoryStore({ faults: { fault: () => failing ? 'before' : undefined } })
  const source = openGeneratorSource(compilePlan(GB), parseGeneratorOptions('keys=20,rate=5000,seed=2'))
  const lines: string[] = []
  const engine = new Engine({ groupBy: GB, source, store, deadLetters: new MemoryDeadLetters(), log: l => lines.push(l) })
  const server = featureServer(new Map(), engine.metrics, { health: engine })
  const port = await listen(server, 0, '127.0.0.1')
  const get = async (path: string): Promise<{ status: number, text: string }> => { const r = await fetch(`http://127.0.0.1:${port}${path}`); return { status: r.status, text: await r.text() } }
  try {
    const before = await get('/readyz')
    assert.equal(before.status, 503)
    assert.match(before.text, /not ready: connecting to the store memory/)
    const run = engine.run()
    await waitFor('ready', 10_000, async () => (await get('/readyz')).status === 200)
    assert.equal((await get('/healthz')).text, 'ok\n')
    failing = true
    await waitFor('not ready while the store fails', 20_000, async () => (await get('/readyz')).status === 503)
    assert.match((await get('/readyz')).text, /not ready: the store writer is stalled: the store has failed or been slow for \d+ s/)
    assert.equal((await get('/healthz')).status, 200, 'a stalled store is not a dead process')
    const m = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
    assert.match(m, /^tilekiln_kvstore_writer_retries_total\{feature_group="examples.clicks.v1"\} [1-9]/m)
    failing = false
    await waitFor('ready again', 20_000, async () => (await get('/readyz')).status === 200)
    assert.ok(lines.some(l => /^store write failed \(attempt 1, retrying/.test(l)), 'the failure is logged')
    assert.ok(lines.filter(l => /^store write failed/.test(l)).length <= 3, `failures are rate-limited: ${lines.filter(l => /^store write failed/.test(l)).length} lines`)
    assert.ok(lines.some(l => /^the store acknowledges writes again, [\d.]+ s after its trouble began/.test(l)), 'the recovery is logged')
    engine.stop()
    await run
    assert.match((await get('/readyz')).text, /not ready: stopping/)
  } finally {
    server.close()
    await store.close()
  }
})

test('readyz follows the source: connecting until it reports in, its trouble (a broker outage) with the reason, ready once it reads', { timeout: 90_000 }, async () => {
  const store = new MemoryStore()
  const gen = openGeneratorSource(compilePlan(GB), parseGeneratorOptions('keys=5,rate=2000,seed=2'))
  let step: (what: 'trouble' | 'read') => void = () => {}
  const steps: ('trouble' | 'read')[] = []
  let wake: (() => void) | null = null
  step = what => { steps.push(what); wake?.() }
  const next = async (): Promise<'trouble' | 'read'> => {
    while (steps.length === 0) await new Promise<void>(resolve => { wake = resolve })
    return steps.shift()!
  }
  // The generator, behind a source that first cannot reach its broker (as the Kafka source reports it).
  const source = Object.create(gen, {
    run: {
      value: async (pusher: Parameters<typeof gen.run>[0], signal: AbortSignal) => {
        assert.equal(await next(), 'trouble')
        pusher.sourceTrouble?.('Kafka: the broker 127.0.0.1:9 is not reachable')
        assert.equal(await next(), 'read')
        pusher.sourceTrouble?.(null)
        return await gen.run(pusher, signal)
      }
    }
  }) as typeof gen
  const engine = new Engine({ groupBy: GB, source, store, deadLetters: new MemoryDeadLetters(), log: () => {} })
  const run = engine.run()
  try {
    await waitFor('the store connected', 20_000, () => engine.notReady() !== 'connecting to the store memory')
    assert.match(engine.notReady() ?? '', /^connecting to the source generator/)
    step('trouble')
    await waitFor('the trouble reported', 20_000, () => /^the source is not reading: Kafka: the broker 127\.0\.0\.1:9 is not reachable$/.test(engine.notReady() ?? ''))
    step('read')
    await waitFor('ready', 20_000, () => engine.notReady() === null)
  } finally {
    engine.stop()
    await run
    await store.close()
  }
})
