// The untyped syntax tree the parser produces. Every node carries its start position in the expression text, and
// its depth (1 for a leaf), which the parser bounds so that no later recursive pass can overflow the stack.

import type { DataType } from '../api/data-type.ts'

export type LiteralKind = 'null' | 'boolean' | 'int' | 'long' | 'short' | 'byte' | 'double' | 'float' | 'decimal' |
  'string' | 'binary' | 'date' | 'timestamp'

interface Base { readonly pos: number, readonly depth: number }

export type Node =
  | Base & { readonly k: 'lit', readonly kind: LiteralKind, readonly value: unknown }
  /** A name; `parts` has one entry per dotted segment (`a.b.c`); resolution decides column vs struct field. */
  | Base & { readonly k: 'ref', readonly parts: readonly string[] }
  /** `base.name` where base is not a plain name (e.g. `m['k'].x`, `f(x).y`). */
  | Base & { readonly k: 'field', readonly base: Node, readonly name: string }
  | Base & { readonly k: 'subscript', readonly base: Node, readonly index: Node }
  | Base & { readonly k: 'unary', readonly op: '-' | '+' | '~', readonly arg: Node }
  | Base & { readonly k: 'binary', readonly op: BinaryOp, readonly left: Node, readonly right: Node }
  | Base & { readonly k: 'not', readonly arg: Node }
  | Base & { readonly k: 'and' | 'or', readonly left: Node, readonly right: Node }
  | Base & { readonly k: 'isnull', readonly arg: Node, readonly negated: boolean }
  | Base & { readonly k: 'isbool', readonly arg: Node, readonly value: boolean, readonly negated: boolean }
  | Base & { readonly k: 'in', readonly arg: Node, readonly list: readonly Node[], readonly negated: boolean }
  | Base & { readonly k: 'between', readonly arg: Node, readonly lower: Node, readonly upper: Node, readonly negated: boolean }
  | Base & { readonly k: 'like', readonly op: 'like' | 'ilike' | 'rlike', readonly arg: Node, readonly pattern: Node, readonly escape: string | null, readonly negated: boolean }
  | Base & { readonly k: 'case', readonly subject: Node | null, readonly branches: readonly { when: Node, then: Node }[], readonly otherwise: Node | null }
  | Base & { readonly k: 'cast', readonly arg: Node, readonly to: DataType, readonly toText: string }
  | Base & { readonly k: 'call', readonly name: string, readonly args: readonly Node[], readonly nameEnd: number }
  | Base & { readonly k: 'struct', readonly args: readonly { value: Node, alias: string | null }[] }
  | Base & { readonly k: 'lambda', readonly params: readonly string[], readonly body: Node }

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | 'div' | '||' | '&' | '|' | '^' |
  '=' | '<=>' | '!=' | '<' | '<=' | '>' | '>='
