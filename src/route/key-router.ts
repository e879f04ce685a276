// Main-thread key extraction: which worker(s) a raw record goes to. The fast paths read only the key fields
// (a top-level scan of a JSON object, the key cells of a CSV line, …) and hash the *typed* key values with
// `hashKey`, so they agree with a worker that evaluates the whole record. Keys computed by expressions (or a
// select that can EXPLODE one record into rows of different keys) fall back to full evaluation here, and the
// record goes to every worker owning one of its rows (those workers drop the rows they do not own).
//
// A record whose key cannot be extracted goes to worker 0, whose decoder then dead-letters it with the reason.

import { type InputFormat, createDecoder, csvCellConverter, jsonFieldConverter, splitCsv } from '../codec/record.ts'
import type { BoundGroupBy } from '../config/bind.ts'
import { hashKey } from './hash.ts'

/** Returns a bit mask of target workers (bit i = worker i). */
export type KeyRouter = (bytes: Uint8Array) => number

const utf8 = new TextDecoder()

export function createKeyRouter (bound: BoundGroupBy, format: InputFormat, workers: number): KeyRouter {
  if (workers > 31) throw new Error('at most 31 workers')
  if (workers === 1) return () => 1
  const q = bound.query
  const keyFields = bound.keyIndices.map(i => q.sourceFields[i] ?? null)
  const plain = !q.multiRow && keyFields.every(f => f !== null)
  if (plain) {
    const fields = keyFields as string[]
    switch (format.kind) {
      case 'json': return jsonRouter(fields, format, workers)
      case 'csv': return csvRouter(fields, format, workers)
      default: break
    }
  }
  return evaluatingRouter(bound, format, workers)
}

function maskFor (values: readonly unknown[], workers: number): number {
  return 1 << (hashKey(values) % workers)
}

function jsonRouter (fields: string[], format: Extract<InputFormat, { kind: 'json' }>, workers: number): KeyRouter {
  const spans: (string | undefined)[] = new Array(fields.length)
  const values: unknown[] = new Array(fields.length)
  // Convert exactly as the worker's JSON decoder does (a float key is rounded to 32 bits before it is hashed, an
  // out-of-range number is refused), so a record is routed by the value it is aggregated under.
  const convert = fields.map(f => {
    const type = format.schema.fields.find(x => x.name === f)?.type
    return type === undefined ? (x: unknown) => x : jsonFieldConverter(type, format.timestampMillis?.includes(f) === true)
  })
  return bytes => {
    const text = utf8.decode(bytes)
    if (!scanTopLevel(text, fields, spans)) return 1
    for (let i = 0; i < fields.length; i++) {
      const s = spans[i]
      if (s === undefined) return 1
      const v = convert[i]!(parseJsonSpan(s))
      if (v === undefined) return 1 // invalid: worker 0 dead-letters it
      values[i] = v
    }
    return maskFor(values, workers)
  }
}

function parseJsonSpan (s: string): unknown {
  if (s.charCodeAt(0) === 34 /* " */ && s.indexOf('\\') < 0) return s.slice(1, -1)
  try { return JSON.parse(s) } catch { return undefined }
}

function csvRouter (fields: string[], format: Extract<InputFormat, { kind: 'csv' }>, workers: number): KeyRouter {
  const columns = fields.map(f => format.header.indexOf(f))
  const decoder = createDecoder(format)
  if (columns.some(c => c < 0)) return bytes => { try { return maskFor(fields.map(f => decoder.decode(bytes)[f]), workers) } catch { return 1 } }
  const values: unknown[] = new Array(fields.length)
  // Convert exactly as the worker's CSV decoder does.
  const convert = fields.map(f => {
    const type = format.schema.fields.find(x => x.name === f)?.type
    return type === undefined ? () => undefined : csvCellConverter(type, format.timestampMillis?.includes(f) === true)
  })
  return bytes => {
    let cells: string[]
    try { cells = splitCsv(utf8.decode(bytes).replace(/\r$/, ''), format.delimiter) } catch { return 1 }
    for (let i = 0; i < columns.length; i++) {
      const c = cells[columns[i]!]
      if (c === undefined) return 1
      values[i] = convert[i]!(c)
    }
    return maskFor(values, workers)
  }
}

/** Full decode + evaluation: correct for any key expression, and the only way for multi-row queries. */
function evaluatingRouter (bound: BoundGroupBy, format: InputFormat, workers: number): KeyRouter {
  const decoder = createDecoder(format)
  const q = bound.query
  const out: unknown[] = new Array(q.columns.length).fill(null)
  const nKeys = bound.keyIndices.length
  let mask = 0
  const emit = (): void => {
    for (let k = 0; k < nKeys; k++) if (out[k] === null || out[k] === undefined) { mask |= 1; return }
    mask |= 1 << (hashKey(out, 0, nKeys) % workers)
  }
  return bytes => {
    mask = 0
    try {
      q.run(decoder.decode(bytes), out, emit)
    } catch {
      return 1
    }
    // No row (a where dropped it): any worker will count it as filtered.
    return mask === 0 ? 1 : mask
  }
}

/**
 * Finds the raw JSON text of the wanted top-level fields of an object without building it. Returns false when
 * the text is not a JSON object (the worker then dead-letters it). Later duplicates win, as in JSON.parse.
 */
export function scanTopLevel (s: string, wanted: readonly string[], out: (string | undefined)[]): boolean {
  out.fill(undefined)
  const n = s.length
  let i = skipWs(s, 0)
  if (s.charCodeAt(i) !== 123 /* { */) return false
  i = skipWs(s, i + 1)
  if (s.charCodeAt(i) === 125 /* } */) return true
  for (;;) {
    if (s.charCodeAt(i) !== 34) return false
    const keyEnd = skipString(s, i)
    if (keyEnd < 0) return false
    let key = s.slice(i + 1, keyEnd - 1)
    if (key.indexOf('\\') >= 0) { try { key = JSON.parse(s.slice(i, keyEnd)) as string } catch { return false } }
    i = skipWs(s, keyEnd)
    if (s.charCodeAt(i) !== 58 /* : */) return false
    i = skipWs(s, i + 1)
    const vEnd = skipValue(s, i)
    if (vEnd < 0) return false
    const w = wanted.indexOf(key)
    if (w >= 0) out[w] = s.slice(i, vEnd)
    i = skipWs(s, vEnd)
    const c = s.charCodeAt(i)
    if (c === 44 /* , */) { i = skipWs(s, i + 1); continue }
    return c === 125 && i < n
  }
}

function skipWs (s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i)
    if (c === 32 || c === 9 || c === 10 || c === 13) i++
    else return i
  }
}

function skipString (s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j)
    if (c === 92 /* \ */) { j++; continue }
    if (c === 34) return j + 1
  }
  return -1
}

function skipValue (s: string, i: number): number {
  const c = s.charCodeAt(i)
  if (c === 34) return skipString(s, i)
  if (c === 123 || c === 91) {
    let depth = 0
    for (let j = i; j < s.length; j++) {
      const d = s.charCodeAt(j)
      if (d === 34) { j = skipString(s, j) - 1; if (j < 0) return -1; continue }
      if (d === 123 || d === 91) depth++
      else if (d === 125 || d === 93) { depth--; if (depth === 0) return j + 1 }
    }
    return -1
  }
  let j = i
  for (; j < s.length; j++) {
    const d = s.charCodeAt(j)
    if (d === 44 || d === 125 || d === 93 || d === 32 || d === 9 || d === 10 || d === 13) break
  }
  return j > i ? j : -1
}
