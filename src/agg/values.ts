// Deep copies of runtime values, for IR clones (Chronon's contract: a merge never mutates its right argument), and
// the struct-to-positional conversion of input values.

import type { DataType } from '../api/data-type.ts'

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


/**
 * A converter that turns struct values (plain objects by field name, as input rows carry them) into positional
 * arrays in field order, recursively through lists and maps — Chronon's own in-memory struct form and what the
 * tile decoder yields. Returns undefined when the type holds no struct (nothing to convert).
 */
export function positionalConverter (t: DataType): ((v: unknown) => unknown) | undefined {
  switch (t.kind) {
    case 'struct': {
      const fields = t.fields.map(f => ({ name: f.name, conv: positionalConverter(f.type) }))
      return v => {
        if (v === null || v === undefined) return v
        const byPosition = Array.isArray(v)
        return fields.map((f, i) => {
          const x = byPosition ? (v as unknown[])[i] : (v as Record<string, unknown>)[f.name]
          return f.conv === undefined || x === null || x === undefined ? (x ?? null) : f.conv(x)
        })
      }
    }
    case 'list': {
      const elem = positionalConverter(t.elem)
      if (elem === undefined) return undefined
      return v => (Array.isArray(v) ? v.map(x => (x === null || x === undefined ? null : elem(x))) : v)
    }
    case 'map': {
      const value = positionalConverter(t.value)
      if (value === undefined) return undefined
      return v => {
        if (v === null || v === undefined) return v
        const entries = v instanceof Map ? [...(v as Map<unknown, unknown>)] : Object.entries(v as object)
        return new Map(entries.map(([k, x]) => [k, x === null || x === undefined ? null : value(x)]))
      }
    }
    default:
      return undefined
  }
}

/**
 * A finder of nulls where Chronon's Avro schemas allow none: list elements and map values (struct fields are
 * nullable). Timed operations keep whole values as payloads, and a payload holding such a null makes the tile
 * unencodable (on the JVM too); returns a description of the first one, or null. Undefined when the type has no
 * list or map inside.
 */
export function unencodableNullFinder (t: DataType): ((v: unknown) => string | null) | undefined {
  switch (t.kind) {
    case 'list': {
      const inner = unencodableNullFinder(t.elem)
      return v => {
        if (!Array.isArray(v)) return null
        for (let i = 0; i < v.length; i++) {
          const e = v[i]
          if (e === null || e === undefined) return `list element ${i} is null`
          const found = inner?.(e)
          if (found != null) return found
        }
        return null
      }
    }
    case 'map': {
      const inner = unencodableNullFinder(t.value)
      return v => {
        if (v === null || typeof v !== 'object') return null
        const entries = v instanceof Map ? [...(v as Map<unknown, unknown>)] : Object.entries(v as object)
        for (const [k, x] of entries) {
          if (k === null) return 'a map key is null'
          if (x === null || x === undefined) return `map value '${String(k)}' is null`
          const found = inner?.(x)
          if (found != null) return found
        }
        return null
      }
    }
    case 'struct': {
      const fields = t.fields.map((f, i) => ({ i, name: f.name, find: unencodableNullFinder(f.type) })).filter(f => f.find !== undefined)
      if (fields.length === 0) return undefined
      return v => {
        if (v === null || typeof v !== 'object') return null
        for (const f of fields) {
          const x = Array.isArray(v) ? v[f.i] : (v as Record<string, unknown>)[f.name]
          if (x === null || x === undefined) continue
          const found = f.find!(x)
          if (found != null) return found
        }
        return null
      }
    }
    default:
      return undefined
  }
}
