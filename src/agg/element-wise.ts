// Element-wise aggregation (airbnb Chronon ElementWiseAggregator, `elementWise = true` on a list<scalar> input of
// a simple operation): the list is a tensor and each position gets its own IR. IR list<IR>, output list<output>.
//
// The first non-null list fixes the dimension (an empty list fixes it at 0). A list of another length is refused
// ("Tensor dimensions must match"), so is a null element ("Null values are not allowed within tensors"). Chronon
// throws these from inside the update, after touching some positions, and fails the job; here check() finds them
// before anything is touched and throws TK_INPUT, which the engine turns into a dead letter for that one event.
// Finals are not NaN-sanitized (Chronon only sanitizes direct columns).

import { type DataType, T } from '../api/data-type.ts'
import { TilekilnError } from '../errors.ts'
import type { SimpleAggregator } from './aggregator.ts'
import type { ColumnAggregator, Convert } from './column.ts'

type Tensor = unknown[]

export class ElementWiseColumn implements ColumnAggregator {
  readonly irType: DataType
  readonly outputType: DataType
  readonly deletable: boolean
  readonly check: (ir: unknown, row: readonly unknown[]) => void
  readonly #agg: SimpleAggregator
  readonly #input: number
  readonly #convert: Convert

  constructor (agg: SimpleAggregator, inputIndex: number, convert: Convert) {
    this.#agg = agg
    this.#input = inputIndex
    this.#convert = convert
    this.irType = T.list(agg.irType)
    this.outputType = T.list(agg.outputType)
    this.deletable = agg.deletable
    this.check = (ir, row) => {
      const input = row[inputIndex]
      if (!Array.isArray(input)) return
      if (ir !== null && (ir as Tensor).length !== input.length) {
        throw new TilekilnError('TK_INPUT', `Tensor dimensions must match: existing=${(ir as Tensor).length}, input=${input.length}`)
      }
      for (let i = 0; i < input.length; i++) {
        if (input[i] === null || input[i] === undefined) throw new TilekilnError('TK_INPUT', 'Null values are not allowed within tensors', { position: i })
      }
    }
  }

  update (ir: unknown, row: readonly unknown[], ts: number): unknown {
    return this.#apply(ir, row, ts, false)
  }

  /** Chronon would throw for a non-deletable operation; deletes of those are ignored everywhere else, so here too. */
  delete (ir: unknown, row: readonly unknown[], ts: number): unknown {
    if (!this.deletable) return ir
    return this.#apply(ir, row, ts, true)
  }

  #apply (ir: unknown, row: readonly unknown[], ts: number, remove: boolean): unknown {
    const input = row[this.#input]
    if (!Array.isArray(input)) return ir
    this.check(ir, row)
    const agg = this.#agg
    const tensor = (ir as Tensor | null) ?? new Array<unknown>(input.length).fill(null)
    for (let i = 0; i < input.length; i++) {
      const x = this.#convert(input[i])
      const cur = tensor[i]
      if (remove) {
        const base = cur === null ? agg.delete!(agg.prepare(x, ts), x, ts) : cur
        tensor[i] = agg.delete!(base, x, ts)
      } else {
        tensor[i] = cur === null ? agg.prepare(x, ts) : agg.update(cur, x, ts)
      }
    }
    return tensor
  }

  merge (a: unknown, b: unknown): unknown {
    if (b === null) return a
    const right = b as Tensor
    if (a === null) return this.clone(right)
    const left = a as Tensor
    if (left.length !== right.length) {
      throw new TilekilnError('TK_INPUT', `Tensor dimensions must match for merge: left=${left.length}, right=${right.length}`)
    }
    for (let i = 0; i < left.length; i++) {
      const r = right[i]
      if (r === null) continue
      const l = left[i]
      left[i] = l === null ? this.#agg.clone(r) : this.#agg.merge(l, r)
    }
    return left
  }

  finalize (ir: unknown): unknown { return this.#map(ir, x => this.#agg.finalize(x)) }
  clone (ir: unknown): unknown { return this.#map(ir, x => this.#agg.clone(x)) }
  normalize (ir: unknown): unknown { return this.#map(ir, x => this.#agg.normalize(x)) }
  denormalize (v: unknown): unknown { return v === undefined ? null : this.#map(v, x => this.#agg.denormalize(x)) }

  dispose (ir: unknown): void {
    const d = this.#agg.dispose
    if (d === undefined || ir === null || ir === undefined) return
    for (const x of ir as Tensor) if (x !== null) d.call(this.#agg, x)
  }

  #map (ir: unknown, f: (x: unknown) => unknown): unknown {
    if (ir === null) return null
    const t = ir as Tensor
    const out = new Array<unknown>(t.length)
    for (let i = 0; i < t.length; i++) out[i] = t[i] === null ? null : f(t[i])
    return out
  }
}
