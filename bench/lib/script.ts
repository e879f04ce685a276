// A scenario backed by one of the stand-alone benchmark scripts (bench/engine.ts, bench/kafka.ts, …): one round
// runs the script in a child process (on this process's Node, i.e. the runner's `--node`), with its results
// directed into a scratch directory, and returns the rows of the JSON it wrote there.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { heapFlags } from '../../src/cli/heap-flags.ts'
import { ROOT } from './result.ts'
import type { OptionDef, Options, Row, Scenario, ScenarioResult } from './scenario.ts'

export interface ScriptScenario {
  readonly name: string
  readonly description: string
  /** dist/bench/<script> */
  readonly script: string
  /** The name the script passes to writeResults (its JSON file: <resultName>.json), which may depend on options. */
  readonly resultName: string | ((o: Options) => string)
  readonly options: Readonly<Record<string, OptionDef>>
  /** The script's command line for these options. */
  readonly args: (o: Options) => string[]
  /** Node flags before the script (e.g. --expose-gc). */
  readonly nodeArgs?: readonly string[]
  /** Extra environment for the script (some take their sizes from variables). */
  readonly env?: (o: Options) => Record<string, string>
  /** The rows of the script's `data`. */
  readonly rows: (data: any) => Row[]
  readonly onlyWhenNamed?: string
  readonly noSmoke?: string
  readonly smoke?: Options
  readonly headline?: string
  readonly rounds?: number
  /** Seconds before the script is killed (default 1 h). */
  readonly timeoutSeconds?: (o: Options) => number
}

/** Runs `node <script> args` to completion (stdout and stderr go to ours), killing it after `timeoutMs`. */
export async function runScript (script: string, args: string[], env: Record<string, string>, timeoutMs: number, nodeArgs: readonly string[] = []): Promise<void> {
  // The daemon's own V8 flags (src/cli/heap-flags.ts), so that a script running the engine measures what runs.
  const child = spawn(process.execPath, [...heapFlags(nodeArgs), ...nodeArgs, script, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit'] })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const code = await new Promise<number | string>(resolve => child.on('exit', (c, sig) => resolve(c ?? sig ?? 1)))
  clearTimeout(timer)
  if (code !== 0) throw new Error(`${script} ${args.join(' ')} failed (${typeof code === 'string' ? `killed by ${code}${code === 'SIGKILL' ? `, timeout ${timeoutMs / 1000} s?` : ''}` : `exit ${code}`})`)
}

export function scriptScenario (d: ScriptScenario): Scenario {
  return {
    name: d.name,
    description: d.description,
    options: d.options,
    onlyWhenNamed: d.onlyWhenNamed,
    noSmoke: d.noSmoke,
    smoke: d.smoke,
    headline: d.headline,
    rounds: d.rounds,
    unavailable: () => (existsSync(join(ROOT, 'dist', 'bench', d.script)) ? null : `dist/bench/${d.script} is not built (bench/${d.script.replace(/\.js$/, '.ts')} is not on this branch)`),
    async run (o: Options): Promise<ScenarioResult> {
      const script = join(ROOT, 'dist', 'bench', d.script)
      if (!existsSync(script)) throw new Error(`${d.name}: ${script} does not exist (not built, or not on this branch)`)
      const dir = mkdtempSync(join(tmpdir(), `tilekiln-bench-${d.name}-`))
      try {
        await runScript(script, d.args(o), { ...d.env?.(o), TILEKILN_BENCH_RESULTS: dir }, (d.timeoutSeconds?.(o) ?? 3600) * 1000, d.nodeArgs)
        const resultName = typeof d.resultName === 'string' ? d.resultName : d.resultName(o)
        const file = join(dir, `${resultName}.json`)
        if (!existsSync(file)) throw new Error(`${d.name}: ${d.script} wrote no ${resultName}.json`)
        const json = JSON.parse(readFileSync(file, 'utf8')) as { data: unknown }
        return { rows: d.rows(json.data), extra: json.data }
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    }
  }
}
