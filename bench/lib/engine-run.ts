// One timed run of the engine for the latency and sweep scenarios: the generator source (real-time event clock,
// unthrottled or at a fixed rate) → the engine with the given knobs → a fresh embedded LMDB store, always trigger
// unless told. It waits for the first write, warms up, then measures a window: events acknowledged by the store per second, and the
// engine's own event→store latency (the histogram it keeps for the live view, metrics `event_to_store_latency`)
// over that window only. Then it stops the engine and removes the store.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compilePlan } from '../../src/config/plan.ts'
import { MemoryDeadLetters } from '../../src/engine/dead-letter.ts'
import { Engine, type Progress } from '../../src/engine/engine.ts'
import { M } from '../../src/metrics/metrics.ts'
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'
import { RedisStore } from '../../src/sink/redis-store.ts'
import type { TileStore } from '../../src/sink/store.ts'
import { startRedis } from '../../test/services/redis.ts'
import { openGeneratorSource, parseGeneratorOptions } from '../../src/source/generator.ts'

export const GROUP_BY = fileURLToPath(new URL('../../../examples/group_bys/clicks.v1.json', import.meta.url))

/** The percentiles of the latency curve every run reports (the report draws them as a CDF). */
export const PERCENTILES = [50, 75, 90, 95, 99, 99.9, 99.99, 100] as const

export interface EngineRunOptions {
  readonly workers: number
  readonly keys: number
  readonly zipf?: number
  /** Events per second the generator produces (0: as fast as the engine takes them). */
  readonly rate: number
  readonly warmupSeconds: number
  readonly seconds: number
  readonly trigger?: string
  /** Records per worker batch while the worker keeps up, most a batch grows to (engine defaults), slots per worker. */
  readonly batchRecords?: number
  readonly batchRecordsMax?: number
  readonly slots?: number
  /** Store requests in flight (the writer's concurrency). */
  readonly inFlight?: number
  readonly lingerMillis?: number
  /** The store: the embedded LMDB store (default) or a redis-server started for the run (127.0.0.1). */
  readonly store?: 'embedded' | 'redis'
  /** The embedded store's flushing (`--store-sync`; default the engine's). */
  readonly storeSync?: 'commit' | 'checkpoint'
  /** Events the paced generator hands over between looks at the clock (a power of two; default the generator's). */
  readonly burst?: number
}

export interface EngineRunResult {
  /** Events acknowledged by the store per second over the measured window. */
  readonly eventsPerSecond: number
  /** Events the source handed to the engine per second over the window. */
  readonly offeredPerSecond: number
  /** Latency (ms) at each of PERCENTILES over the window. */
  readonly latency: number[]
  readonly latencyCount: number
  /** Where the latency goes, at each of PERCENTILES: batching (record in → batch to its worker), worker, writing. */
  readonly stages: { readonly batching: number[], readonly worker: number[], readonly writing: number[] }
  readonly tileWritesPerEvent: number
  readonly deadLetters: number
  readonly peakRssMB: number
}

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
const acked = (p: Progress): number => p.records - p.lagRecords

export async function runEngine (o: EngineRunOptions): Promise<EngineRunResult> {
  const groupBy = JSON.parse(readFileSync(GROUP_BY, 'utf8'))
  const plan = compilePlan(groupBy)
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-bench-run-'))
  const redis = o.store === 'redis' ? await startRedis() : null
  const store: TileStore = redis !== null
    ? new RedisStore({ host: '127.0.0.1', port: redis.port, db: 0, prefix: 'bench' })
    : new EmbeddedStore(join(dir, 'store'), o.storeSync === undefined ? {} : { sync: o.storeSync })
  const burst = o.burst === undefined ? '' : `,burst=${o.burst}`
  const source = openGeneratorSource(plan, parseGeneratorOptions(`keys=${o.keys},zipf=${o.zipf ?? 0},rate=${Math.round(o.rate)},seed=42${burst}`))
  const trigger = o.trigger ?? 'always'
  const ring: { slots?: number } = {}
  if (o.slots !== undefined) ring.slots = o.slots
  const batch: { records?: number, maxRecords?: number } = {}
  if (o.batchRecords !== undefined) batch.records = o.batchRecords
  if (o.batchRecordsMax !== undefined) batch.maxRecords = o.batchRecordsMax
  const engine = new Engine({
    groupBy,
    source,
    store,
    deadLetters: new MemoryDeadLetters(),
    workers: o.workers,
    trigger: trigger === 'always' ? { kind: 'always' } : { kind: 'buffered', millis: Number(trigger.split(':')[1]) },
    ring,
    batch,
    ...(o.inFlight !== undefined ? { writer: { maxInFlight: o.inFlight } } : {}),
    ...(o.lingerMillis !== undefined ? { lingerMillis: o.lingerMillis } : {}),
    log: () => {}
  })
  let failed: unknown = null
  const running = engine.run().catch(e => { failed = e })
  try {
    // Start-up (worker threads, WASM instantiation) takes a second or more: the warm-up counts from the first
    // events the store acknowledged.
    const startBy = Date.now() + 60_000
    while (acked(engine.progress()) === 0 && failed === null) {
      if (Date.now() > startBy) throw new Error('the engine wrote nothing in 60 s')
      await sleep(20)
    }
    await sleep(o.warmupSeconds * 1000)
    if (failed !== null) throw failed
    const p0 = engine.progress()
    const t0 = performance.now()
    const stageNames = [M.latencyBatching, M.latencyWorker, M.latencyStore] as const
    engine.metrics.takeRecent(M.latency)
    for (const m of stageNames) engine.metrics.takeRecent(m)
    await sleep(o.seconds * 1000)
    const p1 = engine.progress()
    const t1 = performance.now()
    const latency = engine.metrics.recentPercentiles(M.latency, PERCENTILES)
    const [batching, worker, writing] = stageNames.map(m => engine.metrics.recentPercentiles(m, PERCENTILES)) as [number[], number[], number[]]
    const window = engine.metrics.takeRecent(M.latency)
    const dt = (t1 - t0) / 1000
    const events = acked(p1) - acked(p0)
    return {
      eventsPerSecond: events / dt,
      offeredPerSecond: (p1.records - p0.records) / dt,
      latency,
      latencyCount: window.count,
      stages: { batching, worker, writing },
      tileWritesPerEvent: events > 0 ? (p1.tilesWritten - p0.tilesWritten) / events : 0,
      deadLetters: p1.deadLetters,
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024)
    }
  } finally {
    engine.stop()
    await running
    await store.close()
    await redis?.stop()
    rmSync(dir, { recursive: true, force: true })
    if (failed !== null) throw failed
  }
}
