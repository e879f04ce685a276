// Code generation: typed trees → the source of one straight-line JS function per query (like avsc's generated
// readers), compiled once with `new Function`.
//
// Safety by construction: the generated source is assembled only from fixed fragments written here and names
// made up here (t12, x3, k7, f2). Everything that comes from the user — column names, string and number literals,
// regexes, formats — is passed in the constants array K and referred to by index; it is never spliced into the
// source. `assertSafeSource` checks this on every compile: the source may not contain a quote, a backquote or a
// backslash at all, so there is no string literal in it that user text could have ended up in.
//
// Shape of the generated function (values are held in `let` temporaries; V8 keeps them in registers):
//
//   const k0 = K[0], …, addL = R.addL, …          ← constants and runtime helpers, bound once
//   return function run (r, out, emit) {
//     let t0 = null, t1 = null, …, p = 0
//     try {
//       …wheres: `if (!(<where is TRUE>)) return`…
//       …each output column: out[i] = tN…
//       p = -1; emit()                              ← or a loop over the exploded array
//     } catch (e) { throw E(e, p) }                 ← p names the select that failed
//   }

import { TilekilnError } from '../errors.ts'
import * as R from './runtime/index.ts'
import type { InlineCtx, Lambda, TExpr } from './typed.ts'

export interface OutputSpec {
  /** Index in `out`. */
  readonly index: number
  readonly expr: TExpr
}

export interface GeneratedQuery {
  readonly source: string
  readonly run: (record: Readonly<Record<string, unknown>>, out: unknown[], emit: () => void) => void
}

/** Runtime helpers the templates may name; anything else is a bug in a template and refused. */
const RUNTIME_NAMES = new Set(Object.keys(R).filter(k => /^[A-Za-z][A-Za-z0-9]*$/.test(k)))

type Scope = Map<string, string>

const NEGATIVE_ZERO = Symbol('-0')

export class CodeGen {
  readonly #consts: unknown[] = []
  readonly #constIndex = new Map<unknown, string>()
  readonly #rt = new Set<string>()
  #lines: string[] = []
  #temps = 0
  #scopes: Scope[] = [new Map()]
  #labels = 0
  readonly #ids = new Map<unknown, number>()
  readonly #inline: InlineCtx = {
    rt: name => this.runtime(name),
    k: value => this.constant(value)
  }

  /** Path (for error messages) of each value of p. */
  readonly #paths: string[] = []

  // ---- names -----------------------------------------------------------------------------------------------------

  constant (value: unknown): string {
    if (value === null) return 'null'
    if (value === true) return 'true'
    if (value === false) return 'false'
    // a Map key compares -0 equal to 0; keep them apart, -0.0 is a value of its own
    const key = Object.is(value, -0) ? NEGATIVE_ZERO : value
    let name = this.#constIndex.get(key)
    if (name === undefined) {
      name = `k${this.#consts.length}`
      this.#consts.push(value)
      this.#constIndex.set(key, name)
    }
    return name
  }

  runtime (name: string): string {
    if (!RUNTIME_NAMES.has(name)) throw new TilekilnError('TK_INTERNAL', `code generation named an unknown runtime helper ${name}`)
    this.#rt.add(name)
    return name
  }

  temp (): string { return `t${this.#temps++}` }
  lambdaVar (id: number): string { return `x${id}` }
  line (s: string): void { this.#lines.push(s) }

  /** Registers a path for error messages and returns the statement that marks it current. */
  at (path: string): string {
    this.#paths.push(path)
    return `p = ${this.#paths.length - 1};`
  }

  /** Runs f with its statements collected separately (and a child CSE scope), for lazily evaluated code. */
  capture<T> (f: () => T): { lines: string[], value: T } {
    const saved = this.#lines
    this.#lines = []
    this.#scopes.push(new Map())
    try {
      const value = f()
      return { lines: this.#lines, value }
    } finally {
      this.#scopes.pop()
      this.#lines = saved
    }
  }

  block (lines: readonly string[]): string { return lines.join('\n') }

  // ---- common subexpressions -------------------------------------------------------------------------------------

  id (o: unknown): number {
    const key = Object.is(o, -0) ? NEGATIVE_ZERO : o
    let n = this.#ids.get(key)
    if (n === undefined) { n = this.#ids.size; this.#ids.set(key, n) }
    return n
  }

  /** A structural key for pure nodes (everything is pure here; only explode is not a value). */
  key (e: TExpr): string | null {
    switch (e.k) {
      case 'lit': return null
      case 'col': return `c${this.id(e.name)}`
      case 'var': return null
      case 'call': {
        const parts: string[] = []
        for (const a of e.args) {
          const k = a.k === 'lit' ? `l${this.id(a.value)}:${a.type.kind}` : a.k === 'var' ? `v${a.id}` : this.key(a)
          if (k === null) return null
          parts.push(k)
        }
        return `f${this.id(e.res.impl)}(${parts.join(',')})`
      }
      default: return null
    }
  }

  lookup (key: string): string | undefined {
    for (let i = this.#scopes.length - 1; i >= 0; i--) {
      const v = this.#scopes[i]!.get(key)
      if (v !== undefined) return v
    }
    return undefined
  }

  remember (key: string, v: string): void { this.#scopes[this.#scopes.length - 1]!.set(key, v) }

  // ---- values ----------------------------------------------------------------------------------------------------

  /** Emits the statements computing e and returns an atom (a temporary, a lambda variable or a constant). */
  value (e: TExpr): string {
    if (e.k === 'lit') return this.constant(e.value)
    if (e.k === 'var') return this.lambdaVar(e.id)
    const key = this.key(e)
    if (key !== null) {
      const hit = this.lookup(key)
      if (hit !== undefined) return hit
    }
    const v = this.node(e)
    if (key !== null) this.remember(key, v)
    return v
  }

  node (e: TExpr): string {
    switch (e.k) {
      case 'col': return this.column(e.name)
      case 'call': return this.call(e)
      case 'and': case 'or': return this.logic(e)
      case 'not': {
        const a = this.value(e.arg)
        const t = this.temp()
        this.line(e.arg.nullable ? `${t} = ${a} === null ? null : !${a};` : `${t} = !${a};`)
        return t
      }
      case 'isnull': {
        const a = this.value(e.arg)
        const t = this.temp()
        this.line(`${t} = ${a} ${e.negated ? '!==' : '==='} null;`)
        return t
      }
      case 'if': return this.ifElse(e)
      case 'case': return this.caseWhen(e)
      case 'coalesce': return this.coalesce(e)
      case 'in': return this.inList(e)
      case 'hof': return this.hof(e)
      case 'aggregate': return this.aggregate(e)
      case 'struct': return this.struct(e)
      case 'explode':
        throw new TilekilnError('TK_INTERNAL', 'EXPLODE reached the value generator; compile.ts handles it')
      default:
        throw new TilekilnError('TK_INTERNAL', `unexpected node ${e.k}`)
    }
  }

  /**
   * A top-level field of the record, own properties only; absent is NULL. Calling Object.hasOwn on every read
   * would double the cost of a pass-through, so the check is made per record prototype instead: `fast` is true
   * when the record's prototype (Object.prototype for JSON, a generated class for avsc records) has none of the
   * fields this query reads, and then a defined value can only be an own property. Records with another prototype
   * take Object.hasOwn on every read, and so does a field named like an Object.prototype member (constructor,
   * toString, __proto__…), always, so that a record claiming a fake prototype cannot expose one.
   */
  column (name: string): string {
    const t = this.temp()
    const k = this.constant(name)
    const own = this.runtime('hasOwn')
    if (name in Object.prototype) {
      this.line(`${t} = ${own}(r, ${k}) ? (r[${k}] ?? null) : null;`)
    } else {
      this.#fields.add(name)
      this.line(`${t} = r[${k}]; if (${t} === undefined || (!fast && !${own}(r, ${k}))) ${t} = null;`)
    }
    return t
  }

  readonly #fields = new Set<string>()

  call (e: Extract<TExpr, { k: 'call' }>): string {
    const args = e.args.map(a => this.value(a))
    const t = this.temp()
    const res = e.res
    const expr = res.inline !== undefined ? res.inline(args, this.#inline) : `${this.constant(res.impl)}(${args.join(', ')})`
    const nullChecks = res.nullSafe === true ? [] : e.args.flatMap((a, i) => (a.nullable ? [`${args[i]} === null`] : []))
    if (nullChecks.length === 0) {
      this.line(`${t} = ${expr};`)
    } else {
      this.line(`${t} = ${nullChecks.join(' || ')} ? null : ${expr};`)
    }
    // an impl may return undefined for "nothing"; the value model has only null
    if (res.inline === undefined && res.nullable) this.line(`if (${t} === undefined) ${t} = null;`)
    return t
  }

  /** Three-valued AND / OR, evaluating the right side only when the left does not decide. */
  logic (e: Extract<TExpr, { k: 'and' | 'or' }>): string {
    const isAnd = e.k === 'and'
    const decisive = isAnd ? 'false' : 'true'
    const l = this.value(e.left)
    const t = this.temp()
    const right = this.capture(() => this.value(e.right))
    const r = right.value
    this.line(`if (${l} === ${decisive}) { ${t} = ${decisive}; } else {`)
    this.#lines.push(...right.lines)
    if (!e.left.nullable && !e.right.nullable) {
      this.line(`${t} = ${r}; }`)
    } else {
      this.line(`${t} = ${r} === ${decisive} ? ${decisive} : (${l} === null || ${r} === null) ? null : ${isAnd ? 'true' : 'false'}; }`)
    }
    return t
  }

  /**
   * A JS boolean expression that is true exactly when e IS `want` (not NULL), with the statements it needs
   * emitted first. Used for wheres, IF / CASE conditions and FILTER, so that `a = 'x' AND b > 1` becomes plain
   * JS conditions instead of three-valued temporaries.
   */
  test (e: TExpr, want: boolean): string {
    switch (e.k) {
      case 'lit': return e.value === want ? 'true' : 'false'
      case 'and': case 'or': {
        // (a AND b) IS TRUE = a IS TRUE && b IS TRUE; (a AND b) IS FALSE = a IS FALSE || b IS FALSE; OR mirrors
        const conj = (e.k === 'and') === want
        const l = this.test(e.left, want)
        const right = this.capture(() => this.test(e.right, want))
        if (right.lines.length === 0) return `(${l} ${conj ? '&&' : '||'} ${right.value})`
        const t = this.temp()
        this.line(`${t} = ${l};`)
        this.line(conj ? `if (${t}) {` : `if (!${t}) {`)
        this.#lines.push(...right.lines)
        this.line(`${t} = ${right.value}; }`)
        return t
      }
      case 'not': return this.test(e.arg, !want)
      case 'isnull': {
        const a = this.value(e.arg)
        return want !== e.negated ? `(${a} === null)` : `(${a} !== null)`
      }
      case 'in':
        if (e.set !== null && !this.hasCached(e)) {
          const a = this.value(e.arg)
          const s = this.constant(e.set)
          if (want) return `(${a} !== null && ${s}.has(${a}))`
          return e.listHasNull ? 'false' : `(${a} !== null && !${s}.has(${a}))`
        }
        break
      case 'call':
        if (!e.res.nullable && e.res.nullSafe !== true && e.type.kind === 'boolean' && !this.hasCached(e)) {
          const args = e.args.map(a => this.value(a))
          const inner = e.res.inline !== undefined ? e.res.inline(args, this.#inline) : `${this.constant(e.res.impl)}(${args.join(', ')})`
          const checks = e.args.flatMap((a, i) => (a.nullable ? [`${args[i]} !== null`] : []))
          const core = want ? inner : `!${inner}`
          return checks.length === 0 ? `(${core})` : `(${checks.join(' && ')} && ${core})`
        }
        break
    }
    const v = this.value(e)
    return `(${v} === ${want ? 'true' : 'false'})`
  }

  hasCached (e: TExpr): boolean {
    const key = this.key(e)
    return key !== null && this.lookup(key) !== undefined
  }

  ifElse (e: Extract<TExpr, { k: 'if' }>): string {
    const cond = this.test(e.cond, true)
    const t = this.temp()
    const a = this.capture(() => this.value(e.then))
    const b = this.capture(() => this.value(e.otherwise))
    if (a.lines.length === 0 && b.lines.length === 0) {
      this.line(`${t} = ${cond} ? ${a.value} : ${b.value};`)
      return t
    }
    this.line(`if (${cond}) {`)
    this.#lines.push(...a.lines)
    this.line(`${t} = ${a.value}; } else {`)
    this.#lines.push(...b.lines)
    this.line(`${t} = ${b.value}; }`)
    return t
  }

  /** CASE as a labelled block of sequential tests, so that a thousand branches do not nest a thousand deep. */
  caseWhen (e: Extract<TExpr, { k: 'case' }>): string {
    const t = this.temp()
    const label = `c${this.#labels++}`
    this.line(`${label}: {`)
    const body = this.capture(() => {
      for (const b of e.branches) {
        const cond = this.test(b.when, true)
        const then = this.capture(() => this.value(b.then))
        this.line(`if (${cond}) {`)
        this.#lines.push(...then.lines)
        this.line(`${t} = ${then.value}; break ${label}; }`)
      }
      const other = this.value(e.otherwise)
      this.line(`${t} = ${other};`)
    })
    this.#lines.push(...body.lines)
    this.line('}')
    return t
  }

  coalesce (e: Extract<TExpr, { k: 'coalesce' }>): string {
    const t = this.temp()
    const label = `c${this.#labels++}`
    this.line(`${label}: {`)
    const body = this.capture(() => {
      for (let i = 0; i < e.args.length; i++) {
        const a = this.value(e.args[i]!)
        if (i === e.args.length - 1 || !e.args[i]!.nullable) {
          this.line(`${t} = ${a}; break ${label};`)
          return
        }
        this.line(`if (${a} !== null) { ${t} = ${a}; break ${label}; }`)
      }
    })
    this.#lines.push(...body.lines)
    this.line('}')
    return t
  }

  inList (e: Extract<TExpr, { k: 'in' }>): string {
    const a = this.value(e.arg)
    const t = this.temp()
    if (e.set !== null) {
      const s = this.constant(e.set)
      const miss = e.listHasNull ? 'null' : 'false'
      this.line(`${t} = ${a} === null ? null : ${s}.has(${a}) ? true : ${miss};`)
      return t
    }
    const label = `c${this.#labels++}`
    const eq = this.constant(e.eq)
    const sawNull = this.temp()
    this.line(`${label}: { if (${a} === null) { ${t} = null; break ${label}; } ${sawNull} = false;`)
    const body = this.capture(() => {
      for (const item of e.list) {
        const v = this.value(item)
        this.line(`if (${v} === null) ${sawNull} = true; else if (${eq}(${a}, ${v})) { ${t} = true; break ${label}; }`)
      }
    })
    this.#lines.push(...body.lines)
    this.line(`${t} = ${sawNull} ? null : false; }`)
    return t
  }

  /** Binds the lambda's parameters for one element and evaluates its body, in the loop's own scope. */
  lambdaBody (lambda: Lambda, params: readonly string[]): { lines: string[], value: string } {
    return this.capture(() => {
      lambda.ids.forEach((id, i) => this.line(`const ${this.lambdaVar(id)} = ${params[i]};`))
      return this.value(lambda.body)
    })
  }

  hof (e: Extract<TExpr, { k: 'hof' }>): string {
    const arr = this.value(e.arr)
    const t = this.temp()
    const i = this.temp()
    const el = this.temp()
    const open = `if (${arr} === null) { ${t} = null; } else {`
    const loopHead = `for (${i} = 0; ${i} < ${arr}.length; ${i}++) { ${el} = ${arr}[${i}]; if (${el} === undefined) ${el} = null;`
    switch (e.fn) {
      case 'transform': {
        const body = this.lambdaBody(e.lambda, [el, i])
        this.line(`${open} ${t} = new Array(${arr}.length);`)
        this.line(loopHead)
        this.#lines.push(...body.lines)
        this.line(`${t}[${i}] = ${body.value}; } }`)
        return t
      }
      case 'filter': {
        const body = this.capture(() => {
          e.lambda.ids.forEach((id, k) => this.line(`const ${this.lambdaVar(id)} = ${[el, i][k]};`))
          return this.test(e.lambda.body, true)
        })
        this.line(`${open} ${t} = [];`)
        this.line(loopHead)
        this.#lines.push(...body.lines)
        this.line(`if (${body.value}) ${t}.push(${el}); } }`)
        return t
      }
      default: {
        // EXISTS: TRUE if any is TRUE, else NULL if any is NULL, else FALSE; FORALL mirrors it
        const hit = e.fn === 'exists' ? 'true' : 'false'
        const miss = e.fn === 'exists' ? 'false' : 'true'
        const sawNull = this.temp()
        const body = this.lambdaBody(e.lambda, [el])
        this.line(`${open} ${t} = ${miss}; ${sawNull} = false;`)
        this.line(loopHead)
        this.#lines.push(...body.lines)
        this.line(`if (${body.value} === ${hit}) { ${t} = ${hit}; break; } if (${body.value} === null) ${sawNull} = true; }`)
        this.line(`if (${t} === ${miss} && ${sawNull}) ${t} = null; }`)
        return t
      }
    }
  }

  aggregate (e: Extract<TExpr, { k: 'aggregate' }>): string {
    const arr = this.value(e.arr)
    const zero = this.value(e.zero)
    const t = this.temp()
    const acc = this.temp()
    const i = this.temp()
    const el = this.temp()
    const merge = this.lambdaBody(e.merge, [acc, el])
    this.line(`if (${arr} === null) { ${t} = null; } else { ${acc} = ${zero};`)
    this.line(`for (${i} = 0; ${i} < ${arr}.length; ${i}++) { ${el} = ${arr}[${i}]; if (${el} === undefined) ${el} = null;`)
    this.#lines.push(...merge.lines)
    this.line(`${acc} = ${merge.value}; }`)
    if (e.finish === null) {
      this.line(`${t} = ${acc}; }`)
    } else {
      const fin = this.lambdaBody(e.finish, [acc])
      this.#lines.push(...fin.lines)
      this.line(`${t} = ${fin.value}; }`)
    }
    return t
  }

  struct (e: Extract<TExpr, { k: 'struct' }>): string {
    const args = e.args.map(a => this.value(a))
    const t = this.temp()
    this.line(`${t} = ${this.constant(structMaker(e.names))}(${args.join(', ')});`)
    return t
  }

  // ---- assembly --------------------------------------------------------------------------------------------------

  get lines (): string[] { return this.#lines }

  /** Assembles and compiles the run function around `body`. */
  finish (body: readonly string[], wrapError: (e: unknown, path: string | undefined) => unknown): GeneratedQuery {
    const decl = this.#temps === 0 ? '' : `let ${Array.from({ length: this.#temps }, (_, i) => `t${i} = null`).join(', ')};`
    const verify = this.constant(prototypeVerifier([...this.#fields]))
    const getProto = this.runtime('protoOf')
    const head = [
      ...this.#consts.map((_, i) => `const k${i} = K[${i}];`),
      ...[...this.#rt].map(n => `const ${n} = R.${n};`),
      'let lastProto = null, lastFast = false;',
      'return function run (r, out, emit) {',
      decl,
      'let p = 0;',
      `const proto = ${getProto}(r);`,
      `if (proto !== lastProto) { lastFast = ${verify}(proto); lastProto = proto; }`,
      'const fast = lastFast;',
      'try {'
    ]
    const generated = [...head, ...body, '} catch (e) { throw E(e, p); }', '};'].join('\n')
    assertSafeSource(generated)
    const source = `'use strict';\n${generated}`
    const paths = this.#paths
    const E = (e: unknown, p: number): unknown => (p < 0 ? e : wrapError(e, paths[p]))
    // eslint-disable-next-line no-new-func
    const factory = new Function('K', 'R', 'E', source) as (k: unknown[], r: typeof R, e: typeof E) => GeneratedQuery['run']
    return { source, run: factory(this.#consts, R, E) }
  }
}

/** fast-path test for a record prototype: none of `fields` is reachable through it (see CodeGen.column). */
function prototypeVerifier (fields: readonly string[]): (proto: unknown) => boolean {
  return proto => proto === null || proto === undefined || (typeof proto === 'object' && fields.every(f => !(f in proto)))
}

/** Builds STRUCT values: an object with own, enumerable fields (set safely even for '__proto__'). */
function structMaker (names: readonly string[]): (...values: unknown[]) => Record<string, unknown> {
  const safe = names.every(n => n !== '__proto__')
  return (...values) => {
    const o: Record<string, unknown> = {}
    for (let i = 0; i < names.length; i++) {
      if (safe) o[names[i]!] = values[i]
      else R.setOwn(o, names[i]!, values[i])
    }
    return o
  }
}

/**
 * The generated source is made of fixed fragments and generated names only; user text travels in K. A quote,
 * backquote or backslash in the source would mean a template leaked a value into it: refuse to compile.
 */
export function assertSafeSource (source: string): void {
  const bad = /["'`\\]/.exec(source)
  if (bad !== null) {
    throw new TilekilnError('TK_INTERNAL', `generated code contains ${JSON.stringify(bad[0])} at ${bad.index}: a template leaked a value into the source`)
  }
}
