// One error type with a closed list of codes. Every error says what it was doing it for (GroupBy, JSON path,
// key, offset…) in `context`, and the message is written for the user who has to fix the input or the config.

export type ErrorCode =
  | 'TK_CONFIG' // a GroupBy (or flag) we cannot run; context.path is the JSON path
  | 'TK_USAGE' // bad command-line usage
  | 'TK_EXPR_PARSE' // a select / where / timeColumn that does not parse
  | 'TK_EXPR_TYPE' // an expression that does not type-check against the input schema
  | 'TK_EXPR_EVAL' // a runtime failure evaluating an expression on one event (→ dead letter)
  | 'TK_DECODE' // an input record that cannot be decoded (→ dead letter)
  | 'TK_INPUT' // a decoded record that violates the contract: missing/bad timestamp, wrong type
  | 'TK_SOURCE' // a source that cannot be read
  | 'TK_STORE' // a KV store failure
  | 'TK_STORE_FULL' // the store has no space left (disk or LMDB map full): fatal, context.store says where
  | 'TK_WORKER' // a worker thread failure
  | 'TK_CHECKPOINT' // a checkpoint that cannot be written or restored
  | 'TK_DEAD_LETTER' // the dead-letter output cannot be written
  | 'TK_INTERNAL' // a broken invariant: a bug in tilekiln

export type ErrorContext = Record<string, string | number | boolean | bigint | null | undefined>

export class TilekilnError extends Error {
  readonly code: ErrorCode
  readonly context: ErrorContext

  constructor (code: ErrorCode, message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'TilekilnError'
    this.code = code
    this.context = context
  }

  /** `message (groupBy=x, path=y)`: the form printed by the CLI and written to dead-letter records. */
  describe (): string {
    const ctx = Object.entries(this.context)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${String(v)}`)
      .join(', ')
    return ctx.length > 0 ? `${this.message} (${ctx})` : this.message
  }
}

export function configError (message: string, path: string, groupBy?: string): TilekilnError {
  return new TilekilnError('TK_CONFIG', message, { groupBy, path })
}

export function isTilekilnError (e: unknown): e is TilekilnError {
  return e instanceof TilekilnError || (typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'TilekilnError')
}

/** Best short description of anything thrown. */
export function describeError (e: unknown): string {
  if (isTilekilnError(e) && typeof (e as TilekilnError).describe === 'function') return (e as TilekilnError).describe()
  if (e instanceof Error) return e.message
  return String(e)
}
