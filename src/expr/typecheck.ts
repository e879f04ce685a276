// Resolves names against the input schema, applies Spark's implicit casts and computes the type of every node,
// before anything runs. Errors are ExprErrors of kind 'type' at the offending node's position.

import { type DataType, type StructType, T, typesEqual } from '../api/data-type.ts'
import type { BinaryOp, Node } from './ast.ts'
import { ExprError } from './errors.ts'
import { lookupFunction } from './functions/registry.ts'
import { arithmetic, comparison, bitwise, concatOp, likeOp, unaryOp } from './functions/operators.ts'
import { castFn, castProblem, sparkTypeName } from './runtime/cast.ts'
import { equalsFor, mapGet, structField } from './runtime/values.ts'
import type { FnSpec, Lambda, Resolution, ResolveCtx, TExpr } from './typed.ts'
import { canImplicitCast, commonTypeOf, isOrderable } from './types.ts'

export interface CheckOptions {
  /** EXPLODE may appear as the whole expression (a select), nowhere else. */
  readonly allowGenerator: boolean
}

export class TypeChecker {
  readonly #fields: StructType['fields']
  #nextVar = 0
  readonly #scopes: Map<string, { id: number, type: DataType }>[] = []
  nondeterministic: { name: string, pos: number } | null = null
  readonly pivotYear: number

  constructor (input: StructType, pivotYear = new Date().getUTCFullYear()) {
    this.#fields = input.fields
    this.pivotYear = pivotYear
  }

  check (node: Node, opts: CheckOptions): TExpr {
    if (opts.allowGenerator && node.k === 'call' && (node.name === 'explode' || node.name === 'explode_outer')) {
      const arg = this.expr(node.args[0] ?? fail(node, 'EXPLODE takes one argument'))
      if (node.args.length !== 1) return fail(node, 'EXPLODE takes one argument')
      if (arg.type.kind === 'map') return fail(node, 'EXPLODE of a map makes two columns (key, value); a select has one alias. Explode map_keys(…) or map_values(…) instead')
      if (arg.type.kind !== 'list' && arg.type.kind !== 'null') return fail(node, `EXPLODE needs an array, not ${sparkTypeName(arg.type).toUpperCase()}`)
      const elem = arg.type.kind === 'list' ? arg.type.elem : T.null
      return { k: 'explode', type: elem, nullable: true, pos: node.pos, arg, outer: node.name === 'explode_outer' }
    }
    return this.expr(node)
  }

  // ---- nodes -----------------------------------------------------------------------------------------------------

  expr (node: Node): TExpr {
    switch (node.k) {
      case 'lit': return literal(node)
      case 'ref': return this.ref(node)
      case 'field': return this.field(this.expr(node.base), node.name, node)
      case 'subscript': return this.subscript(node)
      case 'unary': return this.fold(unaryOp(node.op, this.expr(node.arg), this.ctx(node)))
      case 'binary': return this.binary(node.op, this.expr(node.left), this.expr(node.right), node)
      case 'not': {
        const arg = this.boolean(this.expr(node.arg), node)
        return { k: 'not', type: T.boolean, nullable: arg.nullable, pos: node.pos, arg }
      }
      case 'and': case 'or': {
        const left = this.boolean(this.expr(node.left), node)
        const right = this.boolean(this.expr(node.right), node)
        return { k: node.k, type: T.boolean, nullable: left.nullable || right.nullable, pos: node.pos, left, right }
      }
      case 'isnull': {
        const arg = this.expr(node.arg)
        return { k: 'isnull', type: T.boolean, nullable: false, pos: node.pos, arg, negated: node.negated }
      }
      case 'isbool': {
        // x IS TRUE is (x <=> TRUE); IS NOT TRUE its negation: never NULL
        const arg = this.boolean(this.expr(node.arg), node)
        const eq = this.binary('<=>', arg, { k: 'lit', type: T.boolean, nullable: false, pos: node.pos, value: node.value }, node)
        return node.negated ? { k: 'not', type: T.boolean, nullable: false, pos: node.pos, arg: eq } : eq
      }
      case 'in': return this.inList(node)
      case 'between': {
        // Spark rewrites BETWEEN to lower <= x AND x <= upper
        const arg = this.expr(node.arg)
        const lo = this.binary('>=', arg, this.expr(node.lower), node)
        const hi = this.binary('<=', arg, this.expr(node.upper), node)
        const both: TExpr = { k: 'and', type: T.boolean, nullable: lo.nullable || hi.nullable, pos: node.pos, left: lo, right: hi }
        return node.negated ? { k: 'not', type: T.boolean, nullable: both.nullable, pos: node.pos, arg: both } : both
      }
      case 'like': {
        const call = likeOp(node.op, this.expr(node.arg), this.expr(node.pattern), node.escape, this.ctx(node))
        return node.negated ? { k: 'not', type: T.boolean, nullable: call.nullable, pos: node.pos, arg: call } : call
      }
      case 'case': return this.caseWhen(node)
      case 'cast': return this.fold(this.castTo(this.expr(node.arg), node.to, node))
      case 'call': return this.call(node)
      case 'struct': return this.struct(node)
      case 'lambda': return fail(node, 'a lambda (x -> …) is only allowed as an argument of TRANSFORM, FILTER, EXISTS, FORALL or AGGREGATE')
    }
  }

  ref (node: Extract<Node, { k: 'ref' }>): TExpr {
    const [first, ...rest] = node.parts as [string, ...string[]]
    let base: TExpr
    const v = this.lookupVar(first)
    if (v !== null) {
      base = { k: 'var', type: v.type, nullable: true, pos: node.pos, id: v.id }
    } else {
      const field = this.resolveColumn(first, node)
      base = { k: 'col', type: field.type, nullable: true, pos: node.pos, name: field.name }
    }
    for (const part of rest) base = this.field(base, part, node)
    return base
  }

  resolveColumn (name: string, node: Node): { name: string, type: DataType } {
    const exact = this.#fields.find(f => f.name === name)
    if (exact !== undefined) return exact
    // Spark resolves names case-insensitively (spark.sql.caseSensitive = false)
    const matches = this.#fields.filter(f => f.name.toLowerCase() === name.toLowerCase())
    if (matches.length === 1) return matches[0]!
    if (matches.length > 1) return fail(node, `column name '${name}' is ambiguous: ${matches.map(m => m.name).join(', ')}`)
    return fail(node, `column '${name}' is not in the input schema${suggest(name, this.#fields.map(f => f.name))}`)
  }

  lookupVar (name: string): { id: number, type: DataType } | null {
    for (let i = this.#scopes.length - 1; i >= 0; i--) {
      const scope = this.#scopes[i]!
      const v = scope.get(name) ?? scope.get(name.toLowerCase())
      if (v !== undefined) return v
    }
    return null
  }

  field (base: TExpr, name: string, node: Node): TExpr {
    const t = base.type
    if (t.kind === 'struct') {
      const index = structFieldIndex(t, name, node)
      const f = t.fields[index]!
      const fname = f.name
      return this.callNode('field', f.type, [base], {
        impl: (s: unknown) => structField(s, fname, index),
        inline: ([s], c) => `${c.rt('structField')}(${s}, ${c.k(fname)}, ${index})`,
        nullable: true
      }, node)
    }
    if (t.kind === 'map') {
      // m.key is m['key'] in Spark
      const key = this.coerce({ k: 'lit', type: T.string, nullable: false, pos: node.pos, value: name }, t.key, node, 'map key')
      return this.mapLookup(base, key, node)
    }
    if (t.kind === 'list' && t.elem.kind === 'struct') {
      // arr.f is the array of every element's f (GetArrayStructFields)
      const index = structFieldIndex(t.elem, name, node)
      const f = t.elem.fields[index]!
      const fname = f.name
      return this.callNode('fields', T.list(f.type), [base], {
        impl: (a: unknown[]) => a.map(x => (x === null || x === undefined ? null : structField(x, fname, index))),
        nullable: false
      }, node)
    }
    return fail(node, `cannot read field '${name}' of a ${sparkTypeName(t).toUpperCase()} value`)
  }

  subscript (node: Extract<Node, { k: 'subscript' }>): TExpr {
    const base = this.expr(node.base)
    const index = this.expr(node.index)
    if (base.type.kind === 'list') {
      const i = this.coerce(index, T.int, node, 'array index')
      // arr[i] is 0-based; out of bounds is NULL (non-ANSI)
      return this.callNode('subscript', base.type.elem, [base, i], {
        impl: (a: unknown[], k: number) => (k >= 0 && k < a.length ? a[k] ?? null : null),
        inline: ([a, k]) => `(${k} >= 0 && ${k} < ${a}.length ? (${a}[${k}] ?? null) : null)`,
        nullable: true
      }, node)
    }
    if (base.type.kind === 'map') return this.mapLookup(base, this.coerce(index, base.type.key, node, 'map key'), node)
    return fail(node, `cannot subscript a ${sparkTypeName(base.type).toUpperCase()} value (only arrays and maps)`)
  }

  mapLookup (map: TExpr, key: TExpr, node: Node): TExpr {
    const t = map.type as Extract<DataType, { kind: 'map' }>
    // string keys (every map decoded from Avro or JSON): an own-property read inline, Map instances out of line
    const inline: Resolution['inline'] = t.key.kind === 'string'
      ? ([m, k], c) => `(${c.rt('hasOwn')}(${m}, ${k}) ? (${m}[${k}] ?? null) : ${c.rt('mapGet')}(${m}, ${k}))`
      : ([m, k], c) => `${c.rt('mapGet')}(${m}, ${k})`
    return this.callNode('map_get', t.value, [map, key], { impl: mapGet, inline, nullable: true }, node)
  }

  binary (op: BinaryOp, left: TExpr, right: TExpr, node: Node): TExpr {
    const ctx = this.ctx(node)
    switch (op) {
      case '+': case '-': case '*': case '/': case '%': case 'div': return this.fold(arithmetic(op, left, right, ctx))
      case '||': return this.fold(concatOp(left, right, ctx))
      case '&': case '|': case '^': return this.fold(bitwise(op, left, right, ctx))
      default: return this.fold(comparison(op, left, right, ctx))
    }
  }

  boolean (e: TExpr, node: Node): TExpr {
    if (e.type.kind === 'boolean') return e
    if (e.type.kind === 'null') return { ...e, type: T.boolean } as TExpr
    return fail({ pos: e.pos ?? node.pos }, `expected a BOOLEAN condition, got ${sparkTypeName(e.type).toUpperCase()}`)
  }

  inList (node: Extract<Node, { k: 'in' }>): TExpr {
    const arg = this.expr(node.arg)
    const list = node.list.map(n => this.expr(n))
    const common = commonTypeOf([arg.type, ...list.map(e => e.type)])
    if (common === null) {
      fail(node, `IN needs values of one type: ${[arg, ...list].map(e => sparkTypeName(e.type).toUpperCase()).join(', ')}`)
    }
    if (common.kind === 'map') return fail(node, 'IN cannot compare MAP values')
    const a = this.castTo(arg, common, node)
    const items = list.map((e, i) => this.castTo(e, common, node.list[i]!))
    const allConst = items.every(e => e.k === 'lit')
    const listHasNull = items.some(e => e.k === 'lit' && e.value === null)
    // a Set finds primitives by SameValueZero, which matches Spark equality except for longs held as bigints and
    // for NaN (equal in both); longs beyond 2^53 and nested values go through the list instead
    const setOk = allConst && ['boolean', 'byte', 'short', 'int', 'string', 'date', 'float', 'double'].includes(common.kind) ||
      (allConst && (common.kind === 'long' || common.kind === 'timestamp') && items.every(e => typeof e.value !== 'bigint'))
    const set = setOk ? new Set(items.filter(e => e.k === 'lit' && e.value !== null).map(e => (e as { value: unknown }).value)) : null
    const nullable = a.nullable || listHasNull || items.some(e => e.nullable)
    const inNode: TExpr = { k: 'in', type: T.boolean, nullable, pos: node.pos, arg: a, list: items, set, listHasNull, eq: equalsFor(common) }
    return node.negated ? { k: 'not', type: T.boolean, nullable, pos: node.pos, arg: inNode } : inNode
  }

  caseWhen (node: Extract<Node, { k: 'case' }>): TExpr {
    const subject = node.subject === null ? null : this.expr(node.subject)
    const conds = node.branches.map(b => {
      const w = this.expr(b.when)
      return subject === null ? this.boolean(w, b.when) : this.binary('=', subject, w, b.when)
    })
    const values = node.branches.map(b => this.expr(b.then))
    const otherwise = node.otherwise === null ? null : this.expr(node.otherwise)
    const all = otherwise === null ? values : [...values, otherwise]
    const type = commonTypeOf(all.map(v => v.type))
    if (type === null) return fail(node, `CASE branches have incompatible types: ${all.map(v => sparkTypeName(v.type).toUpperCase()).join(', ')}`)
    const branches = conds.map((when, i) => ({ when, then: this.coerce(values[i]!, type, node.branches[i]!.then, 'CASE branch') }))
    const other = otherwise === null ? nullLit(type, node.pos) : this.coerce(otherwise, type, node.otherwise!, 'CASE ELSE')
    return { k: 'case', type, nullable: other.nullable || branches.some(b => b.then.nullable), pos: node.pos, branches, otherwise: other }
  }

  struct (node: Extract<Node, { k: 'struct' }>): TExpr {
    const args = node.args.map(a => this.expr(a.value))
    // Spark names a field by its alias, else by the column (or nested field) it reads, else col1, col2…
    const names = node.args.map((a, i) => a.alias ?? (a.value.k === 'ref' ? a.value.parts[a.value.parts.length - 1]! : a.value.k === 'field' ? a.value.name : `col${i + 1}`))
    return structNode(names, args, node.pos)
  }

  call (node: Extract<Node, { k: 'call' }>): TExpr {
    const spec = lookupFunction(node.name)
    if (spec === undefined) {
      return fail(node, `unknown function ${node.name.toUpperCase()} (user-defined functions are not supported)`)
    }
    if (node.args.length < spec.minArgs || node.args.length > spec.maxArgs) {
      const range = spec.minArgs === spec.maxArgs ? `${spec.minArgs}` : spec.maxArgs === Infinity ? `at least ${spec.minArgs}` : `${spec.minArgs} to ${spec.maxArgs}`
      fail(node, `${node.name.toUpperCase()} takes ${range} argument${spec.maxArgs === 1 ? '' : 's'}, not ${node.args.length}`)
    }
    if (spec.nondeterministic === true && this.nondeterministic === null) this.nondeterministic = { name: node.name, pos: node.pos }
    if (node.name === 'explode' || node.name === 'explode_outer' || node.name === 'posexplode') {
      fail(node, `${node.name.toUpperCase()} is only allowed as a whole select expression, not inside another expression`)
    }
    const args = spec.rawArgs === true ? [] : node.args.map(a => this.expr(a))
    const ctx = this.ctx(node, spec, node.args)
    return this.fold(spec.resolve(args, ctx, node.args))
  }

  // ---- helpers ---------------------------------------------------------------------------------------------------

  /** An implicit cast (ImplicitCastInputTypes): refused when Spark would need an explicit CAST. */
  coerce (e: TExpr, to: DataType, node: Pick<Node, 'pos'>, what: string): TExpr {
    if (typesEqual(e.type, to)) return e
    if (e.type.kind === 'null') return nullLit(to, e.pos)
    if (!canImplicitCast(e.type, to)) {
      fail(node, `${what} must be ${sparkTypeName(to).toUpperCase()}, got ${sparkTypeName(e.type).toUpperCase()}`)
    }
    return this.castTo(e, to, node)
  }

  castTo (e: TExpr, to: DataType, node: Pick<Node, 'pos'>): TExpr {
    if (typesEqual(e.type, to)) return e
    if (e.type.kind === 'null') return nullLit(to, e.pos)
    const problem = castProblem(e.type, to)
    if (problem !== null) return fail(node, problem)
    const fn = castFn(e.type, to)
    const total = castIsTotal(e.type, to)
    return this.callNode(`cast`, to, [e], { impl: fn, nullable: !total }, node)
  }

  callNode (name: string, type: DataType, args: readonly TExpr[], res: Resolution, node: Pick<Node, 'pos'>): TExpr {
    const nullable = res.nullSafe === true ? res.nullable : res.nullable || args.some(a => a.nullable)
    return this.fold({ k: 'call', name, type, nullable, pos: node.pos, args, res })
  }

  /** Evaluates a deterministic call of constants now, when its result is a plain value (never an object: rows must
   *  not share mutable values). A call that throws stays a call, so the error happens per event as in Spark. */
  fold (e: TExpr): TExpr {
    if (e.k !== 'call' || !e.args.every(a => a.k === 'lit')) return e
    const values = e.args.map(a => (a as { value: unknown }).value)
    let v: unknown
    try {
      v = e.res.nullSafe !== true && values.some(x => x === null) ? null : e.res.impl(...values)
    } catch {
      return e
    }
    if (v !== null && typeof v === 'object') return e
    return { k: 'lit', type: e.type, nullable: v === null, pos: e.pos, value: v }
  }

  lambda (node: Node, params: readonly DataType[], fnName: string): Lambda {
    if (node.k !== 'lambda') return fail(node, `${fnName.toUpperCase()} needs a lambda here, such as x -> x + 1`)
    if (node.params.length > params.length) return fail(node, `${fnName.toUpperCase()} gives its lambda at most ${params.length} parameter${params.length === 1 ? '' : 's'}`)
    if (new Set(node.params.map(p => p.toLowerCase())).size !== node.params.length) return fail(node, 'lambda parameters must have different names')
    const scope = new Map<string, { id: number, type: DataType }>()
    const ids = node.params.map((p, i) => {
      const id = this.#nextVar++
      scope.set(p, { id, type: params[i]! })
      scope.set(p.toLowerCase(), { id, type: params[i]! })
      return id
    })
    this.#scopes.push(scope)
    try {
      return { ids, body: this.expr(node.body) }
    } finally {
      this.#scopes.pop()
    }
  }

  ctx (node: Node, spec?: FnSpec, raw: readonly Node[] = []): ResolveCtx {
    const name = spec?.names[0] ?? (node.k === 'call' ? node.name : 'operator')
    const at = (i?: number): Pick<Node, 'pos'> => (i !== undefined && raw[i] !== undefined ? raw[i]! : node)
    return {
      fail: (message, argIndex) => fail(at(argIndex), message),
      coerce: (arg, to, argIndex) => this.coerce(arg, to, at(argIndex), `argument ${argIndex + 1} of ${name.toUpperCase()}`),
      cast: (arg, to) => this.castTo(arg, to, node),
      check: n => this.expr(n),
      lambda: (n, params) => this.lambda(n, params, name),
      constant: arg => (arg.k === 'lit' ? arg.value : undefined),
      call: (callName, type, args, res) => this.callNode(callName, type, args, res, node),
      pos: node.pos,
      pivotYear: this.pivotYear
    }
  }
}

/** Casts that never produce NULL from a non-NULL value (so the generated code needs no null check after them). */
function castIsTotal (from: DataType, to: DataType): boolean {
  if (from.kind === 'string') return to.kind === 'binary' || to.kind === 'string'
  if (to.kind === 'string') return true
  if (from.kind === 'float' || from.kind === 'double') return to.kind !== 'timestamp'
  return to.kind !== 'date' || from.kind === 'timestamp'
}

export function literal (node: Extract<Node, { k: 'lit' }>): TExpr {
  const type: DataType = node.kind === 'decimal' ? T.double : node.kind === 'null' ? T.null : T[node.kind]
  return { k: 'lit', type, nullable: node.value === null, pos: node.pos, value: node.value }
}

export function nullLit (type: DataType, pos: number): TExpr {
  return { k: 'lit', type, nullable: true, pos, value: null }
}

export function structNode (names: readonly string[], args: readonly TExpr[], pos: number): TExpr {
  const type = T.struct('Struct', names.map((name, i) => ({ name, type: args[i]!.type })))
  return { k: 'struct', type, nullable: false, pos, names, args }
}

function structFieldIndex (t: StructType, name: string, node: Node): number {
  const index = t.fields.findIndex(f => f.name === name)
  if (index >= 0) return index
  const ci = t.fields.flatMap((f, i) => (f.name.toLowerCase() === name.toLowerCase() ? [i] : []))
  if (ci.length !== 1) return fail(node, `struct has no field '${name}' (fields: ${t.fields.map(f => f.name).join(', ')})`)
  return ci[0]!
}

export function fail (node: Pick<Node, 'pos'>, message: string): never {
  throw new ExprError('type', message, node.pos)
}

export function assertOrderable (t: DataType, ctx: ResolveCtx, what: string): void {
  if (!isOrderable(t)) return ctx.fail(`${what} cannot order ${sparkTypeName(t).toUpperCase()} values`)
}

function suggest (name: string, names: readonly string[]): string {
  const lower = name.toLowerCase()
  const close = names.filter(n => editDistance(n.toLowerCase(), lower) <= 2).slice(0, 3)
  const list = names.length <= 12 ? ` (columns: ${names.join(', ')})` : ''
  return close.length > 0 ? `; did you mean ${close.join(' or ')}?${list}` : list
}

function editDistance (a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)])
  for (let j = 1; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
  }
  return d[a.length]![b.length]!
}
