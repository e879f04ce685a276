// Counters and latency histograms, named as Chronon names them (§5.6) where Chronon has the metric, exposed in
// Prometheus text format. Histograms are HdrHistograms recorded per batch with a count (never per event).

import * as hdr from 'hdr-histogram-js'

export interface HistogramSummary { count: number, p50: number, p99: number, p999: number, max: number, mean: number }

export class Metrics {
  readonly groupBy: string
  readonly #counters = new Map<string, number>()
  readonly #gauges = new Map<string, number>()
  /** Gauges per partition: name → partition → value. */
  readonly #partitionGauges = new Map<string, Map<number, number>>()
  readonly #histograms = new Map<string, hdr.Histogram>()
  readonly #help = new Map<string, string>()

  constructor (groupBy: string) {
    this.groupBy = groupBy
  }

  inc (name: string, by = 1): void {
    this.#counters.set(name, (this.#counters.get(name) ?? 0) + by)
  }

  set (name: string, value: number): void {
    this.#gauges.set(name, value)
  }

  /** A gauge of one source partition (exposed with a `partition` label). */
  setPartition (name: string, partition: number, value: number): void {
    let m = this.#partitionGauges.get(name)
    if (m === undefined) { m = new Map(); this.#partitionGauges.set(name, m) }
    m.set(partition, value)
  }

  /** Forgets a partition's gauges (it moved to another daemon). */
  dropPartition (partition: number): void {
    for (const m of this.#partitionGauges.values()) m.delete(partition)
  }

  partitionGauge (name: string, partition: number): number | undefined {
    return this.#partitionGauges.get(name)?.get(partition)
  }

  counter (name: string): number { return this.#counters.get(name) ?? 0 }
  gauge (name: string): number { return this.#gauges.get(name) ?? 0 }

  describe (name: string, help: string): void { this.#help.set(name, help) }

  /** Records `count` observations of `value` (milliseconds) at once. */
  record (name: string, value: number, count = 1): void {
    let h = this.#histograms.get(name)
    if (h === undefined) {
      h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 24 * 3600 * 1000, numberOfSignificantValueDigits: 3 })
      this.#histograms.set(name, h)
    }
    const v = Math.max(1, Math.min(Math.round(value), 24 * 3600 * 1000))
    h.recordValueWithCount(v, count)
  }

  summary (name: string): HistogramSummary {
    const h = this.#histograms.get(name)
    if (h === undefined || h.totalCount === 0) return { count: 0, p50: 0, p99: 0, p999: 0, max: 0, mean: 0 }
    return {
      count: h.totalCount,
      p50: h.getValueAtPercentile(50),
      p99: h.getValueAtPercentile(99),
      p999: h.getValueAtPercentile(99.9),
      max: h.maxValue,
      mean: h.mean
    }
  }

  /** Prometheus text exposition (version 0.0.4). Dots in Chronon names become underscores. */
  prometheus (): string {
    const label = `feature_group="${this.groupBy.replace(/["\\\n]/g, '_')}"`
    const lines: string[] = []
    const name = (n: string): string => `tilekiln_${n.replace(/[^a-zA-Z0-9_]/g, '_')}`
    for (const [n, v] of [...this.#counters].sort()) {
      const m = name(n)
      lines.push(`# HELP ${m} ${this.#help.get(n) ?? n}`, `# TYPE ${m} counter`, `${m}{${label}} ${v}`)
    }
    for (const [n, v] of [...this.#gauges].sort()) {
      const m = name(n)
      lines.push(`# HELP ${m} ${this.#help.get(n) ?? n}`, `# TYPE ${m} gauge`, `${m}{${label}} ${v}`)
    }
    for (const [n, byPartition] of [...this.#partitionGauges].sort()) {
      const m = name(n)
      lines.push(`# HELP ${m} ${this.#help.get(n) ?? n}`, `# TYPE ${m} gauge`)
      for (const [p, v] of [...byPartition].sort((a, b) => a[0] - b[0])) lines.push(`${m}{${label},partition="${p}"} ${Number.isFinite(v) ? v : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN'}`)
    }
    for (const [n] of [...this.#histograms].sort()) {
      const m = name(n)
      const s = this.summary(n)
      lines.push(`# HELP ${m} ${this.#help.get(n) ?? n}`, `# TYPE ${m} summary`)
      for (const [q, v] of [['0.5', s.p50], ['0.99', s.p99], ['0.999', s.p999]] as const) lines.push(`${m}{${label},quantile="${q}"} ${v}`)
      lines.push(`${m}_count{${label}} ${s.count}`, `${m}_sum{${label}} ${s.mean * s.count}`)
    }
    return lines.join('\n') + '\n'
  }
}

/** Metric names used across the engine. */
export const M = {
  recordsIn: 'records_in',
  rows: 'rows_aggregated',
  filtered: 'rows_filtered',
  lateEvents: 'tiling.late_events',
  deadLetters: 'dead_letters',
  decodeErrors: 'deserialization_errors',
  exprErrors: 'spark_expr_eval_errors',
  /** Histogram, microseconds: one record's selects + wheres + timeColumn, sampled (1 record in 1024 per worker). */
  exprEvalTime: 'spark_expr_eval_time',
  inputErrors: 'event_processing_error',
  kvSuccesses: 'kvstore_writer.successes',
  kvErrors: 'kvstore_writer.errors',
  tilesClosed: 'tiles_closed',
  latency: 'event_to_store_latency_ms',
  watermark: 'watermark_ms',
  liveEntries: 'live_tile_entries',
  liveKeys: 'live_keys',
  stateBytes: 'state_bytes',
  queuedPuts: 'kv_queued_puts',
  commitFailures: 'offset_commit_failures',
  deadLetterFlushFailures: 'dead_letter_flush_failures',
  checkpoints: 'checkpoints',
  checkpointBytes: 'checkpoint_bytes_written',
  /** Tile and checkpoint writes refused because another daemon took the partition over (this one was a zombie). */
  fencedWrites: 'fenced_writes',
  /** Rows whose entity key lives in another partition: the topic is not keyed by the entity (use --repartition). */
  crossPartitionRows: 'cross_partition_rows',
  rebalances: 'partitions_assigned',
  revocations: 'partitions_revoked',
  /** Histogram, ms: assignment of a partition → ready to read (epoch, checkpoint load, restore, rewrite). */
  handover: 'partition_handover_ms',
  /** Histogram, ms: assignment of a partition → the tiles of its first records written (the pause a move causes). */
  firstWrite: 'partition_first_write_ms',
  restoredBytes: 'checkpoint_bytes_restored',
  /** Records of a repartitioned topic dropped as replays of the shuffle stage. */
  shuffleDuplicates: 'shuffle_duplicates_dropped',
  ownedPartitions: 'owned_partitions',
  // per partition (label `partition`)
  partitionLag: 'partition_lag_records',
  partitionWatermark: 'partition_watermark_ms',
  partitionEpoch: 'partition_epoch',
  partitionRecords: 'partition_records_in'
} as const
