// Turning a stand-alone script's JSON into result rows: numbers and strings kept, nested objects flattened one
// level ("compiled.recordsPerSec"), numbers that a script formatted for its table ("1,234,567") read back.
import type { Cell, Row } from './scenario.ts'

function cell (v: unknown): Cell | undefined {
  if (typeof v === 'number') return v
  if (typeof v === 'string') return /^-?[\d,]+(\.\d+)?$/.test(v) ? Number(v.replaceAll(',', '')) : v
  return undefined
}

export function flatRows (xs: unknown): Row[] {
  if (!Array.isArray(xs)) return []
  return xs.map(x => {
    const row: Row = {}
    for (const [k, v] of Object.entries(x as Record<string, unknown>)) {
      const c = cell(v)
      if (c !== undefined) row[k] = c
      else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
        for (const [k2, v2] of Object.entries(v)) {
          const c2 = cell(v2)
          if (c2 !== undefined) row[`${k}.${k2}`] = c2
        }
      }
    }
    return row
  })
}
