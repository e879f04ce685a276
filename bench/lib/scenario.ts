// The shape every benchmark scenario has (one file each under bench/scenarios/), and the parsing of its options.
// The runner (bench/run.ts) knows nothing about any scenario beyond this: it parses the options a scenario
// declares, runs it `--rounds` times (each round in a fresh process, on the Node given by `--node`), and
// aggregates the rows of the rounds (bench/lib/result.ts).

export type Cell = number | string
export type Row = Record<string, Cell>

export interface OptionDef {
  readonly help: string
  /** The full-size value. A list option is a comma-separated string ("1,2"). */
  readonly default: number | string | boolean
  /** The value under `--quick` (a smoke-sized run, seconds not minutes), when it differs. */
  readonly quick?: number | string | boolean
}

export type Options = Record<string, number | string | boolean>

export interface ScenarioResult {
  /**
   * One row per measured configuration, the same rows in the same order every round (the runner pairs them by
   * index). Numbers are aggregated over rounds (median and spread); strings identify the row.
   */
  readonly rows: Row[]
  /** Anything else worth keeping (kept from the last round). */
  readonly extra?: unknown
}

export interface Scenario {
  readonly name: string
  /** One line: what is measured, on what. */
  readonly description: string
  readonly options: Readonly<Record<string, OptionDef>>
  /** Rounds when `--rounds` is not given (default 3; the runner halves it for --quick): 1 for a scenario that
   * takes its own medians inside one run or runs for many minutes. */
  readonly rounds?: number
  /** Not run by a bare `npm run bench` (needs something this machine may not have, or takes very long). */
  readonly onlyWhenNamed?: string
  /** Why it cannot run here (e.g. its script is not on this branch), or null. */
  unavailable?: () => string | null
  /** Not run by the smoke test (and why). */
  readonly noSmoke?: string
  /** Options for the smoke test (about a second of work on tiny input), over the quick ones. */
  readonly smoke?: Options
  /** The column the report and the runner's summary treat as the headline figure (higher is better unless it ends in "ms"/"µs"). */
  readonly headline?: string
  run: (o: Options) => Promise<ScenarioResult>
  /** Lines printed after the aggregated table (e.g. the best setting of a sweep). */
  summarize?: (rows: Row[], o: Options) => string[]
}

/** The options' values: defaults, then quick ones when `quick`, then the given flags (`--name value`, `--flag`). */
export function resolveOptions (s: Scenario, given: Readonly<Record<string, string | true>>, quick: boolean, extra: Options = {}): Options {
  const out: Options = {}
  for (const [k, d] of Object.entries(s.options)) out[k] = quick && d.quick !== undefined ? d.quick : d.default
  Object.assign(out, extra)
  for (const [k, v] of Object.entries(given)) {
    const d = s.options[k]
    if (d === undefined) throw new Error(`${s.name}: unknown option --${k} (known: ${Object.keys(s.options).map(o => `--${o}`).join(', ') || 'none'})`)
    if (typeof d.default === 'boolean') out[k] = v === true || v === 'true'
    else if (v === true) throw new Error(`${s.name}: --${k} needs a value`)
    else if (typeof d.default === 'number') {
      const n = Number(v)
      if (!Number.isFinite(n)) throw new Error(`${s.name}: --${k} needs a number, got '${v}'`)
      out[k] = n
    } else out[k] = v
  }
  return out
}

/** A comma-separated list option as numbers ("0.25,0.5" → [0.25, 0.5]). */
export function numberList (o: Options, name: string): number[] {
  const xs = String(o[name]).split(',').filter(x => x.trim() !== '').map(Number)
  if (xs.length === 0 || xs.some(x => !Number.isFinite(x))) throw new Error(`--${name} needs comma-separated numbers, got '${String(o[name])}'`)
  return xs
}

export function num (o: Options, name: string): number {
  const v = Number(o[name])
  if (!Number.isFinite(v)) throw new Error(`--${name} needs a number, got '${String(o[name])}'`)
  return v
}
