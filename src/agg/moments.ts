// SKEW and KURTOSIS (Chronon MomentAggregator): running central-moment sums, IR list<double> [n, m1, m2, m3, m4].
// Every expression keeps Chronon's operand order and association, so IRs are bit-identical to the JVM's (IEEE
// doubles, same operations in the same order). Finals: Math.sqrt is correctly rounded in both runtimes; SKEW's
// Math.pow(m2, 1.5) would be V8's pow here, which differs from the JVM's in the last bit on ~10% of inputs, so it goes
// through powThreeHalves (the JVM's value, see there).

import { T } from '../api/data-type.ts'
import type { SimpleAggregator } from './aggregator.ts'
import { powThreeHalves } from './pow-three-halves.ts'

export type Moments = [n: number, m1: number, m2: number, m3: number, m4: number]

export function momentsUpdate (ir: Moments, x: number): Moments {
  const [n0, m1, m2, m3, m4] = ir
  const n = n0 + 1
  const delta = x - m1
  const deltaN = delta / n
  const deltaN2 = deltaN * deltaN
  const term1 = delta * deltaN * n0
  ir[0] = n
  ir[1] = m1 + deltaN
  ir[4] = m4 + term1 * deltaN2 * (n * n - 3 * n + 3) + 6 * deltaN2 * m2 - 4 * deltaN * m3
  ir[3] = m3 + term1 * deltaN * (n - 2) - 3 * deltaN * m2
  ir[2] = m2 + term1
  return ir
}

/** Pairwise combination (Chan et al.); writes into `a`. */
export function momentsMerge (a: Moments, b: Moments): Moments {
  const [an, am1, am2, am3, am4] = a
  const [bn, bm1, bm2, bm3, bm4] = b
  const n = an + bn
  const delta = bm1 - am1
  const delta2 = delta * delta
  const delta3 = delta * delta2
  const delta4 = delta2 * delta2
  a[0] = n
  a[1] = (an * am1 + bn * bm1) / n
  a[2] = am2 + bm2 + delta2 * an * bn / n
  a[3] = am3 + bm3 + delta3 * an * bn * (an - bn) / (n * n) +
    3.0 * delta * (an * bm2 - bn * am2) / n
  a[4] = am4 + bm4 + delta4 * an * bn * (an * an - an * bn + bn * bn) / (n * n * n) +
    6.0 * delta2 * (an * an * bm2 + bn * bn * am2) / (n * n) + 4.0 * delta * (an * bm3 - bn * am3) / n
  return a
}

abstract class MomentAggregator implements SimpleAggregator<number, Moments, number> {
  readonly timed = false
  readonly deletable = false
  readonly irType = T.list(T.double)
  readonly outputType = T.double

  prepare (input: number): Moments { return momentsUpdate([0, 0, 0, 0, 0], input) }
  update (ir: Moments, input: number): Moments { return momentsUpdate(ir, input) }
  merge (a: Moments, b: Moments): Moments { return momentsMerge(a, b) }
  abstract finalize (ir: Moments): number
  clone (ir: Moments): Moments { return [ir[0], ir[1], ir[2], ir[3], ir[4]] }
  normalize (ir: Moments): unknown { return ir }

  denormalize (v: unknown): Moments {
    const a = v as number[]
    if (a.length !== 5) throw new RangeError(`a moments IR has 5 doubles [n, m1, m2, m3, m4], got ${a.length}`)
    return [a[0]!, a[1]!, a[2]!, a[3]!, a[4]!]
  }
}

export class Skew extends MomentAggregator {
  finalize (ir: Moments): number {
    const [n, , m2, m3] = ir
    return n < 3 || m2 === 0 ? NaN : Math.sqrt(n) * m3 / powThreeHalves(m2)
  }
}

export class Kurtosis extends MomentAggregator {
  finalize (ir: Moments): number {
    const [n, , m2, , m4] = ir
    return n < 4 || m2 === 0 ? NaN : n * m4 / (m2 * m2) - 3
  }
}
