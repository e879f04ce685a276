// tilekiln beside Apache Flink on the same machine and the same events (DESIGN §5): Chronon's tiled Flink job
// shape (bench/flink/, embedded MiniCluster) against tilekiln's engine benchmark (bench/engine.ts), scenario by
// scenario, interleaved so both see the same background load. Prints a side-by-side table and writes
// bench/results/flink.json.
//
//   npm run bench:flink                         every scenario, 3,000,000 events each
//   npm run bench:flink -- --events 2000000     events per scenario
//   npm run bench:flink -- --quick              the four always-fire scenarios only, no Flink variants
//   npm run bench:flink -- --verify             also prove both engines write the same tiles (synthetic clock)
//   npm run bench:flink -- --runs 3             Flink job executions per JVM (first cold, rest warm; default 2)
//
// Needs a JDK (17+) and Maven on PATH; Maven fetches Flink from Maven Central on the first build (cached).
//
// Same events: the Java job carries a draw-for-draw port of src/source/generator.ts; before measuring, the
// runner checks that both generators produce byte-identical Avro records (SHA-256 over 200,000 records per key
// distribution). Same output: the job encodes keys and tiles with tilekiln's own Avro schemas and writes them into
// LMDB in tilekiln's physical layout; `--verify` runs both engines on a synthetic clock and compares the stores.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { avroSchemaOf, compileEncoder } from '../src/codec/avro.ts'
import { ByteWriter } from '../src/codec/bytes.ts'
import { encodeTileKey } from '../src/codec/tile-key.ts'
import { bindGroupBy } from '../src/config/bind.ts'
import { compilePlan } from '../src/config/plan.ts'
import { queryCompiler } from '../src/expr/index.ts'
import { EmbeddedStore } from '../src/sink/embedded-store.ts'
import { METADATA_PREFIX } from '../src/sink/store.ts'
import { generateEvents, generatorSchema, parseGeneratorOptions } from '../src/source/generator.ts'
import { engineScenarios, GROUP_BY, type Row, runScenarioIsolated, type Scenario, SEED } from './engine.ts'
import { printTable, writeResults } from './report.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const PROJECT = join(ROOT, 'bench', 'flink')
const TARGET = join(PROJECT, 'target')
const MAIN_CLASS = 'tilekiln.bench.flink.TilingJob'
// Kept modest: the machine is shared. G1 is the JVM's and Flink's default collector.
const JVM_HEAP = ['-Xms1g', '-Xmx2g']
// Java 17 closes JDK internals that Flink 1.20 and lmdbjava reach into (Flink's own start scripts pass these).
const JVM_OPENS = [
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  '--add-opens=java.base/java.util=ALL-UNNAMED',
  '--add-opens=java.base/java.nio=ALL-UNNAMED',
  '--add-exports=java.base/sun.nio.ch=ALL-UNNAMED'
]

interface FlinkVariant { sink: 'lmdb' | 'discard', stateBackend: 'hashmap' | 'rocksdb' }
const DEFAULT_VARIANT: FlinkVariant = { sink: 'lmdb', stateBackend: 'hashmap' }

interface FlinkRun {
  run: number
  warm: boolean
  events: number
  millis: number
  wallMillis: number
  tileWrites: number
  transactions: number
  storeBusyMillis: number
  storeSyncMillis: number
  lateEvents: number
  p50: number
  p99: number
  p999: number
  gcMillis: number
  peakRssMB: number
}

// ---- building the Java side ------------------------------------------------------------------------------------

function filesUnder (dir: string): string[] {
  const out: string[] = []
  for (const f of readdirSync(dir)) {
    const p = join(dir, f)
    if (statSync(p).isDirectory()) out.push(...filesUnder(p)); else out.push(p)
  }
  return out.sort()
}

/** `mvn -q package`, skipped when pom.xml and the Java sources hash to what the last build saw. */
function buildFlinkJob (): string {
  for (const tool of ['java', 'mvn']) {
    const r = spawnSync(tool, ['-version'], { encoding: 'utf8' })
    if (r.error !== undefined || r.status !== 0) throw new Error(`bench:flink needs '${tool}' (JDK 17+ and Maven) on PATH`)
  }
  const h = createHash('sha256')
  for (const f of [join(PROJECT, 'pom.xml'), ...filesUnder(join(PROJECT, 'src'))]) h.update(f.slice(PROJECT.length)).update(readFileSync(f))
  const hash = h.digest('hex')
  const stamp = join(TARGET, 'build.sha256')
  const classpath = join(TARGET, 'classpath.txt')
  if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== hash || !existsSync(classpath)) {
    process.stderr.write('bench:flink: building bench/flink (mvn -q package; the first build downloads Flink from Maven Central)…\n')
    const r = spawnSync('mvn', ['-q', '-B', '-f', join(PROJECT, 'pom.xml'), 'package'], { encoding: 'utf8', maxBuffer: 1 << 26 })
    if (r.status !== 0) {
      process.stderr.write(r.stdout + r.stderr)
      throw new Error('mvn package failed for bench/flink')
    }
    writeFileSync(stamp, hash)
  }
  return [join(TARGET, 'classes'), readFileSync(classpath, 'utf8').trim()].join(':')
}

// ---- what the Java job is told ---------------------------------------------------------------------------------

/** Schemas and names from tilekiln's own plan, so the Java job encodes exactly what tilekiln encodes. */
function writeSpec (dir: string): { path: string, name: string } {
  const groupBy = JSON.parse(readFileSync(GROUP_BY, 'utf8'))
  const plan = compilePlan(groupBy)
  const { schema } = generatorSchema(plan, parseGeneratorOptions(''))
  const bound = bindGroupBy(plan, schema, queryCompiler('spark'))
  const spec = {
    name: plan.name,
    dataset: plan.streamingDataset,
    tileSizeMillis: plan.tileSizeMillis,
    inputSchema: avroSchemaOf(schema),
    tileSchema: bound.tileCodec.avroSchema,
    keySchema: bound.keyCodec.avroSchema
  }
  const path = join(dir, 'spec.json')
  writeFileSync(path, JSON.stringify(spec))
  return { path, name: plan.name }
}

function java (cp: string, args: string[], timeoutMillis = 15 * 60_000): string {
  // spawnSync kills the JVM on timeout: no JVM outlives the runner.
  const r = spawnSync('java', [...JVM_HEAP, ...JVM_OPENS, '-Dorg.slf4j.simpleLogger.defaultLogLevel=error', '-cp', cp, MAIN_CLASS, ...args],
    { encoding: 'utf8', maxBuffer: 1 << 26, timeout: timeoutMillis, killSignal: 'SIGKILL' })
  if (r.status !== 0) {
    process.stderr.write(r.stdout + r.stderr)
    throw new Error(`java ${MAIN_CLASS} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`)
  }
  return r.stdout
}

// ---- same events -----------------------------------------------------------------------------------------------

const DIGEST_EVENTS = 200_000
const SYNTHETIC_START = 1_700_000_000_000

function tilekilnDigest (zipf: number): string {
  const plan = compilePlan(JSON.parse(readFileSync(GROUP_BY, 'utf8')))
  const opts = parseGeneratorOptions(`keys=100000,zipf=${zipf},count=${DIGEST_EVENTS},seed=${SEED},start=${SYNTHETIC_START},step=1`)
  const { schema, roles } = generatorSchema(plan, opts)
  const encode = compileEncoder(schema)
  const h = createHash('sha256')
  const w = new ByteWriter(64)
  for (const ev of generateEvents(plan, opts, schema, roles)) {
    w.reset()
    encode(w, ev.values)
    h.update(w.buf.subarray(0, w.pos))
  }
  return h.digest('hex')
}

function checkSameEvents (cp: string): void {
  for (const zipf of [0, 1.1]) {
    const ours = tilekilnDigest(zipf)
    const out = java(cp, ['--digest', String(DIGEST_EVENTS), '--keys', '100000', '--zipf', String(zipf), '--seed', String(SEED), '--start', String(SYNTHETIC_START), '--step', '1'])
    const theirs = /DIGEST ([0-9a-f]+)/.exec(out)?.[1]
    if (theirs !== ours) throw new Error(`the Java generator does not reproduce tilekiln's events (zipf ${zipf}): ${theirs} ≠ ${ours}`)
  }
  process.stderr.write(`bench:flink: same events — both generators give identical Avro bytes (SHA-256 over ${DIGEST_EVENTS.toLocaleString('en-US')} records, uniform and Zipf 1.1)\n`)
}

// ---- same tiles (--verify) -------------------------------------------------------------------------------------

type Tiles = Map<string, { value: string, complete: number }>

function addTile (out: Tiles, tileKey: Uint8Array, v: Uint8Array): void {
  // The last byte of a tile value is isComplete's: kept apart, see verify().
  out.set(Buffer.from(tileKey).toString('hex'), { value: Buffer.from(v.subarray(0, v.length - 1)).toString('hex'), complete: v[v.length - 1]! })
}

/** Every (TileKey, tile value) tilekiln's store holds. */
async function tilekilnTiles (dir: string): Promise<Tiles> {
  const store = new EmbeddedStore(dir, { readOnly: true })
  const out: Tiles = new Map()
  try {
    for await (const [k, v] of store.entries()) {
      if (!Buffer.from(k).toString('latin1').startsWith(METADATA_PREFIX)) addTile(out, k, v)
    }
  } finally {
    await store.close()
  }
  return out
}

/**
 * Every (TileKey, tile value) the Flink job's store holds, read through the Java side (`--dump`): lmdb-js cannot
 * open a file written by lmdbjava's stock LMDB. Physical keys are tilekiln's layout (embedded-store.ts).
 */
function flinkTiles (cp: string, dir: string, dataset: string): Tiles {
  const out: Tiles = new Map()
  for (const line of java(cp, ['--dump', dir]).split('\n')) {
    if (line.trim() === '') continue
    const [kh, vh] = line.split(' ') as [string, string]
    const k = Buffer.from(kh, 'hex')
    // u32 dataset id (the job's one dataset) | u16 key length | key | u64 tile size | i64 tile start, sign flipped.
    const len = k.readUInt16BE(4)
    const keyBytes = k.subarray(6, 6 + len)
    const tileSizeMillis = Number(k.readBigUInt64BE(6 + len))
    const tileStartMillis = Number(BigInt.asIntN(64, k.readBigUInt64BE(14 + len) ^ (1n << 63n)))
    // The value is 8-byte latest event time ‖ tile record, as in the embedded store; entries() reports the record.
    addTile(out, encodeTileKey({ dataset, keyBytes, tileSizeMillis, tileStartMillis }), Buffer.from(vh, 'hex').subarray(8))
  }
  return out
}

/**
 * Runs both engines on the same 200,000 events with a synthetic clock (1 ms per event, so tiles open and close),
 * with 1 and 2 workers/subtasks, and compares every tile. Values must be byte-identical except the trailing
 * isComplete flag: Chronon's always-fire job only writes when an event arrives, when the watermark has not yet
 * passed the tile, so its tiles stay isComplete = false; tilekiln writes each tile once more when it closes.
 */
async function verify (cp: string, specPath: string, work: string): Promise<string> {
  const events = 200_000
  const lines: string[] = []
  for (const parallelism of [1, 2]) {
    const tk = join(work, `verify-tilekiln-${parallelism}`)
    const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'tilekiln.js'), 'run', '--group-by', GROUP_BY, '--source',
      `generator:keys=100000,zipf=1.1,count=${events},seed=${SEED},start=${SYNTHETIC_START},step=1`,
      // Chronon's tiles only, as the Flink job writes: no rolled-up tiles (the daemon's default writes them).
      '--store', `embedded:${tk}`, '--workers', String(parallelism), '--until-end', '--rollups', 'none'], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`tilekiln run failed: ${r.stderr}`)
    const fl = join(work, `verify-flink-${parallelism}`)
    java(cp, ['--spec', specPath, '--events', String(events), '--keys', '100000', '--zipf', '1.1', '--seed', String(SEED),
      '--start', String(SYNTHETIC_START), '--step', '1', '--parallelism', String(parallelism), '--runs', '1',
      '--store-dir', fl, '--keep-store', 'true'])
    const a = await tilekilnTiles(tk)
    const b = flinkTiles(cp, join(fl, 'run-0'), JSON.parse(readFileSync(specPath, 'utf8')).dataset as string)
    let differ = 0
    let missing = 0
    for (const [k, v] of a) {
      const w = b.get(k)
      if (w === undefined) missing++
      else if (w.value !== v.value) differ++
    }
    const extra = [...b.keys()].filter(k => !a.has(k)).length
    const flinkComplete = [...b.values()].filter(v => v.complete === 1).length
    if (differ + missing + extra > 0) throw new Error(`stores differ at parallelism ${parallelism}: ${differ} different values, ${missing} tiles only tilekiln wrote, ${extra} only Flink wrote`)
    lines.push(`parallelism ${parallelism}: ${a.size.toLocaleString('en-US')} tiles, identical keys and IR bytes (isComplete: tilekiln ${[...a.values()].filter(v => v.complete === 1).length.toLocaleString('en-US')} true, Flink ${flinkComplete.toLocaleString('en-US')} true)`)
  }
  const text = `same tiles — ${events.toLocaleString('en-US')} Zipf events on a synthetic clock: ${lines.join('; ')}`
  process.stderr.write(`bench:flink: ${text}\n`)
  return text
}

// ---- the comparison --------------------------------------------------------------------------------------------

function runFlink (cp: string, specPath: string, work: string, s: Scenario, v: FlinkVariant, runs: number): FlinkRun[] {
  const dir = mkdtempSync(join(work, 'flink-'))
  try {
    const out = java(cp, ['--spec', specPath, '--events', String(s.events), '--keys', String(s.keys), '--zipf', String(s.zipf),
      '--seed', String(SEED), '--parallelism', String(s.workers), '--trigger', s.trigger, '--state-backend', v.stateBackend,
      '--sink', v.sink, '--runs', String(runs), '--store-dir', dir])
    return out.split('\n').filter(l => l.startsWith('RESULT ')).map(l => JSON.parse(l.slice(7)) as FlinkRun)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const rate = (events: number, millis: number): number => Math.round(events / (millis / 1000))

function row (s: Scenario, v: FlinkVariant, tk: Row, fl: FlinkRun[]): Row {
  const cold = fl[0]!
  const warm = fl.length > 1 ? fl.slice(1).reduce((a, b) => (a.millis <= b.millis ? a : b)) : cold
  const tkRate = Number(tk['events/s'])
  const flRate = rate(warm.events, warm.millis)
  return {
    'workers / parallelism': s.workers,
    keys: s.zipf > 0 ? `zipf ${s.zipf}` : 'uniform',
    trigger: s.trigger,
    'flink sink / state': `${v.sink} / ${v.stateBackend}`,
    'tilekiln ev/s': tkRate,
    'flink ev/s (warm)': flRate,
    'flink ev/s (cold)': rate(cold.events, cold.millis),
    'tilekiln ÷ flink': Number((tkRate / flRate).toFixed(2)),
    'writes/event tk | fl': `${Number(tk['writes/event']).toFixed(2)} | ${(warm.tileWrites / warm.events).toFixed(2)}`,
    'p50 ms tk | fl': `${tk['p50 ms']} | ${warm.p50}`,
    'p99 ms tk | fl': `${tk['p99 ms']} | ${warm.p99}`,
    'RSS MB tk | fl': `${tk['peak RSS MB']} | ${warm.peakRssMB}`
  }
}

async function main (args: string[]): Promise<void> {
  const ev = args.indexOf('--events')
  const events = ev >= 0 ? Number(args[ev + 1]) : 3_000_000
  const runsAt = args.indexOf('--runs')
  const runs = runsAt >= 0 ? Math.max(1, Number(args[runsAt + 1])) : 2
  const quick = args.includes('--quick')

  const cp = buildFlinkJob()
  const work = mkdtempSync(join(tmpdir(), 'tilekiln-flink-bench-'))
  try {
    const spec = writeSpec(work)
    checkSameEvents(cp)
    const verified = args.includes('--verify') ? await verify(cp, spec.path, work) : undefined

    const plan: { s: Scenario, variants: FlinkVariant[] }[] = engineScenarios(events)
      .filter(s => !quick || s.trigger === 'always')
      .map(s => ({ s, variants: [DEFAULT_VARIANT] }))
    if (!quick) {
      // Where the gap comes from: Flink without the store's cost, and Flink on Chronon's production state backend.
      for (const p of plan) {
        if (p.s.trigger === 'always' && p.s.zipf === 0) p.variants.push({ sink: 'discard', stateBackend: 'hashmap' })
        if (p.s.trigger === 'always' && p.s.zipf === 0 && p.s.workers === 2) p.variants.push({ sink: 'lmdb', stateBackend: 'rocksdb' })
      }
    }

    const rows: Row[] = []
    const raw: unknown[] = []
    for (const { s, variants } of plan) {
      // As many tilekiln runs (each a fresh process) as warm Flink runs, best of each: the machine is shared, and
      // the fastest run is the one least disturbed by others.
      process.stderr.write(`bench:flink: ${JSON.stringify(s)}\n  tilekiln (${Math.max(1, runs - 1)} runs)…`)
      const tkRuns: Row[] = []
      for (let i = 0; i < Math.max(1, runs - 1); i++) tkRuns.push(runScenarioIsolated(s))
      const tk = tkRuns.reduce((a, b) => (Number(a['events/s']) >= Number(b['events/s']) ? a : b))
      process.stderr.write(` ${tkRuns.map(r => r['events/s']).join(', ')} ev/s\n`)
      for (const v of variants) {
        process.stderr.write(`  flink (${v.sink} sink, ${v.stateBackend} state, ${runs} runs in one JVM)…`)
        const fl = runFlink(cp, spec.path, work, s, v, runs)
        process.stderr.write(` ${fl.map(r => `${r.warm ? 'warm' : 'cold'} ${rate(r.events, r.millis)}`).join(', ')} ev/s\n`)
        rows.push(row(s, v, tk, fl))
        raw.push({ scenario: s, variant: v, tilekiln: tkRuns, flink: fl })
      }
    }

    const jvm = spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr.split('\n')[0]?.trim()
    const flinkVersion = /<flink\.version>([^<]+)</.exec(readFileSync(join(PROJECT, 'pom.xml'), 'utf8'))?.[1]
    printTable(`tilekiln vs Apache Flink ${flinkVersion} (embedded MiniCluster, ${jvm}) — ${spec.name}, ${events.toLocaleString('en-US')} events per run, 100,000 keys`, rows)
    const notes = [
      'ev/s: events from the first generated event until every tile write is committed to LMDB. Flink warm = best of the runs after the first in the same JVM, cold = the first; tilekiln = best of as many fresh processes as there are warm Flink runs.',
      'writes/event: tilekiln\'s always trigger writes a tile once per batch of its events (and once more, complete, when it closes); Chronon\'s AlwaysFireOnElement writes once per event.',
      'latency: event time (= generation time) → store commit; tilekiln per event, Flink per tile write (per event under always-fire, per flush under buffered).',
      'flink sink discard: same job, the store thread drops the batches — Flink without the cost of LMDB (less work than tilekiln does).'
    ]
    for (const n of notes) process.stdout.write(`  ${n}\n`)
    const path = writeResults('flink', { flinkVersion, jvm, events, runsPerJvm: runs, sameEvents: 'verified by digest', sameTiles: verified ?? 'not run (use --verify)', notes, rows, raw })
    process.stdout.write(`\nwritten ${path}\n`)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

await main(process.argv.slice(2))
