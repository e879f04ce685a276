// A worker's side of the untiled pipeline (§4.1 "Untiled": source → eval → one PutRequest per event): no windows, no
// aggregation state. Every row the worker validated (key, event time, lateness — the same rules as the tiled path)
// becomes one put in the batch the task returns:
//
//   key      the Avro entity key                                  (written straight from the row, no copy)
//   ts       the row's event time
//   identity (source partition, position, row index in its record) — codec/event-key.ts: the store keeps one
//            entry per identity, so a replay after a crash rewrites entries instead of adding them
//   value    the row's aggregation inputs as `{cleanName}_INPUT_COLS` (codec/input-cols.ts)
//
// Lateness keeps the tiled definition (the event's tile is closed by the watermark), so both modes dead-letter the
// same events for the same stream. The rows are stored to be aggregated at read time, so each aggregator's checks
// of the input value alone (null map keys, nulls inside lists and tensors — anything an IR or Avro could not hold)
// run here with an empty IR: a row a fetch could not aggregate is dead-lettered now rather than failing reads later.

import type { BoundGroupBy } from '../config/bind.ts'
import type { InputColsCodec } from '../codec/input-cols.ts'
import type { KeyCodec } from '../codec/key.ts'
import { describeError, isTilekilnError, TilekilnError } from '../errors.ts'
import { EventPutsWriter } from '../sink/event-puts.ts'

export interface UntiledStateOptions {
  readonly allowedLatenessMillis: number
  /** Longest entity key the store takes (default 65,535). */
  readonly maxKeyBytes?: number
}

type RowCheck = (ir: unknown, row: readonly unknown[]) => void

export class UntiledState {
  readonly puts = new EventPutsWriter()
  readonly #tileSize: number
  readonly #lateness: number
  readonly #maxKeyBytes: number
  readonly #keyCodec: KeyCodec
  readonly #inputCols: InputColsCodec
  readonly #checks: readonly RowCheck[]

  constructor (bound: BoundGroupBy, options: UntiledStateOptions) {
    this.#tileSize = bound.plan.tileSizeMillis
    this.#lateness = options.allowedLatenessMillis
    this.#maxKeyBytes = Math.min(0xffff, options.maxKeyBytes ?? 0xffff)
    this.#keyCodec = bound.keyCodec
    this.#inputCols = bound.inputCols
    // The key encoder reads the row positionally: the key columns must be its first columns, in keyColumns order.
    bound.keyIndices.forEach((idx, i) => {
      if (idx !== i) throw new TilekilnError('TK_INTERNAL', `key column ${i} is row column ${idx}; the untiled writer expects keys first`, { groupBy: bound.plan.name })
    })
    const checks: RowCheck[] = []
    for (const agg of bound.aggregators) if (agg.check !== undefined) checks.push(agg.check)
    this.#checks = checks
  }

  /** The tiled rule, so both modes judge an event alike: its tile's end − 1 + allowed lateness ≤ watermark. */
  isLate (tileStart: number, watermark: number): boolean {
    return tileStart + this.#tileSize - 1 + this.#lateness <= watermark
  }

  /**
   * Appends one validated row (ts a finite integer; a null key value is a key too). Throws a TilekilnError (TK_INPUT)
   * when the row cannot be stored; then nothing was added to the batch.
   */
  append (row: readonly unknown[], ts: number, partition: number, position: number, rowIndex: number): void {
    const checks = this.#checks
    for (let i = 0; i < checks.length; i++) checks[i]!(null, row)
    const w = this.puts.beginPut()
    try {
      const keyStart = w.pos
      this.#keyCodec.write(w, row)
      if (w.pos - keyStart > this.#maxKeyBytes) throw new TilekilnError('TK_INPUT', `the entity key is ${w.pos - keyStart} bytes; at most ${this.#maxKeyBytes.toLocaleString('en-US')} can be stored`)
      this.puts.keyEnd(ts, partition, position, rowIndex)
      this.#inputCols.write(w, row)
    } catch (e) {
      this.puts.abort()
      if (isTilekilnError(e)) throw e
      throw new TilekilnError('TK_INPUT', `the row cannot be encoded as ${this.#inputCols.chrononType.name}: ${describeError(e)}`, { ts, partition, position })
    }
    this.puts.endValue()
  }
}
