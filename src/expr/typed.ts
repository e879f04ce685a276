// The typed tree: what the type checker produces and the code generator (and the baseline interpreter) consume.
// Every node knows its Spark type and whether it can be NULL; implicit casts are explicit `call` nodes by now.

import type { DataType } from '../api/data-type.ts'
import type { Node } from './ast.ts'

/**
 * How a function call evaluates. `impl` is the semantics (used by the interpreter, and by generated code when
 * there is no `inline`); `inline` is an equivalent JS expression over atomic argument expressions, for hot
 * operators. Templates only ever see names the generator made up, never user text.
 */
export interface Resolution {
  readonly impl: (...args: any[]) => unknown
  readonly inline?: (args: readonly string[], ctx: InlineCtx) => string
  /** impl receives NULL arguments; otherwise a NULL argument makes the call NULL without calling impl. */
  readonly nullSafe?: boolean
  /** impl can return NULL for non-NULL arguments (a failed parse, a division by zero). */
  readonly nullable: boolean
  /** Set on split(str, sep) with a constant separator free of regex syntax: EXPLODE can walk the pieces in place. */
  readonly literalSplit?: string
}

export interface InlineCtx {
  /** The JS name of a runtime helper (hoisted into the generated function's closure). */
  rt (name: string): string
  /** The JS name of a bound constant value. */
  k (value: unknown): string
}

export interface Lambda { readonly ids: readonly number[], readonly body: TExpr }

interface TBase { readonly type: DataType, readonly nullable: boolean, readonly pos: number }

export type TExpr =
  | TBase & { readonly k: 'lit', readonly value: unknown }
  | TBase & { readonly k: 'col', readonly name: string }
  | TBase & { readonly k: 'var', readonly id: number }
  | TBase & { readonly k: 'call', readonly name: string, readonly args: readonly TExpr[], readonly res: Resolution }
  | TBase & { readonly k: 'and' | 'or', readonly left: TExpr, readonly right: TExpr }
  | TBase & { readonly k: 'not', readonly arg: TExpr }
  | TBase & { readonly k: 'isnull', readonly arg: TExpr, readonly negated: boolean }
  | TBase & { readonly k: 'if', readonly cond: TExpr, readonly then: TExpr, readonly otherwise: TExpr }
  | TBase & { readonly k: 'case', readonly branches: readonly { when: TExpr, then: TExpr }[], readonly otherwise: TExpr }
  | TBase & { readonly k: 'coalesce', readonly args: readonly TExpr[] }
  /** `set` holds the non-null constants of the list when every entry is a constant (a Set lookup at run time). */
  | TBase & { readonly k: 'in', readonly arg: TExpr, readonly list: readonly TExpr[], readonly set: ReadonlySet<unknown> | null, readonly listHasNull: boolean, readonly eq: (a: unknown, b: unknown) => boolean }
  | TBase & { readonly k: 'hof', readonly fn: 'transform' | 'filter' | 'exists' | 'forall', readonly arr: TExpr, readonly lambda: Lambda }
  | TBase & { readonly k: 'aggregate', readonly arr: TExpr, readonly zero: TExpr, readonly merge: Lambda, readonly finish: Lambda | null }
  | TBase & { readonly k: 'explode', readonly arg: TExpr, readonly outer: boolean }
  | TBase & { readonly k: 'struct', readonly names: readonly string[], readonly args: readonly TExpr[] }

export interface ResolveCtx {
  /** Throws a type error pointing at the call (or at argument i). */
  fail (message: string, argIndex?: number): never
  /** Casts argument i to `to` if Spark would do so implicitly, else fails with a message naming the function. */
  coerce (arg: TExpr, to: DataType, argIndex: number): TExpr
  /** Explicit CAST. */
  cast (arg: TExpr, to: DataType): TExpr
  /** Type-checks an argument node (for functions that take lambdas). */
  check (node: Node): TExpr
  /** Type-checks a lambda with the given parameter types. */
  lambda (node: Node, params: readonly DataType[], argIndex: number): Lambda
  /** The value of a constant argument (a literal after folding), or undefined when it is not constant. */
  constant (arg: TExpr): unknown
  /** Builds a call node. */
  call (name: string, type: DataType, args: readonly TExpr[], res: Resolution): TExpr
  /** Position of the call in the expression text. */
  readonly pos: number
  /** Year that two-digit years of `yy` date patterns are read around (fixed when the query is compiled). */
  readonly pivotYear: number
}

/** A function of the registry. Arguments arrive type-checked unless `rawArgs` is set (lambdas need their types). */
export interface FnSpec {
  readonly names: readonly string[]
  readonly minArgs: number
  readonly maxArgs: number
  /** rand(), uuid(), current_timestamp()…: refused (see compile.ts for why). */
  readonly nondeterministic?: boolean
  readonly rawArgs?: boolean
  resolve (args: readonly TExpr[], ctx: ResolveCtx, raw: readonly Node[]): TExpr
}
