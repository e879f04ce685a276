// Deep copies of runtime values, for IR clones (Chronon's contract: a merge never mutates its right argument).

export function cloneValue<V> (v: V): V {
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) return v.map(cloneValue) as V
  if (v instanceof Uint8Array) return v.slice() as V
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, cloneValue(x)])) as V
  if (v instanceof Set) return new Set(v) as V
  const out: Record<string, unknown> = {}
  for (const k of Object.keys(v)) out[k] = cloneValue((v as Record<string, unknown>)[k])
  return out as V
}
