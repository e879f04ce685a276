// Which expression evaluator to use. 'spark' is the full Spark SQL subset (src/expr/compile.ts) once present;
// 'column-refs' accepts plain column references only.

import { compileColumnRefs } from './column-refs.ts'
import type { QueryCompiler } from './query.ts'

export function queryCompiler (kind: 'spark' | 'column-refs'): QueryCompiler {
  void kind
  return compileColumnRefs
}
