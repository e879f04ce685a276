// The benchmark runner: `npm run bench` runs every scenario (bench/scenarios/), `npm run bench -- <name>…` the
// named ones. Each round of a scenario runs in a fresh process, on this Node or on the one given by `--node PATH`
// (or TILEKILN_BENCH_NODE); the rounds' rows are aggregated (median, min/max, IQR: bench/lib/result.ts) and written
// with the machine, the git commit and the options to bench/results/<name>.node<major>.json.
//
//   npm run bench                              every scenario (full sizes; Flink only when named)
//   npm run bench -- --quick                   every scenario at quick sizes
//   npm run bench -- latency --workers 2 --seconds 10 --levels 0.25,0.5,0.75
//   npm run bench -- engine --rounds 5 --node 24        (a major is installed into .tilekiln/runtimes/; or a PATH)
//   npm run bench -- engine --quick --node current,24   (rounds interleaved)
//   npm run bench -- --list                    the scenarios and their options
//
// Runner flags: --quick, --smoke (about a second each, what the smoke test runs), --rounds N (default 3, or the
// scenario's own; 2 with --quick, 1 with --smoke), --node PATH[,PATH…] (`current` is this Node; rounds alternate
// between them), --timeout S (per round, default 3600), --out DIR (default bench/results).
// Every other `--name value` is a scenario option (an option only some of the named scenarios have goes to those).
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { aggregate, type BenchResult, FORMAT, gitState, machine, type Machine, RESULTS_DIR, writeResult } from './lib/result.ts'
import { type Options, resolveOptions, type Row, type Scenario } from './lib/scenario.ts'
import { printTable } from './report.ts'
import { scenarioNamed, SCENARIOS } from './scenarios/index.ts'

const RUNNER_FLAGS = new Set(['quick', 'smoke', 'list'])
const RUNNER_VALUES = new Set(['rounds', 'node', 'timeout', 'out'])

interface RoundOutput { rows: Row[], extra?: unknown, machine: Machine }

function parseArgs (argv: readonly string[]): { names: string[], runner: Record<string, string | true>, given: Record<string, string | true> } {
  const names: string[] = []
  const runner: Record<string, string | true> = {}
  const given: Record<string, string | true> = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (!a.startsWith('--')) { names.push(a); continue }
    const eq = a.indexOf('=')
    const key = eq > 0 ? a.slice(2, eq) : a.slice(2)
    let value: string | true = true
    if (eq > 0) value = a.slice(eq + 1)
    else if (!RUNNER_FLAGS.has(key) && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) value = argv[++i]!
    if (RUNNER_FLAGS.has(key) || RUNNER_VALUES.has(key)) runner[key] = value
    else given[key] = value
  }
  return { names, runner, given }
}

/** A Node major (`24`): its binary, installed into .tilekiln/runtimes/ on first use by scripts/node-runtime.mjs. */
function nodeRuntime (major: string): string {
  const script = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'node-runtime.mjs')
  const r = spawnSync(process.execPath, [script, major], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 660_000 })
  if (r.status !== 0) throw new Error(`--node ${major}: no such runtime could be installed`)
  return r.stdout.trim()
}

/** One round in a fresh process on `node`; its rows come back through a file. */
async function runRound (node: string, s: Scenario, options: Options, timeoutMs: number): Promise<RoundOutput> {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-bench-round-'))
  const out = join(dir, 'round.json')
  try {
    // Its own process group, so that a timeout also ends what the round started (a script, a broker, daemons).
    const child = spawn(node, [fileURLToPath(import.meta.url), '--round', s.name, '--options', JSON.stringify(options), '--result-file', out], { stdio: ['ignore', 'inherit', 'inherit'], detached: true })
    const killGroup = (): void => {
      try { process.kill(-child.pid!, 'SIGKILL') } catch { child.kill('SIGKILL') }
    }
    const timer = setTimeout(killGroup, timeoutMs)
    // A runner interrupted (Ctrl-C, a test's timeout) takes its round with it.
    const stop = (): void => { killGroup(); process.exit(130) }
    process.once('SIGINT', stop).once('SIGTERM', stop)
    const code = await new Promise<number | string>(resolve => child.on('exit', (c, sig) => resolve(c ?? sig ?? 1)))
    clearTimeout(timer)
    process.off('SIGINT', stop).off('SIGTERM', stop)
    if (code !== 0) throw new Error(`${s.name}: round failed (${code === 'SIGKILL' ? `killed after the ${timeoutMs / 1000} s timeout` : `exit ${code}`})`)
    return JSON.parse(readFileSync(out, 'utf8')) as RoundOutput
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The child side of runRound. */
async function round (name: string, options: Options, resultFile: string): Promise<void> {
  const s = scenarioNamed(name)
  if (s === undefined) throw new Error(`no scenario ${name}`)
  const r = await s.run(options)
  const o: RoundOutput = { rows: r.rows, extra: r.extra, machine: machine() }
  writeFileSync(resultFile, JSON.stringify(o))
}

function list (): void {
  for (const s of SCENARIOS) {
    const why = s.unavailable?.() ?? null
    process.stdout.write(`\n${s.name}${s.onlyWhenNamed !== undefined ? '  (only when named: ' + s.onlyWhenNamed + ')' : ''}${why !== null ? `  (unavailable: ${why})` : ''}\n  ${s.description}\n`)
    for (const [k, d] of Object.entries(s.options)) {
      process.stdout.write(`  --${k.padEnd(12)} ${d.help} (default ${String(d.default)}${d.quick !== undefined ? `, quick ${String(d.quick)}` : ''})\n`)
    }
  }
}

async function main (argv: readonly string[]): Promise<number> {
  const r = argv.indexOf('--round')
  if (r >= 0) {
    await round(argv[r + 1]!, JSON.parse(argv[argv.indexOf('--options') + 1]!) as Options, argv[argv.indexOf('--result-file') + 1]!)
    return 0
  }
  const { names, runner, given } = parseArgs(argv)
  if (runner.list !== undefined) { list(); return 0 }
  for (const n of names) if (scenarioNamed(n) === undefined) throw new Error(`no scenario '${n}' (known: ${SCENARIOS.map(s => s.name).join(', ')})`)
  const chosen = names.length > 0 ? names.map(n => scenarioNamed(n)!) : SCENARIOS.filter(s => s.onlyWhenNamed === undefined)
  const smoke = runner.smoke !== undefined
  const quick = smoke || runner.quick !== undefined
  const givenRounds = runner.rounds !== undefined ? Number(runner.rounds) : undefined
  if (givenRounds !== undefined && (!Number.isInteger(givenRounds) || givenRounds < 1)) throw new Error('--rounds needs a positive integer')
  // Several Nodes (comma-separated; `current` is this one): rounds alternate between them, so that load from
  // elsewhere on the machine hits each alike, and each Node gets its own result file.
  const nodes = (typeof runner.node === 'string' ? runner.node : process.env.TILEKILN_BENCH_NODE || 'current')
    .split(',').filter(n => n !== '').map(n => (n === 'current' ? process.execPath : /^[0-9]+$/.test(n) ? nodeRuntime(n) : n))
  const timeoutMs = (runner.timeout !== undefined ? Number(runner.timeout) : 3600) * 1000
  const outDir = typeof runner.out === 'string' ? runner.out : RESULTS_DIR
  for (const k of Object.keys(given)) {
    if (!chosen.some(s => k in s.options)) throw new Error(`unknown option --${k}: none of ${chosen.map(s => s.name).join(', ')} takes it (npm run bench -- --list)`)
  }
  const git = gitState()
  let failed = 0
  for (const s of chosen) {
    const why = s.unavailable?.() ?? null
    if (why !== null) {
      process.stderr.write(`\n${s.name}: skipped, ${why}\n`)
      if (names.includes(s.name)) failed++
      continue
    }
    const mine = Object.fromEntries(Object.entries(given).filter(([k]) => k in s.options))
    const options = resolveOptions(s, mine, quick, smoke ? s.smoke : {})
    const rounds = givenRounds ?? (smoke ? 1 : quick ? Math.max(1, Math.ceil((s.rounds ?? 3) / 2)) : s.rounds ?? 3)
    const on = nodes.map(n => (n === process.execPath ? process.version : n)).join(' and ')
    process.stderr.write(`\n== ${s.name}: ${s.description}\n   options ${JSON.stringify(options)}, ${rounds} round(s) on ${on}\n`)
    try {
      const outs: RoundOutput[][] = nodes.map(() => [])
      for (let i = 0; i < rounds; i++) for (const [k, n] of nodes.entries()) outs[k]!.push(await runRound(n, s, options, timeoutMs))
      for (const mine of outs) {
        const { rows, spread } = aggregate(mine.map(o => o.rows))
        const result: BenchResult = {
          format: FORMAT, scenario: s.name, description: s.description, at: new Date().toISOString(),
          machine: mine[0]!.machine, git, options, rounds, rows, spread, extra: mine[mine.length - 1]!.extra
        }
        printTable(`${s.name} (${result.machine.node}, median of ${rounds} round(s)${nodes.length > 1 ? ', interleaved with the other Node' : ''}; spread in the JSON)`, rows)
        for (const line of s.summarize?.(rows, options) ?? []) process.stdout.write(`${line}\n`)
        process.stdout.write(`written ${writeResult(result, outDir)}\n`)
      }
    } catch (e) {
      failed++
      process.stderr.write(`${s.name}: FAILED: ${e instanceof Error ? e.message : String(e)}\n`)
    }
  }
  return failed === 0 ? 0 : 1
}

try {
  process.exitCode = await main(process.argv.slice(2))
} catch (e) {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`)
  process.exitCode = 2
}
