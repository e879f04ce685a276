// The minimal evaluator: selects that are plain column references (`user_id`, `` `user id` ``) and a plain time
// column. It refuses anything else with the expression and where it came from. The full Spark SQL evaluator
// (compile.ts) supersedes it; this one stays as the reference for the routing fast path.

import type { StructType } from '../api/data-type.ts'
import { TilekilnError } from '../errors.ts'
import type { CompiledQuery, OutputColumn, QuerySpec } from './query.ts'

const IDENT = /^\s*(?:([A-Za-z_][A-Za-z0-9_]*)|`((?:[^`]|``)+)`)\s*$/

function plainRef (expr: string): string | null {
  const m = IDENT.exec(expr)
  if (m === null) return null
  return m[1] ?? m[2]!.replace(/``/g, '`')
}

export function compileColumnRefs (spec: QuerySpec, input: StructType, needed: readonly string[]): CompiledQuery {
  const fieldType = new Map(input.fields.map(f => [f.name, f.type]))
  const resolve = (alias: string, expr: string, path: string): string => {
    const ref = plainRef(expr)
    if (ref === null) {
      throw new TilekilnError('TK_EXPR_PARSE', `'${expr}' is not a plain column reference, and this build evaluates only those`, { groupBy: spec.groupBy, path })
    }
    if (!fieldType.has(ref)) {
      throw new TilekilnError('TK_EXPR_TYPE', `column '${ref}' (for '${alias}') is not in the input schema (fields: ${[...fieldType.keys()].join(', ')})`, { groupBy: spec.groupBy, path })
    }
    return ref
  }
  if (spec.wheres.length > 0) {
    throw new TilekilnError('TK_EXPR_PARSE', 'wheres need the Spark SQL evaluator', { groupBy: spec.groupBy, path: `${spec.path}.wheres` })
  }
  const timeField = resolve('ts', spec.timeColumn, `${spec.path}.timeColumn`)
  const fields: string[] = needed.map(name => {
    if (name === 'ts') return timeField
    const expr = spec.selects === null ? name : spec.selects[name]
    if (expr === undefined) {
      throw new TilekilnError('TK_CONFIG', `column '${name}' is used by the GroupBy but not selected`, { groupBy: spec.groupBy, path: `${spec.path}.selects` })
    }
    return resolve(name, expr, `${spec.path}.selects.${name}`)
  })
  fields.push(timeField)
  const columns: OutputColumn[] = [...needed, 'ts'].map((name, i) => ({ name, type: fieldType.get(fields[i]!)! }))
  const n = fields.length
  return {
    columns,
    multiRow: false,
    sourceFields: fields.slice(0, needed.length),
    timeField,
    run (record, out, emit) {
      for (let i = 0; i < n; i++) {
        const v = record[fields[i]!]
        out[i] = v === undefined ? null : v
      }
      emit()
    }
  }
}
