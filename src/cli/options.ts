// Command-line options with an environment-variable and a config-file equivalent for every tunable:
//   --workers 2   ≡   TILEKILN_WORKERS=2   ≡   {"workers": 2} in the file given by --config / TILEKILN_CONFIG
// Precedence: flag > environment > config file > default.
//
// Strict on purpose: an unknown flag, a stray argument or an unknown config key is refused with a did-you-mean, and
// every number is checked against its bounds, because a silently ignored `-w 2` or `{"worker": 2}` makes a run that
// looks right and is not. One table of specs per command gives the parser, the help text and — through the types
// below — the typed options object the command reads (`Options<typeof RUN>`), so no command casts what it reads.
//
// Kept hand-written rather than on a parsing library: none of the npm ones (commander, yargs, citty) resolves flag >
// environment > config file per key with the same validation for all three, and that is most of what this does.

import { readFileSync } from 'node:fs'
import { TilekilnError } from '../errors.ts'

export interface OptionSpec {
  readonly name: string
  readonly type: 'string' | 'number' | 'boolean' | 'list'
  readonly help: string
  readonly default?: string | number | boolean
  /** Placeholder in help text, e.g. FILE. */
  readonly arg?: string
  /** The only values a string option takes. */
  readonly choices?: readonly string[]
  /** Bounds of a number option (inclusive). */
  readonly min?: number
  readonly max?: number
  /** A number option that must be a whole number. */
  readonly integer?: boolean
  /** A number of milliseconds: duration units are allowed (10s, 5m, 1h, 2d). */
  readonly duration?: boolean
}

/** `kafka-session-timeout` → `kafkaSessionTimeout`. */
export type CamelCase<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S

type ValueOf<S extends OptionSpec> =
  S['type'] extends 'number' ? number
    : S['type'] extends 'boolean' ? boolean
      : S['type'] extends 'list' ? readonly string[]
        : S extends { readonly choices: readonly (infer C extends string)[] } ? C : string

/** Booleans default to false and lists to empty: only options without a default may be undefined. */
type AlwaysSet<S extends OptionSpec> = S extends { readonly default: string | number | boolean } ? true : S['type'] extends 'boolean' | 'list' ? true : false

/** The parsed options of a command whose specs are `T` (declared `as const`), keyed by camel-cased name. */
export type Options<T extends readonly OptionSpec[]> = {
  readonly [S in T[number] as CamelCase<S['name']>]: AlwaysSet<S> extends true ? ValueOf<S> : ValueOf<S> | undefined
}

export interface Parsed<T extends readonly OptionSpec[]> {
  readonly options: Options<T>
  /** Options set explicitly (flag, environment or config file), as opposed to defaults; by their flag name. */
  readonly given: ReadonlySet<string>
}

export function envName (option: string): string {
  return `TILEKILN_${option.replace(/-/g, '_').toUpperCase()}`
}

export function camelCase (name: string): string {
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
}

const kebabCase = (name: string): string => name.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)

/**
 * Parses a command's arguments. `otherNames` are the options of the other commands: a config file may hold keys
 * for several commands, so those are left alone, while a key no command knows is refused.
 */
export function parseOptions<const T extends readonly OptionSpec[]> (argv: readonly string[], specs: T, command: string, otherNames: Iterable<string> = []): Parsed<T> {
  const byName = new Map<string, OptionSpec>(specs.map(s => [s.name, s]))
  const names = [...byName.keys(), 'config']
  const seeHelp = `see tilekiln ${command} --help`
  const flags = new Map<string, string | number | boolean | string[]>()
  let configFlag: string | undefined
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (!a.startsWith('--')) {
      if (a.startsWith('-') && a.length > 1) {
        const guess = a.length === 2 ? names.find(n => n.startsWith(a[1]!)) : didYouMean(a.replace(/^-+/, ''), names)
        throw new TilekilnError('TK_USAGE', `unknown option ${a} for '${command}': options are spelled out with two dashes${guess === undefined ? '' : `; did you mean --${guess}?`} (${seeHelp})`)
      }
      throw new TilekilnError('TK_USAGE', `unexpected argument '${a}': '${command}' takes only --options${strayHint(a, argv[i - 1], byName, names)} (${seeHelp})`)
    }
    let name = a.slice(2)
    let value: string | undefined
    const eq = name.indexOf('=')
    if (eq >= 0) { value = name.slice(eq + 1); name = name.slice(0, eq) }
    if (name === 'config') {
      configFlag = value ?? argv[++i]
      if (configFlag === undefined) throw new TilekilnError('TK_USAGE', '--config needs a value (a JSON file)')
      continue
    }
    const spec = byName.get(name)
    if (spec === undefined) {
      const guess = didYouMean(name, names)
      throw new TilekilnError('TK_USAGE', `unknown option --${name} for '${command}'${guess === undefined ? '' : `; did you mean --${guess}?`} (${seeHelp})`)
    }
    if (spec.type === 'boolean') {
      flags.set(name, value === undefined ? true : convertBoolean(value, `--${name}`))
      continue
    }
    if (value === undefined) {
      value = argv[++i]
      if (value === undefined || (value.startsWith('--') && byName.has(value.slice(2).split('=')[0]!))) {
        throw new TilekilnError('TK_USAGE', `--${name} needs a value${spec.arg === undefined ? '' : ` (${spec.arg})`}`)
      }
    }
    if (spec.type === 'list') {
      const prev = flags.get(name)
      flags.set(name, [...(Array.isArray(prev) ? prev : []), value])
    } else {
      flags.set(name, convert(spec, value, `--${name}`))
    }
  }

  const configPath = configFlag ?? process.env.TILEKILN_CONFIG
  const fileValues = configPath === undefined ? new Map<string, unknown>() : readConfig(configPath, byName, new Set(otherNames), command)
  const options: Record<string, unknown> = {}
  const given = new Set<string>()
  for (const spec of specs) {
    const key = camelCase(spec.name)
    given.add(spec.name)
    const flag = flags.get(spec.name)
    if (flag !== undefined) { options[key] = flag; continue }
    const env = process.env[envName(spec.name)]
    if (env !== undefined && env !== '') {
      options[key] = spec.type === 'list' ? env.split(',') : convert(spec, env, envName(spec.name))
      continue
    }
    const fv = fileValues.get(spec.name)
    if (fv !== undefined) {
      const where = `${configPath!}: "${spec.name}"`
      if (spec.type === 'list') options[key] = Array.isArray(fv) ? fv.map(String) : [String(fv)]
      else if (spec.type === 'boolean' && typeof fv === 'boolean') options[key] = fv
      else if (typeof fv === 'object' && fv !== null) throw new TilekilnError('TK_USAGE', `${where} must be a ${spec.type}, got ${JSON.stringify(fv)}`)
      else options[key] = convert(spec, String(fv), where)
      continue
    }
    options[key] = spec.default ?? (spec.type === 'boolean' ? false : spec.type === 'list' ? [] : undefined)
    given.delete(spec.name)
  }
  return { options: options as Options<T>, given }
}

/** The config file's values by flag name (keys may be kebab- or camel-cased); a key no command knows is refused. */
function readConfig (path: string, byName: ReadonlyMap<string, OptionSpec>, otherNames: ReadonlySet<string>, command: string): Map<string, unknown> {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new TilekilnError('TK_USAGE', `cannot read the config file ${path}: ${(e as Error).message}`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new TilekilnError('TK_USAGE', `the config file ${path} must hold one JSON object of option values, like {"workers": 2}`)
  const out = new Map<string, unknown>()
  for (const [k, v] of Object.entries(json)) {
    const name = byName.has(k) ? k : kebabCase(k)
    if (byName.has(name)) {
      if (out.has(name)) throw new TilekilnError('TK_USAGE', `the config file ${path} sets ${name} twice (as "${name}" and as "${camelCase(name)}")`)
      out.set(name, v)
    } else if (!otherNames.has(name)) {
      const guess = didYouMean(name, [...byName.keys()])
      throw new TilekilnError('TK_USAGE', `the config file ${path} has an unknown key "${k}"${guess === undefined ? '' : `; did you mean "${guess}"?`} (keys are the options of tilekiln ${command} --help, without the dashes)`)
    }
  }
  return out
}

/** Why a bare word may have been given: a value after a flag that takes none, or a flag without its dashes. */
function strayHint (arg: string, previous: string | undefined, byName: ReadonlyMap<string, OptionSpec>, names: readonly string[]): string {
  const prev = previous?.startsWith('--') === true ? byName.get(previous.slice(2)) : undefined
  if (prev?.type === 'boolean') return `; --${prev.name} takes no value (use --${prev.name}=false to turn it off)`
  const guess = didYouMean(arg.split('=')[0]!, names)
  if (guess !== undefined) return `; did you mean --${guess}?`
  return ''
}

function convertBoolean (value: string, where: string): boolean {
  if (value === 'true' || value === '1') return true
  if (value === 'false' || value === '0') return false
  throw new TilekilnError('TK_USAGE', `${where} must be true or false, got '${value}'`)
}

function convert (spec: OptionSpec, value: string, where: string): string | number | boolean {
  switch (spec.type) {
    case 'number': return checkNumber(spec, value, where)
    case 'boolean': return convertBoolean(value, where)
    default:
      if (spec.choices !== undefined && !spec.choices.includes(value)) {
        const guess = didYouMean(value, spec.choices)
        throw new TilekilnError('TK_USAGE', `${where} must be ${spec.choices.join(' or ')}, got '${value}'${guess === undefined ? '' : `; did you mean ${guess}?`}`)
      }
      return value
  }
}

function checkNumber (spec: OptionSpec, value: string, where: string): number {
  const n = spec.duration === true ? parseNumberWithUnit(value) : parsePlainNumber(value)
  if (Number.isNaN(n)) {
    throw new TilekilnError('TK_USAGE', `${where} must be ${spec.integer === true ? 'a whole number' : 'a number'}${spec.duration === true ? ' of milliseconds (units allowed: 500ms, 10s, 5m, 1h, 2d)' : ''}, got '${value}'`)
  }
  const min = spec.min ?? -Number.MAX_SAFE_INTEGER
  const max = spec.max ?? Number.MAX_SAFE_INTEGER
  if ((spec.integer === true && !Number.isSafeInteger(n)) || n < min || n > max) {
    const range = spec.max === undefined ? `of at least ${min}` : spec.min === undefined ? `of at most ${max}` : `from ${min} to ${max}`
    throw new TilekilnError('TK_USAGE', `${where} must be ${spec.integer === true ? 'an integer' : 'a number'} ${range}, got ${value}`)
  }
  return n
}

/** A number with optional underscores (1_000_000): a unit is refused where the option is not a duration. */
function parsePlainNumber (value: string): number {
  const m = /^\s*(-?\d[\d_]*(?:\.\d+)?(?:e\d+)?)\s*$/.exec(value)
  return m === null ? Number.NaN : Number(m[1]!.replace(/_/g, ''))
}

/** Numbers may carry a duration unit (ms, s, m, h, d → milliseconds) or underscores: 10s, 5m, 1_000_000. */
export function parseNumberWithUnit (value: string): number {
  // A digit first: '_' alone (or '') is not 0.
  const m = /^\s*(-?\d[\d_]*(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(value)
  if (m === null) return Number.NaN
  const n = Number(m[1]!.replace(/_/g, ''))
  const unit = m[2]
  const mult = unit === 's' ? 1000 : unit === 'm' ? 60_000 : unit === 'h' ? 3_600_000 : unit === 'd' ? 86_400_000 : 1
  return n * mult
}

/** The closest candidate by edit distance (or the only one the word is a prefix of), if close enough to be a typo. */
export function didYouMean (word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase()
  const prefixed = candidates.filter(c => c.startsWith(w))
  if (w.length >= 2 && prefixed.length === 1) return prefixed[0]
  let best: string | undefined
  let bestDistance = Math.max(1, Math.min(3, Math.floor(w.length / 3)))
  for (const c of candidates) {
    const d = editDistance(w, c)
    if (d <= bestDistance && (best === undefined || d < bestDistance)) { best = c; bestDistance = d }
  }
  return best
}

/** Levenshtein distance with adjacent transpositions (optimal string alignment). */
function editDistance (a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[a.length]![b.length]!
}

export function helpText (command: string, summary: string, specs: readonly OptionSpec[]): string {
  const lines = [`tilekiln ${command} — ${summary}`, '', 'Options (each also as environment variable, and as a key in --config FILE):']
  for (const s of specs) {
    const flag = `--${s.name}${s.type === 'boolean' ? '' : ` ${s.arg ?? (s.choices?.join('|') ?? s.type.toUpperCase())}`}`
    const bounds = s.type !== 'number' || (s.min === undefined && s.max === undefined) ? '' : ` [${s.min ?? '…'} … ${s.max ?? '…'}]`
    const dflt = s.default === undefined ? '' : ` (default: ${String(s.default)})`
    lines.push(`  ${flag.padEnd(34)} ${s.help}${bounds}${dflt}`)
    lines.push(`  ${''.padEnd(34)} env ${envName(s.name)}`)
  }
  lines.push(`  ${'--config FILE'.padEnd(34)} JSON file of option values (env TILEKILN_CONFIG)`)
  lines.push(`  ${'--help'.padEnd(34)} this text`)
  return lines.join('\n')
}
