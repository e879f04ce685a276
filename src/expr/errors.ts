// Errors raised while reading one expression. They know the position in the expression text but not which GroupBy
// or JSON path the text came from; compile.ts adds that when it turns them into TilekilnErrors.

import { TilekilnError } from '../errors.ts'

export type ExprErrorKind = 'parse' | 'type'

export class ExprError extends Error {
  constructor (
    readonly kind: ExprErrorKind,
    message: string,
    readonly pos: number,
    /** What the parser expected at pos (parse errors), for the message and the error context. */
    readonly expected?: string
  ) {
    super(message)
    this.name = 'ExprError'
  }
}

/** Throws a TK_EXPR_EVAL error from generated code or a runtime helper: the engine dead-letters the event. */
export function evalError (message: string): never {
  throw new TilekilnError('TK_EXPR_EVAL', message)
}

const SNIPPET = 60

/** `…text around pos…` with a caret under pos, so a position in a long expression is readable. */
export function pointAt (text: string, pos: number): string {
  const from = Math.max(0, pos - SNIPPET)
  const to = Math.min(text.length, pos + SNIPPET)
  const line = (from > 0 ? '…' : '') + text.slice(from, to).replace(/[\r\n\t]/g, ' ') + (to < text.length ? '…' : '')
  const caret = ' '.repeat(pos - from + (from > 0 ? 1 : 0)) + '^'
  return `${line}\n${caret}`
}
