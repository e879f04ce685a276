// Which expression evaluator to use: 'spark' is the Spark SQL subset compiled to JS (compile.ts, the default);
// 'column-refs' accepts plain column references only (a minimal reference kept for tests and comparisons).

import { compileColumnRefs } from './column-refs.ts'
import { compileQuery } from './compile.ts'
import type { QueryCompiler } from './query.ts'

export function queryCompiler (kind: 'spark' | 'column-refs'): QueryCompiler {
  return kind === 'column-refs' ? compileColumnRefs : compileQuery
}
