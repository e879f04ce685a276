// Command-line options with an environment-variable and a config-file equivalent for every tunable:
//   --workers 2   ≡   TILEKILN_WORKERS=2   ≡   {"workers": 2} in the file given by --config / TILEKILN_CONFIG
// Precedence: flag > environment > config file > default.

import { readFileSync } from 'node:fs'
import { TilekilnError } from '../errors.ts'

export interface OptionSpec {
  readonly name: string
  readonly type: 'string' | 'number' | 'boolean' | 'list'
  readonly help: string
  readonly default?: string | number | boolean
  /** Placeholder in help text, e.g. FILE. */
  readonly arg?: string
}

export type ParsedOptions = Record<string, string | number | boolean | string[] | undefined>

export function envName (option: string): string {
  return `TILEKILN_${option.replace(/-/g, '_').toUpperCase()}`
}

/** `given` holds the options set explicitly (flag, environment or config file), as opposed to defaults. */
export function parseOptions (argv: readonly string[], specs: readonly OptionSpec[], command: string): { options: ParsedOptions, positionals: string[], given: Set<string> } {
  const byName = new Map(specs.map(s => [s.name, s]))
  const flags: ParsedOptions = {}
  const positionals: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (!a.startsWith('--')) { positionals.push(a); continue }
    let name = a.slice(2)
    let value: string | undefined
    const eq = name.indexOf('=')
    if (eq >= 0) { value = name.slice(eq + 1); name = name.slice(0, eq) }
    if (name === 'config') {
      flags.config = value ?? argv[++i]
      continue
    }
    const spec = byName.get(name)
    if (spec === undefined) throw new TilekilnError('TK_USAGE', `unknown option --${name} for '${command}' (see tilekiln ${command} --help)`)
    if (spec.type === 'boolean') {
      flags[name] = value === undefined ? true : value !== 'false'
      continue
    }
    if (value === undefined) {
      value = argv[++i]
      if (value === undefined) throw new TilekilnError('TK_USAGE', `--${name} needs a value`)
    }
    if (spec.type === 'list') {
      const prev = flags[name]
      flags[name] = [...(Array.isArray(prev) ? prev : []), value]
    } else {
      flags[name] = convert(spec, value, `--${name}`)
    }
  }

  const configPath = (flags.config as string | undefined) ?? process.env.TILEKILN_CONFIG
  let fileValues: Record<string, unknown> = {}
  if (configPath !== undefined) {
    try {
      fileValues = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>
    } catch (e) {
      throw new TilekilnError('TK_USAGE', `cannot read the config file ${configPath}: ${(e as Error).message}`)
    }
  }
  const options: ParsedOptions = {}
  const given = new Set<string>()
  for (const spec of specs) {
    given.add(spec.name)
    if (flags[spec.name] !== undefined) { options[spec.name] = flags[spec.name]; continue }
    const env = process.env[envName(spec.name)]
    if (env !== undefined && env !== '') {
      options[spec.name] = spec.type === 'list' ? env.split(',') : convert(spec, env, envName(spec.name))
      continue
    }
    const camel = spec.name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())
    const fv = fileValues[spec.name] ?? fileValues[camel]
    if (fv !== undefined) {
      options[spec.name] = spec.type === 'list' ? (Array.isArray(fv) ? fv.map(String) : [String(fv)]) : convert(spec, String(fv), `${configPath}: ${spec.name}`)
      continue
    }
    options[spec.name] = spec.default
    given.delete(spec.name)
  }
  return { options, positionals, given }
}

function convert (spec: OptionSpec, value: string, where: string): string | number | boolean {
  switch (spec.type) {
    case 'number': {
      const n = parseNumberWithUnit(value)
      if (Number.isNaN(n)) throw new TilekilnError('TK_USAGE', `${where} must be a number, got '${value}'`)
      return n
    }
    case 'boolean': return value !== 'false' && value !== '0'
    default: return value
  }
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

export function helpText (command: string, summary: string, specs: readonly OptionSpec[]): string {
  const lines = [`tilekiln ${command} — ${summary}`, '', 'Options (each also as environment variable, and as a key in --config FILE):']
  for (const s of specs) {
    const flag = `--${s.name}${s.type === 'boolean' ? '' : ` ${s.arg ?? s.type.toUpperCase()}`}`
    const dflt = s.default === undefined ? '' : ` (default: ${String(s.default)})`
    lines.push(`  ${flag.padEnd(34)} ${s.help}${dflt}`)
    lines.push(`  ${''.padEnd(34)} env ${envName(s.name)}`)
  }
  lines.push(`  ${'--config FILE'.padEnd(34)} JSON file of option values (env TILEKILN_CONFIG)`)
  return lines.join('\n')
}
