// The engine's metrics: one table (TABLE below) of every metric — its name, type, help and labels — exposed through
// prom-client in Prometheus text format, with the label feature_group="<GroupBy>" on each (Chronon's tag).
//
// Names are Chronon's where Chronon has the metric (§5.6: tiling.late_events, deserialization_errors,
// spark_expr_eval_errors, spark_expr_eval_time, event_processing_error, kvstore_writer.successes/errors) and the
// engine's own otherwise. `inc`, `set` and `summary` take these names; `--json` summaries key counters by them. The
// exposition follows Prometheus conventions: `tilekiln_` + the name with dots as underscores, counters end in
// `_total`, durations are histograms in seconds (`_seconds`), bytes end in `_bytes`.
//
// The hot path never touches prom-client: the engine adds to plain numbers, per batch (never per event), and the
// registry reads them when scraped (`collect`). Histograms are recorded per batch with a count: buckets in a typed
// array for Prometheus, plus HdrHistograms for exact percentiles (the run summary, the live view's last interval).

import * as hdr from 'hdr-histogram-js'
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'

export interface HistogramSummary { count: number, p50: number, p99: number, p999: number, max: number, mean: number }

type Kind = 'counter' | 'gauge' | 'histogram'
interface MetricDef {
  readonly name: string
  readonly type: Kind
  readonly help: string
  /** A label other than feature_group: the source partition or the worker. */
  readonly label?: 'partition' | 'worker'
  /** Histograms: the unit values are recorded in (exposed in seconds). */
  readonly unit?: 'ms' | 'us'
  /** Exposed name when it is not derived from `name` (a unit suffix, a rename for Prometheus conventions). */
  readonly exposed?: string
}

/** Bucket upper bounds (seconds) of the duration histograms: 1 ms … 2 min. */
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]
/** Finer bounds for per-record expression times (seconds): 1 µs … 10 ms. */
const FINE_BUCKETS = [0.000001, 0.0000025, 0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.01]

/** Every metric of tilekiln. Keys are how the code names them (M.recordsIn); `name` is the metric's name. */
const TABLE = {
  // ---- records and rows
  recordsIn: { name: 'records_in', type: 'counter', help: 'records read from the source and folded into tiles (or written, untiled)' },
  rows: { name: 'rows_aggregated', type: 'counter', help: 'rows (after selects, wheres and EXPLODE) folded into tiles' },
  filtered: { name: 'rows_filtered', type: 'counter', help: 'rows dropped by the GroupBy\'s wheres' },
  lateEvents: { name: 'tiling.late_events', type: 'counter', help: 'events for a tile their partition\'s watermark had closed (dead letters)' },
  deadLetters: { name: 'dead_letters', type: 'counter', help: 'records that could not be aggregated, written to the dead-letter output with a reason' },
  decodeErrors: { name: 'deserialization_errors', type: 'counter', help: 'records that could not be decoded' },
  exprErrors: { name: 'spark_expr_eval_errors', type: 'counter', help: 'records whose selects/wheres failed to evaluate' },
  /** Histogram, microseconds: one record's selects + wheres + timeColumn, sampled (1 record in 1024 per worker). */
  exprEvalTime: { name: 'spark_expr_eval_time', type: 'histogram', unit: 'us', exposed: 'spark_expr_eval_time_seconds', help: 'time to evaluate one record\'s selects, wheres and time column (sampled: 1 record in 1024 per worker)' },
  inputErrors: { name: 'event_processing_error', type: 'counter', help: 'records refused for another reason (key too long, record larger than a ring slot, …)' },
  crossPartitionRows: { name: 'cross_partition_rows', type: 'counter', help: 'rows whose entity key arrived from more than one partition: the topic is not keyed by the entity (use --repartition)' },
  shuffleDuplicates: { name: 'shuffle_duplicates_dropped', type: 'counter', help: 'records of a repartitioned topic dropped as replays of the shuffle stage' },
  // ---- tiles, state and the store
  rollupUnmergeable: { name: 'rollup_unmergeable_tiles', type: 'counter', help: 'rolled-up tiles not written with a value because their fine tiles do not merge (an element-wise list whose length changes within the hour or day): written empty and incomplete, so reads take the fine tiles' },
  tilesClosed: { name: 'tiles_closed', type: 'counter', help: 'tiles written complete and dropped because their partition\'s watermark passed them' },
  kvSuccesses: { name: 'kvstore_writer.successes', type: 'counter', help: 'tile (or event) writes acknowledged by the store' },
  kvErrors: { name: 'kvstore_writer.errors', type: 'counter', help: 'store write requests that failed (each is retried)' },
  kvRetries: { name: 'kvstore_writer.retries', type: 'counter', help: 'store write requests issued again after a failure' },
  kvTimeouts: { name: 'kvstore_writer.slow_requests', type: 'counter', help: 'store write requests that outlived their deadline (waited for, never issued twice)' },
  queuedPuts: { name: 'kv_queued_puts', type: 'gauge', help: 'tile writes accepted by the writer and not yet acknowledged by the store' },
  inflightRequests: { name: 'kv_inflight_requests', type: 'gauge', help: 'store write requests in flight' },
  latency: { name: 'event_to_store_latency', type: 'histogram', unit: 'ms', exposed: 'event_to_store_latency_seconds', help: 'time from a record entering the engine to its tiles being acknowledged by the store' },
  // Where that time goes, per batch and weighted by its records like event_to_store_latency: the three add up to it.
  latencyBatching: { name: 'event_to_store_batching', type: 'histogram', unit: 'ms', exposed: 'event_to_store_batching_seconds', help: 'part of event_to_store_latency: a batch\'s first record entering the engine → the batch handed to its worker (filling, linger, a busy worker)' },
  latencyWorker: { name: 'event_to_store_worker', type: 'histogram', unit: 'ms', exposed: 'event_to_store_worker_seconds', help: 'part of event_to_store_latency: batch handed to its worker → its tiles back on the main thread (queue, decode, aggregate, encode)' },
  latencyStore: { name: 'event_to_store_writing', type: 'histogram', unit: 'ms', exposed: 'event_to_store_writing_seconds', help: 'part of event_to_store_latency: the batch\'s tiles back from the worker → acknowledged by the store (writer queue, store request)' },
  liveKeys: { name: 'live_keys', type: 'gauge', label: 'worker', help: 'entity keys with open tiles, per worker' },
  liveEntries: { name: 'open_tiles', type: 'gauge', label: 'worker', help: 'open (key, tile) entries, per worker' },
  stateBytes: { name: 'state_bytes', type: 'gauge', label: 'worker', help: 'bytes of state a worker holds in its tables, per worker: aggregation state, open tiles, trigger timers, keys (JS-held sketch IRs and non-integral key maps not counted)' },
  workerBusy: { name: 'worker_busy_ratio', type: 'gauge', label: 'worker', help: 'fraction of the last second a worker spent on batches' },
  workerBatches: { name: 'worker_batches', type: 'counter', help: 'record batches handed to workers (records_in / this ≈ records per batch)' },
  batchLimit: { name: 'worker_batch_records', type: 'gauge', label: 'worker', help: 'records a worker\'s next batch takes: --batch-records, doubling up to --batch-records-max while the source outruns the worker' },
  // ---- partitions and checkpoints
  ownedPartitions: { name: 'owned_partitions', type: 'gauge', help: 'source partitions this daemon owns' },
  rebalances: { name: 'partitions_assigned', type: 'counter', help: 'partitions taken over (assignments)' },
  revocations: { name: 'partitions_revoked', type: 'counter', help: 'partitions given up (revocations)' },
  fencedWrites: { name: 'fenced_writes', type: 'counter', help: 'tile and checkpoint writes refused because another daemon took the partition over' },
  handover: { name: 'partition_handover', type: 'histogram', unit: 'ms', exposed: 'partition_handover_seconds', help: 'assignment of a partition → ready to read (epoch, checkpoint load, restore, rewrite)' },
  firstWrite: { name: 'partition_first_write', type: 'histogram', unit: 'ms', exposed: 'partition_first_write_seconds', help: 'assignment of a partition → the tiles of its first records written (the pause a move causes)' },
  partitionLag: { name: 'partition_lag_records', type: 'gauge', label: 'partition', help: 'consumer lag: records between the partition\'s next offset and its high watermark (NaN until known)' },
  partitionWatermark: { name: 'partition_watermark', type: 'gauge', label: 'partition', exposed: 'partition_watermark_timestamp_seconds', help: 'the partition\'s closing watermark (epoch seconds; -Inf before its first event)' },
  partitionEpoch: { name: 'partition_epoch', type: 'gauge', label: 'partition', help: 'the fencing epoch this daemon owns the partition under' },
  partitionRecords: { name: 'partition_records_in', type: 'counter', label: 'partition', help: 'records read from the partition since this daemon took it over' },
  checkpoints: { name: 'checkpoints', type: 'counter', help: 'checkpoints written (one per cut, covering every partition it checkpointed)' },
  checkpointBytes: { name: 'checkpoint_bytes_written', type: 'counter', exposed: 'checkpoint_written_bytes_total', help: 'bytes of checkpoints written' },
  checkpointDuration: { name: 'checkpoint_duration', type: 'histogram', unit: 'ms', exposed: 'checkpoint_duration_seconds', help: 'time to take a checkpoint (hold, drain, snapshot, write, commit)' },
  checkpointLastBytes: { name: 'checkpoint_last_bytes', type: 'gauge', help: 'bytes of the latest checkpoint' },
  checkpointAge: { name: 'checkpoint_age', type: 'gauge', exposed: 'checkpoint_age_seconds', help: 'seconds since the latest checkpoint was written (since the start when none was)' },
  restoredBytes: { name: 'checkpoint_bytes_restored', type: 'counter', exposed: 'checkpoint_restored_bytes_total', help: 'bytes of checkpoints restored when partitions were assigned' },
  commitFailures: { name: 'offset_commit_failures', type: 'counter', help: 'offset commits to the source that failed (retried by the next checkpoint)' },
  deadLetterFlushFailures: { name: 'dead_letter_flush_failures', type: 'counter', help: 'checkpoints skipped because dead letters could not be written' },
  // ---- the read side (tilekiln serve, and the status page of a run)
  fetchRequests: { name: 'fetch_requests', type: 'counter', help: 'feature requests served' },
  fetchErrors: { name: 'fetch_errors', type: 'counter', help: 'feature requests that failed' },
  fetchLatency: { name: 'fetch_latency', type: 'histogram', unit: 'us', exposed: 'fetch_latency_seconds', help: 'time to read and finalize one feature request' }
} as const satisfies Record<string, MetricDef>

type Table = typeof TABLE
/** Metric names by how the code calls them: M.recordsIn === 'records_in'. */
export const M = Object.fromEntries(Object.entries(TABLE).map(([k, d]) => [k, d.name])) as { readonly [K in keyof Table]: Table[K]['name'] }
export type MetricName = Table[keyof Table]['name']

const DEFS = new Map<string, MetricDef>(Object.values(TABLE).map(d => [d.name, d]))

/** The exposed Prometheus name of a metric. */
export function exposedName (name: MetricName): string {
  const d = DEFS.get(name)!
  const base = d.exposed ?? d.name.replace(/[^a-zA-Z0-9_]/g, '_')
  return `tilekiln_${d.type === 'counter' && !base.endsWith('_total') ? `${base}_total` : base}`
}

/** Bucket counts for Prometheus (weighted observations, no allocation per record) and HdrHistograms for percentiles. */
class Histogram {
  readonly bounds: readonly number[]
  /** Count per bucket (not cumulative); the last one is +Inf. */
  readonly counts: Float64Array
  readonly #toSeconds: number
  sum = 0
  count = 0
  readonly all = newHdr()
  /** Since the last `takeRecent` (the live view's last interval). */
  recent = newHdr()

  constructor (unit: 'ms' | 'us', bounds: readonly number[]) {
    this.bounds = bounds
    this.counts = new Float64Array(bounds.length + 1)
    this.#toSeconds = unit === 'ms' ? 1e-3 : 1e-6
  }

  record (value: number, n: number): void {
    const s = value * this.#toSeconds
    let i = 0
    while (i < this.bounds.length && s > this.bounds[i]!) i++
    this.counts[i]! += n
    this.sum += s * n
    this.count += n
    const v = Math.max(1, Math.min(Math.round(value), HDR_MAX))
    this.all.recordValueWithCount(v, n)
    this.recent.recordValueWithCount(v, n)
  }
}

const HDR_MAX = 24 * 3600 * 1_000_000
function newHdr (): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HDR_MAX, numberOfSignificantValueDigits: 3 })
}

function summarize (h: hdr.Histogram): HistogramSummary {
  if (h.totalCount === 0) return { count: 0, p50: 0, p99: 0, p999: 0, max: 0, mean: 0 }
  return { count: h.totalCount, p50: h.getValueAtPercentile(50), p99: h.getValueAtPercentile(99), p999: h.getValueAtPercentile(99.9), max: h.maxValue, mean: h.mean }
}

let processRegistry: Registry | null = null
/** Process metrics (CPU, memory, GC, event-loop lag, handles), one set per process, unprefixed (prom-client's names). */
export function processMetrics (): Registry {
  if (processRegistry === null) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry })
  }
  return processRegistry
}

export class Metrics {
  readonly groupBy: string
  readonly registry = new Registry()
  /** Unlabelled counters and gauges; every one of the table is here from the start (at 0). */
  readonly #values = new Map<string, number>()
  /** Labelled ones: name → label value → value. */
  readonly #labelled = new Map<string, Map<number, number>>()
  readonly #histograms = new Map<string, Histogram>()
  readonly #started = Date.now()
  #lastCheckpointAt = 0
  /** Include the process's metrics in `prometheus()` (the CLI does; an embedder exposes its own). */
  #withProcess = false

  constructor (groupBy: string) {
    this.groupBy = groupBy
    this.registry.setDefaultLabels({ feature_group: groupBy })
    for (const d of DEFS.values()) this.#register(d)
  }

  #register (d: MetricDef): void {
    const name = exposedName(d.name as MetricName)
    if (d.type === 'histogram') {
      const h = new Histogram(d.unit ?? 'ms', d.unit === 'us' ? FINE_BUCKETS : BUCKETS)
      this.#histograms.set(d.name, h)
      this.registry.registerMetric({ name, help: d.help, type: 'histogram', get: async () => ({ name, help: d.help, type: 'histogram', aggregator: 'sum', values: histogramValues(name, h) }) } as never)
      return
    }
    if (d.label !== undefined) this.#labelled.set(d.name, new Map())
    else this.#values.set(d.name, 0)
    const values = this.#values
    const labelled = this.#labelled.get(d.name)
    const label = d.label
    const metrics = this
    if (d.type === 'counter') {
      // eslint-disable-next-line no-new
      new Counter({
        name, help: d.help, labelNames: label === undefined ? [] : [label], registers: [this.registry],
        collect () {
          this.reset()
          if (labelled === undefined) this.inc(values.get(d.name)!)
          else for (const [k, v] of labelled) this.inc({ [label!]: String(k) }, v)
        }
      })
    } else {
      // eslint-disable-next-line no-new
      new Gauge({
        name, help: d.help, labelNames: label === undefined ? [] : [label], registers: [this.registry],
        collect () {
          if (d.name === M.checkpointAge) values.set(d.name, (Date.now() - (metrics.#lastCheckpointAt || metrics.#started)) / 1000)
          this.reset()
          if (labelled === undefined) this.set(values.get(d.name)!)
          else for (const [k, v] of labelled) this.set({ [label!]: String(k) }, d.name === M.partitionWatermark ? v / 1000 : v)
        }
      })
    }
  }

  inc (name: MetricName, by = 1): void {
    this.#values.set(name, this.#values.get(name)! + by)
  }

  set (name: MetricName, value: number): void {
    this.#values.set(name, value)
  }

  /** A metric of one source partition or worker (exposed with its label). */
  setLabelled (name: MetricName, label: number, value: number): void {
    this.#labelled.get(name)!.set(label, value)
  }

  setPartition (name: MetricName, partition: number, value: number): void {
    this.setLabelled(name, partition, value)
  }

  /** Forgets a partition's metrics (it moved to another daemon). */
  dropPartition (partition: number): void {
    for (const [name, m] of this.#labelled) if (DEFS.get(name)!.label === 'partition') m.delete(partition)
  }

  partitionGauge (name: MetricName, partition: number): number | undefined {
    return this.#labelled.get(name)?.get(partition)
  }

  /** A labelled metric's value for one partition or worker (undefined until set). */
  labelled (name: MetricName, label: number): number | undefined {
    return this.#labelled.get(name)?.get(label)
  }

  counter (name: MetricName): number { return this.#values.get(name) ?? 0 }
  gauge (name: MetricName): number { return this.#values.get(name) ?? 0 }

  /** Records `count` observations of `value` (in the metric's unit: ms or µs) at once. */
  record (name: MetricName, value: number, count = 1): void {
    this.#histograms.get(name)!.record(value, count)
  }

  /** Percentiles since the start (in the metric's unit). */
  summary (name: MetricName): HistogramSummary {
    const h = this.#histograms.get(name)
    return h === undefined ? summarize(newHdr()) : summarize(h.all)
  }

  /**
   * Values at `percentiles` (0–100) since the previous `takeRecent`, without starting a new interval: the latency
   * curve of a benchmark's measurement window (bench/scenarios/latency.ts).
   */
  recentPercentiles (name: MetricName, percentiles: readonly number[]): number[] {
    const h = this.#histograms.get(name)!.recent
    return percentiles.map(p => (h.totalCount === 0 ? Number.NaN : h.getValueAtPercentile(p)))
  }

  /** Percentiles since the previous call (the live view's last interval); starts a new interval. */
  takeRecent (name: MetricName): HistogramSummary {
    const h = this.#histograms.get(name)!
    const s = summarize(h.recent)
    h.recent.reset()
    return s
  }

  /** A checkpoint was written: its duration and size. */
  checkpointed (millis: number, bytes: number): void {
    this.inc(M.checkpoints)
    this.record(M.checkpointDuration, millis)
    this.set(M.checkpointLastBytes, bytes)
    this.#lastCheckpointAt = Date.now()
  }

  /** Adds the process's CPU, memory, GC and event-loop metrics to the exposition. */
  includeProcessMetrics (): void {
    this.#withProcess = true
    processMetrics()
  }

  /** Prometheus text exposition (version 0.0.4). */
  async prometheus (): Promise<string> {
    const own = await this.registry.metrics()
    return this.#withProcess ? own + '\n' + await processMetrics().metrics() : own
  }

  static readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE
}

function histogramValues (name: string, h: Histogram): { metricName: string, labels: Record<string, string | number>, value: number }[] {
  const out: { metricName: string, labels: Record<string, string | number>, value: number }[] = []
  let cumulative = 0
  for (let i = 0; i < h.bounds.length; i++) {
    cumulative += h.counts[i]!
    out.push({ metricName: `${name}_bucket`, labels: { le: h.bounds[i]! }, value: cumulative })
  }
  out.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: h.count })
  out.push({ metricName: `${name}_sum`, labels: {}, value: h.sum })
  out.push({ metricName: `${name}_count`, labels: {}, value: h.count })
  return out
}
