// The main thread's look at a raw record before it goes to a worker: which worker(s) own its key, and what its
// event time is (the partition's watermark advances with it — window/partition-clock.ts).
//
//   plain key columns and a plain time column   read just those fields (codec/field-extract.ts): the common case
//   anything computed, or EXPLODE               decode the record and evaluate (the query for the keys, the time
//                                               column alone for the time); the record goes to every worker
//                                               owning one of its rows, and those drop the rows they do not own
//
// The event time is the GroupBy's timeColumn evaluated on the record as it comes, before the wheres: the watermark
// follows the stream, including records a where drops. A record whose time cannot be read has none (NaN) and does
// not move the watermark; a record whose key cannot be read goes to worker 0, which dead-letters it with the reason.

import type { StructType } from '../api/data-type.ts'
import { fieldExtractor } from '../codec/field-extract.ts'
import { createDecoder, type InputFormat } from '../codec/record.ts'
import type { BoundGroupBy } from '../config/bind.ts'
import type { CompiledQuery, QueryCompiler } from '../expr/query.ts'
import { MAX_WORKERS, maskOfKey, partitionOfKey } from './ownership.ts'

export interface RecordProbe {
  /** Target workers of the record as a bit mask (bit i = worker i); sets `ts`. */
  probe (bytes: Uint8Array): number
  /**
   * The partitions of a topic of `n` partitions keyed by entity that the record belongs in (--repartition: one per
   * distinct key of its rows), into `out`; returns how many, 0 when its key cannot be read. Sets `ts`.
   */
  partitionsOf (bytes: Uint8Array, n: number, out: number[]): number
  /** The event time of a record whose key the caller knows already (the generator): NaN when it has none. */
  timeOf (bytes: Uint8Array): number
  /** Event time (epoch ms) of the last probed record; NaN when it has none. */
  readonly ts: number
}

/** The GroupBy's time column alone, evaluated on a whole decoded record or on a record holding just its field. */
function timeQuery (bound: BoundGroupBy, input: StructType, compile: QueryCompiler): CompiledQuery {
  const p = bound.plan
  return compile({ selects: null, wheres: [], timeColumn: p.source.timeColumn, groupBy: p.name, path: `${p.source.path}.events.query` }, input, [])
}

export function createRecordProbe (bound: BoundGroupBy, format: InputFormat, workers: number, compile: QueryCompiler): RecordProbe {
  if (workers > MAX_WORKERS) throw new Error(`at most ${MAX_WORKERS} workers`)
  const q = bound.query
  const time = timeQuery(bound, format.schema, compile)
  const keyFields = bound.keyIndices.map(i => q.sourceFields[i] ?? null)
  const plainKeys = !q.multiRow && keyFields.every(f => f !== null)
  const timeField = time.timeField
  const nKeys = keyFields.length
  const tsOut: unknown[] = [null]
  let tsValue = NaN
  const emitTs = (): void => {
    const v = tsOut[0]
    tsValue = typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : typeof v === 'bigint' ? Number(v) : NaN
  }
  const runTime = (record: Readonly<Record<string, unknown>>): number => {
    tsValue = NaN
    try { time.run(record, tsOut, emitTs) } catch { tsValue = NaN }
    return tsValue
  }

  const decoder = createDecoder(format)
  const timeRecord: Record<string, unknown> = timeField === null ? {} : { [timeField]: null }
  const timeFromValue = (v: unknown): number => {
    if (v === null || v === undefined) return NaN
    timeRecord[timeField!] = v
    return runTime(timeRecord)
  }
  const timeOnly = timeField === null ? null : fieldExtractor(format, [timeField])
  const one: unknown[] = [null]
  const timeOf = timeOnly !== null
    ? (bytes: Uint8Array): number => (timeOnly.extract(bytes, one) ? timeFromValue(one[0]) : NaN)
    : (bytes: Uint8Array): number => { try { return runTime(decoder.decode(bytes)) } catch { return NaN } }

  // Reading keys: straight from the bytes when they are plain fields, else by evaluating the query.
  const extractor = plainKeys && timeField !== null ? fieldExtractor(format, [...(keyFields as string[]), timeField]) : null
  const values: unknown[] = new Array(nKeys + 1)
  const out: unknown[] = new Array(q.columns.length).fill(null)
  let mask = 0
  let parts: number[] = []
  let nParts = 0
  let partsOf = 0
  // A null key value is a key like any other (Chronon's KeySelector makes it List(null) and tiles it): it is
  // hashed as null wherever it is routed.
  const emitRow = (): void => {
    if (partsOf > 0) {
      const p = partitionOfKey(out, partsOf, 0, nKeys)
      if (!parts.slice(0, nParts).includes(p)) parts[nParts++] = p
      return
    }
    mask |= maskOfKey(out, workers, 0, nKeys)
  }
  /** Fast path: the key values into `values[0, nKeys)` (null when absent), the time set; false when unreadable. */
  const readKeys = (bytes: Uint8Array, probe: { ts: number }): boolean => {
    if (!extractor!.extract(bytes, values)) { probe.ts = NaN; return false }
    probe.ts = timeFromValue(values[nKeys])
    return true
  }
  const partitionsOf = (bytes: Uint8Array, n: number, into: number[], probe: { ts: number }): number => {
    if (extractor !== null) {
      if (!readKeys(bytes, probe)) return 0
      into[0] = partitionOfKey(values, n, 0, nKeys)
      return 1
    }
    let record: Record<string, unknown>
    try { record = decoder.decode(bytes) } catch { probe.ts = NaN; return 0 }
    probe.ts = runTime(record)
    parts = into
    nParts = 0
    partsOf = n
    mask = 0
    try { q.run(record, out, emitRow) } catch { nParts = 0 } finally { partsOf = 0 }
    return nParts
  }

  // One worker owns every key: only the time is needed.
  if (workers === 1) {
    const probe: RecordProbe & { ts: number } = {
      ts: NaN,
      probe (bytes) { probe.ts = timeOf(bytes); return 1 },
      partitionsOf: (bytes, n, into) => partitionsOf(bytes, n, into, probe),
      timeOf
    }
    return probe
  }

  // Fast path: the key fields and the time field read straight from the bytes.
  if (extractor !== null) {
    const probe: RecordProbe & { ts: number } = {
      ts: NaN,
      probe (bytes) {
        return readKeys(bytes, probe) ? maskOfKey(values, workers, 0, nKeys) : 1
      },
      partitionsOf: (bytes, n, into) => partitionsOf(bytes, n, into, probe),
      timeOf
    }
    return probe
  }

  // General path: decode, evaluate.
  const probe: RecordProbe & { ts: number } = {
    ts: NaN,
    probe (bytes) {
      let record: Record<string, unknown>
      try { record = decoder.decode(bytes) } catch { probe.ts = NaN; return 1 }
      probe.ts = runTime(record)
      mask = 0
      try { q.run(record, out, emitRow) } catch { return 1 }
      // No row (a where dropped it): any worker will count it as filtered.
      return mask === 0 ? 1 : mask
    },
    partitionsOf: (bytes, n, into) => partitionsOf(bytes, n, into, probe),
    timeOf
  }
  return probe
}
