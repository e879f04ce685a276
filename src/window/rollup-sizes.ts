// Which rolled-up ("MegaTile") sizes a run writes beside the GroupBy's own tiles (worker/rollups.ts), and which a
// read may look for (fetch/tile-cover.ts). Pure: the engine, the CLI and the readers share it.
//
// A rolled-up size must be a larger multiple of the tile size. The default writes 1 h and 1 d tiles when the
// GroupBy has a window of at least a day (or an unbounded one): that is where a read over fine tiles alone touches
// hundreds or thousands of tiles. Shorter windows gain little, so the default leaves their runs as they are.

import type { Plan } from '../config/plan.ts'
import { TilekilnError } from '../errors.ts'
import { DAY, HOUR } from './resolution.ts'

/** The sizes `--rollups` accepts. */
export const ROLLUP_SIZES: ReadonlyMap<string, number> = new Map([['1h', HOUR], ['1d', DAY]])

/** The sizes of `sizes` a GroupBy's tiles can be rolled up into, ascending. */
export function usableRollups (plan: Plan, sizes: readonly number[]): number[] {
  const fine = plan.tileSizeMillis
  return [...new Set(sizes)].filter(r => r > fine && r % fine === 0).sort((a, b) => a - b)
}

/** The default: 1 h and 1 d tiles (those larger than the tile size) when the longest window is ≥ 1 day. */
export function defaultRollups (plan: Plan): number[] {
  const longest = plan.hasUnbounded ? Infinity : Math.max(0, ...plan.outputs.map(o => o.window.millis))
  return longest >= DAY ? usableRollups(plan, [HOUR, DAY]) : []
}

/** Parses `--rollups`: `auto`, `none`, or a comma list of 1h / 1d. Returns null for auto. */
export function parseRollups (spec: string): number[] | null {
  const s = spec.trim()
  if (s === 'auto') return null
  if (s === 'none') return []
  const out: number[] = []
  for (const part of s.split(',')) {
    const size = ROLLUP_SIZES.get(part.trim())
    if (size === undefined) throw new TilekilnError('TK_USAGE', `bad --rollups '${spec}': use auto, none, or a comma list of ${[...ROLLUP_SIZES.keys()].join(', ')}`)
    out.push(size)
  }
  return [...new Set(out)].sort((a, b) => a - b)
}

/**
 * The sizes a run writes: the default when `requested` is null (auto), else the requested ones, each of which must
 * be a larger multiple of the tile size (a TK_USAGE error says which is not).
 */
export function resolveRollups (plan: Plan, requested: readonly number[] | null | undefined): number[] {
  if (requested === null || requested === undefined) return defaultRollups(plan)
  const usable = usableRollups(plan, requested)
  const bad = requested.filter(r => !usable.includes(r))
  if (bad.length > 0) throw new TilekilnError('TK_USAGE', `--rollups: the GroupBy's tiles are ${plan.tileSizeMillis} ms; rolled-up tiles of ${bad.join(', ')} ms cannot be made of them (a rolled-up size must be a larger multiple): drop them`, { groupBy: plan.name })
  return usable
}
