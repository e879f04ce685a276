// Shared output for the benchmark scripts: an aligned table on stdout and a JSON file in bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

// The runner (bench/run.ts) points TILEKILN_BENCH_RESULTS at a scratch directory, reads the script's JSON from there
// and writes its own result (with rounds, machine and commit) into bench/results/.
export const resultsDir = process.env.TILEKILN_BENCH_RESULTS ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results')

export function printTable (title: string, rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return
  const cols = Object.keys(rows[0]!)
  const cell = (v: string | number): string => (typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(2)) : v)
  const widths = cols.map(c => Math.max(c.length, ...rows.map(r => cell(r[c] ?? '').length)))
  const line = (vals: string[]): string => '| ' + vals.map((v, i) => v.padStart(widths[i]!)).join(' | ') + ' |'
  process.stdout.write(`\n${title}\n`)
  process.stdout.write(line(cols) + '\n')
  process.stdout.write('|' + widths.map(w => '-'.repeat(w + 2)).join('|') + '|\n')
  for (const r of rows) process.stdout.write(line(cols.map(c => cell(r[c] ?? ''))) + '\n')
}

export function writeResults (name: string, data: unknown): string {
  mkdirSync(resultsDir, { recursive: true })
  const path = join(resultsDir, `${name}.json`)
  writeFileSync(path, JSON.stringify({
    benchmark: name,
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    data
  }, null, 2) + '\n')
  return path
}

/** Whether the module at `url` is the script node was started with (so that importing a bench does not run it). */
export function isMain (url: string): boolean {
  return process.argv[1] !== undefined && pathToFileURL(process.argv[1]).href === url
}

/** `--name N` from the command line: a positive number, or `dflt` when absent. */
export function positiveArg (name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`)
  if (i < 0) return dflt
  const v = Number(process.argv[i + 1])
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`)
  return v
}
