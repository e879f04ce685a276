// The worker thread: drains ring slots handed over by the main thread, decodes and evaluates each record, folds
// the rows into its TileState and returns the tiles to write — or, untiled (`init.untiled`), turns each row into
// one event put (UntiledState). Each worker owns a disjoint set of keys (the main thread routes by key hash), so no
// state is shared and no locks are needed.

import { Piscina } from 'piscina'
import type { StructType } from '../api/data-type.ts'
import { compilePlan } from '../config/plan.ts'
import { bindGroupBy } from '../config/bind.ts'
import { createDecoder } from '../codec/record.ts'
import { describeError, isTilekilnError } from '../errors.ts'
import { queryCompiler } from '../expr/index.ts'
import { partitionOfKey, workerOfKey } from '../route/ownership.ts'
import { SlotView } from '../route/ring.ts'
import { tileStartOf } from '../window/resolution.ts'
import type { BatchTask, Closes, DeadLetter, Task, TaskResult, WorkerInit, WorkerSnapshot } from './protocol.ts'
import { FlatNumbers, flatNumbersBytes } from './flat-numbers.ts'
import { numericRows, type NumericRows } from './numeric-rows.ts'
import { ROW_LATE_AT_HOME, TileState } from './tile-state.ts'
import { UntiledState } from './untiled-state.ts'

const init = Piscina.workerData as WorkerInit
const plan = compilePlan(init.groupBy, init.planOptions)
const bound = bindGroupBy(plan, init.format.schema as StructType, queryCompiler(init.evaluator))
const decoder = createDecoder(init.format)
// Exactly one of the two is used for the whole life of the worker.
// Room for the numeric path's WASM reader when records are flat Avro (used only if that path applies, below).
const scratchBytes = decoder.flatLayout !== undefined ? flatNumbersBytes(decoder.flatLayout) : 0
const tiles = init.untiled === true ? null : new TileState(bound, init.memory, { allowedLatenessMillis: init.allowedLatenessMillis, trigger: init.trigger, maxKeyBytes: init.maxKeyBytes, rollups: init.rollups ?? [], scratchBytes })
const events = tiles === null ? new UntiledState(bound, { allowedLatenessMillis: init.allowedLatenessMillis, maxKeyBytes: init.maxKeyBytes }) : null
const puts = tiles !== null ? tiles.puts : events!.puts
const isLate = tiles !== null ? (tileStart: number, wm: number) => tiles.isLate(tileStart, wm) : (tileStart: number, wm: number) => events!.isLate(tileStart, wm)
const NO_UNMERGEABLE: TaskResult['unmergeableRollups'] = Object.freeze([])
const slots = Array.from({ length: init.geometry.slots }, (_, i) => new SlotView(init.ring, init.geometry, i))

const query = bound.query
const tsIndex = bound.tsIndex
const keyIndices = bound.keyIndices
const nKeys = keyIndices.length
const out: unknown[] = new Array(query.columns.length).fill(null)
const timeColumn = plan.source.timeColumn
// Dead-letter reasons both fold paths give (fold, numericRecord): one wording.
const MISSING_TIME = `missing timestamp: the timeColumn '${timeColumn}' is null`
const timeOutOfRange = (ts: number): string => `timestamp ${ts} is out of range (beyond ±(2^53 - 1) ms)`
const keyedPartitions = query.multiRow ? init.keyedPartitions ?? 0 : 0
// Plain numeric columns: records folded as numbers (null: the general path for every record).
const numeric = init.numericRows === false ? null : numericRows(query, plan.source, init.format.schema as StructType, decoder, tiles, keyIndices, tsIndex, init.ownershipCheck || keyedPartitions > 1)
// ...and their regular records read in WASM, a chunk at a time (worker/flat-numbers.ts).
const flat = numeric !== null && tiles !== null && scratchBytes > 0 && init.wasmRead !== false
  ? new FlatNumbers(init.memory, tiles.scratchPtr, decoder.flatLayout!, numeric.want)
  : null

// Per-task state, reset by `begin`.
let now = 0
let rows = 0
let late = 0
let filtered = 0
let deadLetters: DeadLetter[] = []
let curSlot: SlotView | null = null
let curIndex = -1
let curRows = 0
const pending: unknown[][] = []

// spark_expr_eval_time, sampled: every EVAL_SAMPLE_EVERY-th record's evaluation is timed. The per-record cost is a
// countdown; the sampled record's rows are buffered (not folded inside the timing) and folded after it.
const EVAL_SAMPLE_EVERY = 1024
const NO_SAMPLES: number[] = []
let evalCountdown = EVAL_SAMPLE_EVERY
let evalMicros = NO_SAMPLES

function deadLetter (code: string, reason: string, isLate = false): void {
  const s = curSlot
  const i = curIndex
  deadLetters.push({
    index: i,
    partition: s !== null && i >= 0 ? s.partitions[i]! : -1,
    position: s !== null && i >= 0 ? s.positions[i]! : -1,
    code,
    reason,
    bytes: s !== null && i >= 0 ? s.data.slice(s.starts[i]!, s.ends[i]!) : null,
    late: isLate
  })
}

/** Validates and folds one evaluated row (in `row`), the `rowIndex`-th the current record made. */
function fold (row: readonly unknown[], rowIndex: number): void {
  // A record fanned out to several workers is evaluated by each: a worker judges only the rows it owns (null key
  // values included: a null is a key value, hashed as null, as Chronon tiles it).
  if (init.ownershipCheck && workerOfKey(row, init.workers, 0, nKeys) !== init.index) return
  if (keyedPartitions > 1 && curSlot !== null && curIndex >= 0) {
    if (partitionOfKey(row, keyedPartitions, 0, nKeys) !== curSlot.partitions[curIndex]) return
  }
  const tsv = row[tsIndex]
  let ts: number
  if (typeof tsv === 'number') ts = tsv
  else if (typeof tsv === 'bigint') ts = Number(tsv)
  else {
    deadLetter('TK_INPUT', tsv === null || tsv === undefined ? MISSING_TIME : `timestamp is not a number: ${String(tsv).slice(0, 60)}`)
    return
  }
  if (!Number.isFinite(ts)) { deadLetter('TK_INPUT', `timestamp is not finite: ${ts}`); return }
  ts = Math.trunc(ts)
  // Event times are exact longs of milliseconds: beyond ±(2^53 − 1) they are rounded and would wrap in tile keys.
  if (!Number.isSafeInteger(ts)) { deadLetter('TK_INPUT', timeOutOfRange(ts)); return }
  const tileStart = tileStartOf(ts, plan.tileSizeMillis)
  // The watermark this record is judged by: its partition's clock just before it (fixed by the main thread).
  const watermark = curSlot !== null && curIndex >= 0 ? curSlot.watermarks[curIndex]! : -Infinity
  if (isLate(tileStart, watermark)) {
    lateRow(ts, tileStart, watermark)
    return
  }
  const p = curSlot !== null && curIndex >= 0 ? curSlot.partitions[curIndex]! : 0
  try {
    if (events !== null) events.append(row, ts, p, curSlot !== null && curIndex >= 0 ? curSlot.positions[curIndex]! : -1, rowIndex)
    else if (tiles!.row(row, ts, tileStart, now, p) === ROW_LATE_AT_HOME) {
      lateRow(ts, tileStart, NaN)
      return
    }
  } catch (e) {
    deadLetter(isTilekilnError(e) ? e.code : 'TK_INPUT', describeError(e))
    return
  }
  rows++
}

function lateRow (ts: number, tileStart: number, watermark: number): void {
  late++
  const by = Number.isNaN(watermark)
    ? 'which the clock of the partition where this key lives already closed (the topic is not keyed by the entity: use --repartition)'
    : `which closed at watermark ${watermark}`
  deadLetter('TK_LATE', `late event: ts ${ts} falls in tile [${tileStart}, ${tileStart + plan.tileSizeMillis}) ${by} (allowed lateness ${init.allowedLatenessMillis} ms)`, true)
}

const emitDirect = (): void => { fold(out, curRows++) }
const emitBuffered = (): void => { curRows++; pending.push(out.slice()) }
const emit = query.multiRow ? emitBuffered : emitDirect

function timedRun (record: Record<string, unknown>): void {
  evalCountdown = EVAL_SAMPLE_EVERY
  const t0 = performance.now()
  query.run(record, out, emitBuffered)
  const micros = (performance.now() - t0) * 1000
  if (evalMicros === NO_SAMPLES) evalMicros = []
  evalMicros.push(micros)
}

function processRecords (task: BatchTask): number {
  const slot = slots[task.slot]!
  curSlot = slot
  if (flat !== null) processNumbers(slot, task.count, flat)
  else for (let i = 0; i < task.count; i++) oneRecord(slot, i, null)
  curSlot = null
  curIndex = -1
  return task.count
}

/** processRecords on the numeric path: records read in WASM a chunk at a time; the few it leaves, in JS. */
function processNumbers (slot: SlotView, count: number, reader: FlatNumbers): void {
  let i = 0
  while (i < count) {
    const end = reader.read(slot, i, count)
    if (end === i) {
      // One record larger than a chunk: the JS reader.
      oneRecord(slot, i, null)
      i++
      continue
    }
    reader.warm(numeric!.keyField, tiles!)
    for (; i < end; i++) oneRecord(slot, i, reader)
  }
}

/** Record i of the slot, the way its GroupBy takes it; `reader`: the WASM reader holding it, if any. */
function oneRecord (slot: SlotView, i: number, reader: FlatNumbers | null): void {
  curIndex = i
  // The sampled record goes the general way, so that spark_expr_eval_time times the evaluation on either path.
  if (--evalCountdown === 0) {
    evalCountdown = EVAL_SAMPLE_EVERY
    generalRecord(slot, i, true)
  } else if (numeric === null) generalRecord(slot, i, false)
  else if (reader !== null && reader.take(i, numeric.vals, numeric.valid)) foldNumbers(slot, i, numeric)
  else numericRecord(slot, i, numeric)
}

/** Decodes record i of the slot into an object, evaluates the query over it and folds the rows it makes. */
function generalRecord (slot: SlotView, i: number, timed: boolean): void {
  let record: Record<string, unknown>
  try {
    record = decoder.decodeAt(slot.data, slot.starts[i]!, slot.ends[i]!)
  } catch (e) {
    deadLetter(isTilekilnError(e) ? e.code : 'TK_DECODE', describeError(e))
    return
  }
  curRows = 0
  // Only multi-row queries fill it; setting an array's length is a builtin call (2 % of a worker's time).
  if (pending.length !== 0) pending.length = 0
  try {
    if (!timed) query.run(record, out, emit)
    else timedRun(record)
  } catch (e) {
    deadLetter(isTilekilnError(e) ? e.code : 'TK_EXPR_EVAL', `expression evaluation failed: ${describeError(e)}`)
    return
  }
  if (curRows === 0) filtered++
  for (let j = 0; j < pending.length; j++) fold(pending[j]!, j)
}

/**
 * Record i of the slot the numeric way (worker/numeric-rows.ts): its values read as numbers and folded as `fold`
 * folds the row a plain-column query makes of them, in the same order of checks and with the same dead letters.
 */
function numericRecord (slot: SlotView, i: number, n: NumericRows): void {
  const vals = n.vals
  const valid = n.valid
  try {
    decoder.numbersAt!(slot.data, slot.starts[i]!, slot.ends[i]!, n.want, vals, valid)
  } catch (e) {
    deadLetter(isTilekilnError(e) ? e.code : 'TK_DECODE', describeError(e))
    return
  }
  foldNumbers(slot, i, n)
}

/** The rest of numericRecord, once record i's values are in n.vals / n.valid. */
function foldNumbers (slot: SlotView, i: number, n: NumericRows): void {
  const vals = n.vals
  const valid = n.valid
  if (valid[n.keyField] === 0) {
    // A null key is a key too, but not a number: the general fold, over the row the query would have made.
    for (let c = 0; c < out.length; c++) {
      const f = n.fieldOf[c]!
      out[c] = valid[f] === 1 ? vals[f]! : null
    }
    fold(out, 0)
    return
  }
  if (valid[n.tsField] === 0) {
    deadLetter('TK_INPUT', MISSING_TIME)
    return
  }
  // An int or a long: whole, and finite; an Avro int is not range-checked by the reader.
  const ts = vals[n.tsField]!
  if (!Number.isSafeInteger(ts)) { deadLetter('TK_INPUT', timeOutOfRange(ts)); return }
  const tileStart = tileStartOf(ts, plan.tileSizeMillis)
  const watermark = slot.watermarks[i]!
  if (isLate(tileStart, watermark)) {
    lateRow(ts, tileStart, watermark)
    return
  }
  let folded: number
  try {
    folded = tiles!.rowNumbers(n.keyField, n.tsField, slot.partitions[i]!, vals, valid, n.at)
  } catch (e) {
    deadLetter(isTilekilnError(e) ? e.code : 'TK_INPUT', describeError(e))
    return
  }
  if (folded === ROW_LATE_AT_HOME) {
    // Read again, not kept: a double still live after the call above is a heap number allocated per record.
    const t = vals[n.tsField]!
    lateRow(t, tileStartOf(t, plan.tileSizeMillis), NaN)
    return
  }
  rows++
}

function applyCloses (closes: Closes): number {
  let closed = 0
  if (tiles === null) return 0
  for (let i = 0; i < closes.length; i += 2) closed += tiles.close(closes[i]!, closes[i + 1]!)
  return closed
}

export default function run (task: Task): unknown {
  if (task.kind === 'snapshot') {
    const snap: WorkerSnapshot = tiles !== null
      ? tiles.snapshot(task.partitions)
      : { entries: new ArrayBuffer(4), partitions: new Int32Array(0), timers: new Uint8Array(0), latest: new Float64Array(0) }
    return Piscina.move({ [Piscina.transferableSymbol]: [snap.entries], [Piscina.valueSymbol]: snap } as never)
  }
  if (task.kind === 'restore') {
    const closed = new Map<number, number>()
    for (let i = 0; i < task.closes.length; i += 2) closed.set(task.closes[i]!, task.closes[i + 1]!)
    tiles?.restore(task.snapshot, closed, task.now, task.rollups ?? [])
    return { restoredEntries: tiles?.liveEntries ?? 0 }
  }
  if (task.kind === 'drop') {
    let dropped = 0
    if (tiles !== null) for (const p of task.partitions) dropped += tiles.drop(p)
    return { droppedEntries: dropped }
  }
  const started = performance.now()
  now = task.now
  rows = 0; late = 0; filtered = 0
  deadLetters = []
  evalMicros = NO_SAMPLES
  if (tiles !== null) tiles.begin(now)
  else puts.begin()
  const records = task.kind === 'batch' ? processRecords(task) : 0
  let closedTiles = 0
  let crossings = { count: 0, sample: null as string | null }
  if (tiles !== null) {
    // Close before firing: a tile touched in this batch and closed now is written once, complete.
    closedTiles = applyCloses(task.closes)
    if (init.trigger.kind === 'always') tiles.fireDirty()
    else tiles.fireTimers(now)
    tiles.flush()
    crossings = tiles.takeCrossings()
  }
  const putCount = puts.count
  const batch = putCount > 0 ? puts.finish() : null
  const putPartitions = batch !== null && tiles !== null ? tiles.putPartitions() : null
  const putLatest = batch !== null && tiles !== null ? tiles.putLatest() : null
  const rollups = tiles !== null ? tiles.takeRollups() : []
  const unmergeableRollups = tiles !== null ? tiles.takeUnmergeable() : NO_UNMERGEABLE
  const result: TaskResult = {
    puts: batch,
    putPartitions,
    putLatest,
    putCount,
    rollups,
    records,
    rows,
    filtered,
    late,
    deadLetters,
    crossings: crossings.count,
    crossingSample: crossings.sample,
    unmergeableRollups,
    closedTiles,
    liveEntries: tiles?.liveEntries ?? 0,
    liveKeys: tiles?.liveKeys ?? 0,
    openTiles: tiles?.openTiles ?? 0,
    stateBytes: tiles?.stateBytes ?? 0,
    nextTimer: tiles?.nextTimer() ?? Infinity,
    busyMillis: performance.now() - started,
    exprEvalMicros: evalMicros
  }
  if (batch === null && rollups.length === 0) return result
  const transfer: ArrayBuffer[] = batch === null ? [] : [batch]
  for (const r of rollups) transfer.push(r.puts, r.partitions.buffer as ArrayBuffer, r.latest.buffer as ArrayBuffer)
  if (putPartitions !== null) transfer.push(putPartitions.buffer as ArrayBuffer)
  if (putLatest !== null) transfer.push(putLatest.buffer as ArrayBuffer)
  return Piscina.move({ [Piscina.transferableSymbol]: transfer, [Piscina.valueSymbol]: result } as never)
}
