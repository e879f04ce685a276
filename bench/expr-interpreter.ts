// A naive tree-walking interpreter of the typed expression trees: the baseline the benchmark compares the
// generated code against, and a second implementation the tests cross-check every case with. It shares the
// parser, the type checker and every function's `impl` with the compiler, and walks the tree per event with an
// environment Map for lambda variables: what an engine without code generation would do. Not used by the engine.

import type { StructType } from '../src/api/data-type.ts'
import { TilekilnError } from '../src/errors.ts'
import { parseExpression } from '../src/expr/parser.ts'
import type { QuerySpec } from '../src/expr/query.ts'
import { MICROS_PER_MILLI, floorDiv } from '../src/expr/runtime/datetime.ts'
import { doubleToLong } from '../src/expr/runtime/numbers.ts'
import { hasOwn } from '../src/expr/runtime/values.ts'
import type { Lambda, TExpr } from '../src/expr/typed.ts'
import { TypeChecker } from '../src/expr/typecheck.ts'

type Env = Map<number, unknown>
type Row = Readonly<Record<string, unknown>>

export function evaluate (e: TExpr, row: Row, env: Env = new Map()): unknown {
  switch (e.k) {
    case 'lit': return e.value
    case 'col': return hasOwn(row, e.name) ? row[e.name] ?? null : null
    case 'var': return env.get(e.id) ?? null
    case 'call': {
      const args = e.args.map(a => evaluate(a, row, env))
      if (e.res.nullSafe !== true && args.some(a => a === null)) return null
      return e.res.impl(...args) ?? null
    }
    case 'and': {
      const l = evaluate(e.left, row, env)
      if (l === false) return false
      const r = evaluate(e.right, row, env)
      if (r === false) return false
      return l === null || r === null ? null : true
    }
    case 'or': {
      const l = evaluate(e.left, row, env)
      if (l === true) return true
      const r = evaluate(e.right, row, env)
      if (r === true) return true
      return l === null || r === null ? null : false
    }
    case 'not': { const v = evaluate(e.arg, row, env); return v === null ? null : !v }
    case 'isnull': return (evaluate(e.arg, row, env) === null) !== e.negated
    case 'if': return evaluate(evaluate(e.cond, row, env) === true ? e.then : e.otherwise, row, env)
    case 'case': {
      for (const b of e.branches) if (evaluate(b.when, row, env) === true) return evaluate(b.then, row, env)
      return evaluate(e.otherwise, row, env)
    }
    case 'coalesce': {
      for (const a of e.args) { const v = evaluate(a, row, env); if (v !== null) return v }
      return null
    }
    case 'in': {
      const v = evaluate(e.arg, row, env)
      if (v === null) return null
      let sawNull = false
      for (const item of e.list) {
        const x = evaluate(item, row, env)
        if (x === null) sawNull = true
        else if (e.eq(v, x)) return true
      }
      return sawNull ? null : false
    }
    case 'hof': {
      const arr = evaluate(e.arr, row, env) as unknown[] | null
      if (arr === null) return null
      const results = arr.map((x, i) => apply(e.lambda, [x ?? null, i], row, env))
      switch (e.fn) {
        case 'transform': return results
        case 'filter': return arr.filter((_, i) => results[i] === true)
        case 'exists': return results.includes(true) ? true : results.includes(null) ? null : false
        case 'forall': return results.includes(false) ? false : results.includes(null) ? null : true
      }
      return null
    }
    case 'aggregate': {
      const arr = evaluate(e.arr, row, env) as unknown[] | null
      if (arr === null) return null
      let acc = evaluate(e.zero, row, env)
      for (const x of arr) acc = apply(e.merge, [acc, x ?? null], row, env)
      return e.finish === null ? acc : apply(e.finish, [acc], row, env)
    }
    case 'struct': {
      const o: Record<string, unknown> = {}
      e.names.forEach((n, i) => Object.defineProperty(o, n, { value: evaluate(e.args[i]!, row, env), enumerable: true, writable: true, configurable: true }))
      return o
    }
    case 'explode': throw new Error('EXPLODE is handled by the query runner')
  }
}

function apply (lambda: Lambda, params: readonly unknown[], row: Row, env: Env): unknown {
  const inner = new Map(env)
  lambda.ids.forEach((id, i) => inner.set(id, params[i]))
  return evaluate(lambda.body, row, inner)
}

/** The same contract as compileQuery's run, by interpretation. */
export function interpretQuery (spec: QuerySpec, input: StructType, needed: readonly string[]): (row: Row, out: unknown[], emit: () => void) => void {
  const checker = new TypeChecker(input)
  const selects = new Map<string, TExpr>()
  let explodeAlias: string | null = null
  for (const [alias, text] of Object.entries(spec.selects ?? {})) {
    const e = checker.check(parseExpression(text), { allowGenerator: true })
    if (e.k === 'explode') explodeAlias = alias
    selects.set(alias, e)
  }
  const wheres = spec.wheres.map(w => checker.check(parseExpression(w), { allowGenerator: false }))
  const time = checker.check(parseExpression(spec.timeColumn), { allowGenerator: false })
  const toMillis = (v: unknown): unknown => {
    if (v === null) return null
    switch (time.type.kind) {
      case 'timestamp': return floorDiv(v as number, MICROS_PER_MILLI)
      case 'date': return (v as number) * 86_400_000
      case 'double': case 'float': return doubleToLong(v as number)
      default: return v
    }
  }
  const exprs = needed.map(n => (n === 'ts' ? null : spec.selects === null ? ({ k: 'col', name: n, type: { kind: 'null' }, nullable: true, pos: 0 } as TExpr) : selects.get(n)!))
  const exploded = explodeAlias === null ? null : selects.get(explodeAlias) as Extract<TExpr, { k: 'explode' }>
  const explodedIndex = explodeAlias === null ? -1 : needed.indexOf(explodeAlias)
  return (row, out, emit) => {
    try {
      for (const w of wheres) if (evaluate(w, row) !== true) return
      for (let i = 0; i < exprs.length; i++) {
        const e = exprs[i]!
        if (i === explodedIndex) continue
        out[i] = e === null ? toMillis(evaluate(time, row)) : evaluate(e, row)
      }
      out[needed.length] = toMillis(evaluate(time, row))
      if (exploded === null) { emit(); return }
      const arr = evaluate(exploded.arg, row) as unknown[] | null
      if (arr === null || arr.length === 0) {
        if (exploded.outer) { if (explodedIndex >= 0) out[explodedIndex] = null; emit() }
        return
      }
      for (const x of arr) {
        if (explodedIndex >= 0) out[explodedIndex] = x ?? null
        emit()
      }
    } catch (e) {
      if (e instanceof TilekilnError) throw e
      throw new TilekilnError('TK_EXPR_EVAL', (e as Error).message)
    }
  }
}
