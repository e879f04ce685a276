// compileQuery: a GroupBy source's selects, wheres and timeColumn → one generated function (see query.ts for the
// contract, codegen.ts for the shape of the code). Everything that can be wrong with the text is found here, at
// start-up: parse errors, unknown columns and functions, type errors, and non-deterministic functions.
//
// Decisions (see also README.md in this directory):
//   * Non-deterministic functions (rand, uuid, current_timestamp, unix_timestamp() without argument…) are refused
//     everywhere. tilekiln replays events after a crash and promises byte-identical tiles; a value that changes on
//     replay would break that, and in a where or the time column it would move events between tiles.
//   * The time column must be integral (epoch milliseconds, as Chronon expects), or a TIMESTAMP / DATE, which is
//     converted to epoch milliseconds; a fractional number is truncated. Anything else is refused.
//   * Every select is parsed and type-checked, needed or not, so a broken GroupBy fails at start-up; only the
//     needed ones are evaluated, plus an EXPLODE select in any case, because it decides how many rows there are.

import { type StructType, T, isIntegral, typeToString } from '../api/data-type.ts'
import { TilekilnError, isTilekilnError } from '../errors.ts'
import { CodeGen } from './codegen.ts'
import { ExprError, pointAt } from './errors.ts'
import { parseExpression } from './parser.ts'
import { MICROS_PER_MILLI, floorDiv } from './runtime/datetime.ts'
import { doubleToLong } from './runtime/numbers.ts'
import type { TExpr } from './typed.ts'
import { TypeChecker } from './typecheck.ts'
import type { CompiledQuery, OutputColumn, QueryCompiler, QuerySpec } from './query.ts'

interface Checked { readonly alias: string, readonly expr: TExpr, readonly text: string, readonly path: string }

export interface CompiledQueryWithSource extends CompiledQuery {
  /** The generated JS, for debugging and for the safety tests. */
  readonly source: string
}

export const compileQuery: QueryCompiler = (spec, input, needed) => compileQueryWithSource(spec, input, needed)

export function compileQueryWithSource (spec: QuerySpec, input: StructType, needed: readonly string[]): CompiledQueryWithSource {
  const checker = new TypeChecker(input)
  const check = (text: string, path: string, allowGenerator: boolean): TExpr => {
    if (typeof text !== 'string') {
      throw new TilekilnError('TK_EXPR_PARSE', `expected an expression (a string), got ${JSON.stringify(text)}`, { groupBy: spec.groupBy, path })
    }
    try {
      checker.nondeterministic = null
      const node = parseExpression(text)
      const expr = checker.check(node, { allowGenerator })
      const nd = checker.nondeterministic as { name: string, pos: number } | null
      if (nd !== null) {
        throw new ExprError('type', `${nd.name.toUpperCase()} is not deterministic, and tilekiln refuses it: events are replayed after a crash and must produce the same tiles`, nd.pos)
      }
      return expr
    } catch (e) {
      throw toTilekilnError(e, spec, path, text)
    }
  }

  // selects: every one is checked; at most one EXPLODE (Spark allows one generator per select list)
  const selects = new Map<string, Checked>()
  let exploded: Checked | null = null
  if (spec.selects !== null) {
    for (const [alias, text] of Object.entries(spec.selects)) {
      const path = `${spec.path}.selects.${alias}`
      const expr = check(text, path, true)
      const c = { alias, expr, text, path }
      if (expr.k === 'explode') {
        if (exploded !== null) {
          throw new TilekilnError('TK_EXPR_TYPE', `only one EXPLODE is allowed per GroupBy source (found in '${exploded.alias}' and '${alias}')`, { groupBy: spec.groupBy, path })
        }
        exploded = c
      }
      selects.set(alias, c)
    }
  }

  const wheres = spec.wheres.map((text, i) => {
    const path = `${spec.path}.wheres[${i}]`
    const expr = check(text, path, false)
    if (expr.type.kind !== 'boolean' && expr.type.kind !== 'null') {
      throw new TilekilnError('TK_EXPR_TYPE', `a where must be a BOOLEAN condition, but '${text}' is ${typeToString(expr.type)}`, { groupBy: spec.groupBy, path })
    }
    return { alias: `where ${i}`, expr, text, path }
  })

  const timePath = `${spec.path}.timeColumn`
  const timeExpr = check(spec.timeColumn, timePath, false)
  const time: Checked = { alias: 'ts', expr: timeAsMillis(timeExpr, spec, timePath), text: spec.timeColumn, path: timePath }

  const resolveNeeded = (name: string): Checked => {
    if (name === 'ts') return time
    if (spec.selects === null) {
      const path = `${spec.path}.selects`
      const field = input.fields.find(f => f.name === name) ?? input.fields.find(f => f.name.toLowerCase() === name.toLowerCase())
      if (field === undefined) {
        throw new TilekilnError('TK_CONFIG', `column '${name}' is used by the GroupBy but is not in the input schema (fields: ${input.fields.map(f => f.name).join(', ')})`, { groupBy: spec.groupBy, path })
      }
      return { alias: name, expr: { k: 'col', type: field.type, nullable: true, pos: 0, name: field.name }, text: name, path }
    }
    const c = selects.get(name)
    if (c === undefined) {
      throw new TilekilnError('TK_CONFIG', `column '${name}' is used by the GroupBy but not selected (selects: ${[...selects.keys()].join(', ')})`, { groupBy: spec.groupBy, path: `${spec.path}.selects` })
    }
    return c
  }
  const outputs = needed.map(resolveNeeded)
  outputs.push(time)

  const columns: OutputColumn[] = outputs.map((c, i) => ({ name: i === needed.length ? 'ts' : needed[i]!, type: c.expr.type }))
  const sourceFields = outputs.slice(0, needed.length).map(c => (c.expr.k === 'col' ? c.expr.name : null))

  const { source, run } = generate(wheres, outputs, exploded, spec)
  const timeField = timeExpr.k === 'col' ? timeExpr.name : null
  return { columns, multiRow: exploded !== null, sourceFields, timeField, run, source }
}

/** The time column as epoch milliseconds (a BIGINT). */
function timeAsMillis (e: TExpr, spec: QuerySpec, path: string): TExpr {
  const t = e.type
  const call = (name: string, impl: (v: any) => unknown): TExpr =>
    ({ k: 'call', name, type: T.long, nullable: e.nullable, pos: e.pos, args: [e], res: { impl, nullable: false } })
  if (t.kind === 'long' || t.kind === 'null') return t.kind === 'null' ? { ...e, type: T.long } as TExpr : e
  if (isIntegral(t)) return call('ts', (v: number) => v)
  if (t.kind === 'timestamp') return call('ts', (us: number) => floorDiv(us, MICROS_PER_MILLI))
  if (t.kind === 'date') return call('ts', (d: number) => d * 86_400_000)
  if (t.kind === 'double' || t.kind === 'float') return call('ts', doubleToLong)
  throw new TilekilnError('TK_EXPR_TYPE',
    `the time column must be epoch milliseconds (an integral number) or a TIMESTAMP, but '${spec.timeColumn}' is ${typeToString(t)}; ` +
    'for a string, use unix_millis(TIMESTAMP(…)) or UNIX_TIMESTAMP(…, format) * 1000', { groupBy: spec.groupBy, path })
}

function generate (wheres: readonly Checked[], outputs: readonly Checked[], exploded: Checked | null, spec: QuerySpec): { source: string, run: CompiledQuery['run'] } {
  const g = new CodeGen()
  const body = g.capture(() => {
    for (const w of wheres) {
      g.line(g.at(w.path))
      const cond = g.test(w.expr, true)
      g.line(`if (!${cond}) return;`)
    }
    let explodedIndex = -1
    outputs.forEach((c, i) => {
      if (c === exploded) { explodedIndex = i; return }
      g.line(g.at(c.path))
      const v = g.value(c.expr)
      g.line(`out[${i}] = ${v};`)
    })
    if (exploded === null) {
      g.line('p = -1; emit();')
      return
    }
    g.line(g.at(exploded.path))
    emitExplode(g, exploded.expr as Extract<TExpr, { k: 'explode' }>, explodedIndex)
  })
  const wrap = (e: unknown, path: string | undefined): unknown => evalFailure(e, spec, path)
  return g.finish(body.lines, wrap)
}

/**
 * EXPLODE: one row per element (none for NULL or an empty array; EXPLODE_OUTER gives one NULL row then). When
 * the array is TRANSFORM(arr, x -> f(x)), the loop runs over arr and computes f per element, without building the
 * intermediate array.
 */
function emitExplode (g: CodeGen, e: Extract<TExpr, { k: 'explode' }>, index: number): void {
  const store = (v: string): string => (index >= 0 ? `out[${index}] = ${v}; ` : '')
  const fused = e.arg.k === 'hof' && e.arg.fn === 'transform' ? e.arg : null
  const source = fused !== null ? fused.arr : e.arg
  const i = g.temp()
  const el = g.temp()
  const q = g.temp()
  const row = (value: string): string => `${store(value)}p = -1; emit(); p = ${q};`
  const body = fused === null ? null : g.lambdaBody(fused.lambda, [el, i])
  const perElement = (): void => {
    if (body === null) { g.line(row(el)); return }
    for (const l of body.lines) g.line(l)
    g.line(row(body.value))
  }
  const split = source.k === 'call' && source.res.literalSplit !== undefined ? source : null
  if (split !== null) {
    // SPLIT(str, ',') walked in place: each piece is sliced and used, no array of pieces is built
    const str = g.value(split.args[0]!)
    const sep = g.constant(split.res.literalSplit)
    const start = g.temp()
    const at = g.temp()
    g.line(`${q} = p;`)
    g.line(`if (${str} === null) { ${e.outer ? `${store('null')}p = -1; emit(); ` : ''}return; }`)
    g.line(`${start} = 0; ${i} = 0;`)
    g.line(`for (;;) { ${at} = ${str}.indexOf(${sep}, ${start}); ${el} = ${at} < 0 ? ${str}.slice(${start}) : ${str}.slice(${start}, ${at});`)
    perElement()
    g.line(`if (${at} < 0) break; ${start} = ${at} + ${sep}.length; ${i}++; }`)
    return
  }
  const arr = g.value(source)
  g.line(`${q} = p;`)
  if (e.outer) g.line(`if (${arr} === null || ${arr}.length === 0) { ${store('null')}p = -1; emit(); return; }`)
  else g.line(`if (${arr} === null) return;`)
  g.line(`for (${i} = 0; ${i} < ${arr}.length; ${i}++) { ${el} = ${arr}[${i}]; if (${el} === undefined) ${el} = null;`)
  perElement()
  g.line('}')
}

/** A runtime failure of one event → TK_EXPR_EVAL naming the select (the engine dead-letters the event). */
function evalFailure (e: unknown, spec: QuerySpec, path: string | undefined): TilekilnError {
  if (isTilekilnError(e) && e.code === 'TK_EXPR_EVAL') {
    return new TilekilnError('TK_EXPR_EVAL', e.message, { ...e.context, groupBy: spec.groupBy, path }, { cause: e })
  }
  if (isTilekilnError(e)) return e
  const message = e instanceof Error ? e.message : String(e)
  return new TilekilnError('TK_EXPR_EVAL', `evaluation failed (is the record of the declared schema?): ${message}`, { groupBy: spec.groupBy, path }, { cause: e })
}

function toTilekilnError (e: unknown, spec: QuerySpec, path: string, text: string): unknown {
  if (e instanceof ExprError) {
    const code = e.kind === 'parse' ? 'TK_EXPR_PARSE' : 'TK_EXPR_TYPE'
    return new TilekilnError(code, `${e.message} at position ${e.pos}\n${pointAt(text, e.pos)}`, {
      groupBy: spec.groupBy, path, position: e.pos, expected: e.expected
    })
  }
  if (e instanceof RangeError) {
    // a recursion limit we did not foresee: still a clean refusal, never a crash of the process
    return new TilekilnError('TK_EXPR_PARSE', `expression is too deeply nested to compile (${e.message})`, { groupBy: spec.groupBy, path })
  }
  return e
}
