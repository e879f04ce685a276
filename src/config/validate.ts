// The shape of a GroupBy JSON, checked before anything reads it: every field the plan reads has the JSON type it
// must have, and a wrong one is refused with a TK_CONFIG error and its JSON path (`aggregations[0].windows`),
// never left to fail later as "x.map is not a function". Values (window lengths, operations, expressions) are
// judged where they are compiled (plan.ts, bind.ts); fields we do not read are not judged, except that no part of
// the document may nest deeper than MAX_DEPTH (a 100,000-deep ignored field would overflow the stack of every
// recursive walk after this one: cloning the GroupBy to the workers, fingerprinting it for checkpoints).

import { configError } from '../errors.ts'

/** Deeper than any real GroupBy (Chronon's compiled files nest about 8 levels). */
export const MAX_DEPTH = 64

type Json = unknown

const isObject = (v: Json): v is Record<string, Json> => v !== null && typeof v === 'object' && !Array.isArray(v)
const describe = (v: Json): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`.slice(0, 60))

/** Refuses the GroupBy `json` (a parsed JSON value) if a field the engine reads has the wrong shape. */
export function validateGroupByShape (json: Json, fallbackName?: string): void {
  checkDepth(json)
  if (!isObject(json)) throw configError(`a GroupBy must be a JSON object, got ${describe(json)}`, '$')
  const md = json.metaData
  if (md !== undefined && md !== null && !isObject(md)) throw configError(`metaData must be an object, got ${describe(md)}`, 'metaData')
  const rawName = isObject(md) ? md.name : undefined
  if (rawName !== undefined && rawName !== null && typeof rawName !== 'string') throw configError(`metaData.name must be a string, got ${describe(rawName)}`, 'metaData.name')
  const name = typeof rawName === 'string' && rawName.length > 0 ? rawName : fallbackName
  const fail = (message: string, path: string): never => { throw configError(message, path, name) }

  const keys = json.keyColumns
  if (!Array.isArray(keys)) fail(`keyColumns must be a list of column names, got ${describe(keys)}`, 'keyColumns')

  const sources = json.sources
  if (!Array.isArray(sources)) fail(`sources must be a list, got ${describe(sources)}`, 'sources')
  ;(sources as Json[]).forEach((s, i) => {
    const path = `sources[${i}]`
    if (!isObject(s)) fail(`a source must be an object, got ${describe(s)}`, path)
    const src = s as Record<string, Json>
    for (const kind of ['events', 'entities', 'joinSource']) {
      const v = src[kind]
      if (v !== undefined && !isObject(v)) fail(`${kind} must be an object, got ${describe(v)}`, `${path}.${kind}`)
    }
    const ev = src.events
    if (!isObject(ev)) return
    for (const f of ['table', 'topic']) {
      const v = ev[f]
      if (v !== undefined && v !== null && typeof v !== 'string') fail(`${f} must be a string, got ${describe(v)}`, `${path}.events.${f}`)
    }
    const q = ev.query
    const qpath = `${path}.events.query`
    if (q === undefined || q === null) return
    if (!isObject(q)) fail(`query must be an object, got ${describe(q)}`, qpath)
    const query = q as Record<string, Json>
    if (query.selects !== undefined && query.selects !== null && !isObject(query.selects)) fail(`selects must be an object of alias → expression, got ${describe(query.selects)}`, `${qpath}.selects`)
    const wheres = query.wheres
    if (wheres !== undefined && wheres !== null) {
      if (!Array.isArray(wheres)) fail(`wheres must be a list of expressions, got ${describe(wheres)}`, `${qpath}.wheres`)
      ;(wheres as Json[]).forEach((w, j) => {
        if (typeof w !== 'string' || w.trim() === '') fail(`a where must be a non-empty expression, got ${describe(w)}`, `${qpath}.wheres[${j}]`)
      })
    }
    const tc = query.timeColumn
    if (tc !== undefined && tc !== null && typeof tc !== 'string') fail(`timeColumn must be an expression (a string), got ${describe(tc)}`, `${qpath}.timeColumn`)
  })

  const aggs = json.aggregations
  if (aggs === undefined || aggs === null) return
  if (!Array.isArray(aggs)) fail(`aggregations must be a list, got ${describe(aggs)}`, 'aggregations')
  ;(aggs as Json[]).forEach((a, i) => {
    const path = `aggregations[${i}]`
    if (!isObject(a)) fail(`an aggregation must be an object, got ${describe(a)}`, path)
    const agg = a as Record<string, Json>
    if (typeof agg.operation !== 'number' || !Number.isInteger(agg.operation)) fail(`operation must be an integer (Chronon's Operation), got ${describe(agg.operation)}`, `${path}.operation`)
    const argMap = agg.argMap
    if (argMap !== undefined && argMap !== null) {
      if (!isObject(argMap)) fail(`argMap must be an object of name → value, got ${describe(argMap)}`, `${path}.argMap`)
      for (const [k, v] of Object.entries(argMap as Record<string, Json>)) {
        if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') fail(`argMap values must be strings, got ${describe(v)}`, `${path}.argMap.${k}`)
      }
    }
    const windows = agg.windows
    if (windows !== undefined && windows !== null) {
      if (!Array.isArray(windows)) fail(`windows must be a list of {length, timeUnit}, got ${describe(windows)}`, `${path}.windows`)
      ;(windows as Json[]).forEach((w, j) => {
        if (!isObject(w)) fail(`a window must be an object {length, timeUnit}, got ${describe(w)}`, `${path}.windows[${j}]`)
      })
    }
    const buckets = agg.buckets
    if (buckets !== undefined && buckets !== null && !Array.isArray(buckets)) fail(`buckets must be a list of column names, got ${describe(buckets)}`, `${path}.buckets`)
    const ew = agg.elementWise
    if (ew !== undefined && ew !== null && typeof ew !== 'boolean') fail(`elementWise must be true or false, got ${describe(ew)}`, `${path}.elementWise`)
  })
}

/** Refuses nesting deeper than MAX_DEPTH, without recursion (the point is not to need a deep stack). */
function checkDepth (root: Json): void {
  const stack: { v: Json, depth: number, path: string }[] = [{ v: root, depth: 0, path: '' }]
  while (stack.length > 0) {
    const { v, depth, path } = stack.pop()!
    if (v === null || typeof v !== 'object') continue
    if (depth >= MAX_DEPTH) throw configError(`the GroupBy JSON is nested deeper than ${MAX_DEPTH} levels`, path.replace(/^\./, '') || '$')
    if (Array.isArray(v)) v.forEach((x, i) => stack.push({ v: x, depth: depth + 1, path: `${path}[${i}]` }))
    else for (const [k, x] of Object.entries(v)) stack.push({ v: x, depth: depth + 1, path: `${path}.${k}` })
  }
}
