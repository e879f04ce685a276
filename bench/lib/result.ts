// What a result file in bench/results/ holds, and how the rounds of a scenario become one result: for every numeric
// column of every row, the median over rounds and its spread (min, max, interquartile range, every value).
//
// A result file (bench/results/<scenario>.node<major>.json), format "tilekiln-bench/1":
//   { format, scenario, description, at, machine: { cores, cpu, memoryGiB, node, platform, arch, loadAverage },
//     git: { commit, dirty, branch }, options, rounds, rows: [Row], spread: [{ column: Spread }], extra }
// `rows` carry the medians (strings as the first round had them); `spread[i][column]` belongs to `rows[i][column]`.
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Options, Row } from './scenario.ts'

export const FORMAT = 'tilekiln-bench/1'
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')
export const RESULTS_DIR = join(ROOT, 'bench', 'results')

export interface Machine { cores: number, cpu: string, memoryGiB: number, node: string, platform: string, arch: string, loadAverage: number[] }
export interface GitState { commit: string, dirty: boolean, branch: string }
export interface Spread { min: number, max: number, q1: number, q3: number, values: number[] }

export interface BenchResult {
  format: typeof FORMAT
  scenario: string
  description: string
  at: string
  machine: Machine
  git: GitState
  options: Options
  rounds: number
  rows: Row[]
  spread: Array<Record<string, Spread>>
  extra?: unknown
}

export function machine (): Machine {
  const c = cpus()
  return {
    cores: c.length,
    cpu: c[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30 * 10) / 10,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    loadAverage: loadavg().map(x => Math.round(x * 100) / 100)
  }
}

export function gitState (): GitState {
  const git = (...args: string[]): string => {
    try {
      return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    } catch {
      return ''
    }
  }
  // bench/results/ is ignored by git, so writing results never makes the tree dirty.
  return { commit: git('rev-parse', 'HEAD') || 'unknown', dirty: git('status', '--porcelain', '--untracked-files=no') !== '', branch: git('rev-parse', '--abbrev-ref', 'HEAD') }
}

/** Linear-interpolated quantile of sorted values. */
export function quantile (sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN
  const pos = (sorted.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo)
}

const tidy = (x: number): number => (Number.isInteger(x) ? x : Math.abs(x) >= 100 ? Math.round(x) : Number(x.toPrecision(4)))

/** Pairs the rows of the rounds by index; numbers → median (and spread), anything else → the first round's. */
export function aggregate (rounds: readonly Row[][]): { rows: Row[], spread: Array<Record<string, Spread>> } {
  const first = rounds[0] ?? []
  for (const r of rounds) {
    if (r.length !== first.length) throw new Error(`rounds returned different row counts (${rounds.map(x => x.length).join(', ')}): a scenario must measure the same rows every round`)
  }
  const rows: Row[] = []
  const spread: Array<Record<string, Spread>> = []
  first.forEach((row, i) => {
    const out: Row = {}
    const sp: Record<string, Spread> = {}
    for (const [col, v] of Object.entries(row)) {
      const values = rounds.map(r => r[i]![col]).filter((x): x is number => typeof x === 'number' && Number.isFinite(x))
      if (typeof v !== 'number' || values.length === 0) { out[col] = v; continue }
      const sorted = [...values].sort((a, b) => a - b)
      out[col] = tidy(quantile(sorted, 0.5))
      if (rounds.length > 1) sp[col] = { min: sorted[0]!, max: sorted[sorted.length - 1]!, q1: tidy(quantile(sorted, 0.25)), q3: tidy(quantile(sorted, 0.75)), values }
    }
    rows.push(out)
    spread.push(sp)
  })
  return { rows, spread }
}

/** The file name of a scenario's result on a Node version: engine.node20.json. */
export function resultFileName (scenario: string, nodeVersion: string): string {
  return `${scenario}.node${nodeVersion.replace(/^v/, '').split('.')[0]}.json`
}

export function writeResult (r: BenchResult, dir = RESULTS_DIR): string {
  mkdirSync(dir, { recursive: true })
  const path = join(dir, resultFileName(r.scenario, r.machine.node))
  writeFileSync(path, JSON.stringify(r, null, 2) + '\n')
  return path
}
