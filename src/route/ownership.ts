// Who owns a key: the one rule every part of the engine uses to send a key's records and state to a worker.
//
//   key values ──hashKey──► 32-bit hash ──► worker = hash mod workers
//
// The hash is of the *typed* key values (route/hash.ts), never of raw bytes, so the main thread's key extraction,
// a worker evaluating the whole record, and a checkpoint restore that decodes stored key bytes all agree. Whole
// partitions are owned by daemons (Kafka's consumer group decides which); inside a daemon, keys are owned by
// workers (this rule). Changing the worker count moves keys between workers, which a restore handles by routing
// every restored entry through the same rule.

import { hashKey } from './hash.ts'

/** Most workers a daemon runs: a record's target workers travel as bits of one 32-bit mask. */
export const MAX_WORKERS = 31

/** The worker that owns the key with this hash. */
export function workerOfHash (hash: number, workers: number): number {
  return workers === 1 ? 0 : hash % workers
}

/** The worker that owns the key `values[from … from + count)` (the key columns in keyColumns order). */
export function workerOfKey (values: readonly unknown[], workers: number, from = 0, count = values.length - from): number {
  return workers === 1 ? 0 : hashKey(values, from, count) % workers
}

/**
 * The partition of a topic keyed by entity a key belongs in (what `tilekiln produce` and --repartition write).
 * The hash is re-mixed first: partition and worker both taken modulo from the same hash would correlate (with 4
 * partitions and 2 workers every key of partition 0 would go to worker 0), leaving workers idle in a daemon that
 * owns only some partitions.
 */
export function partitionOfKey (values: readonly unknown[], partitions: number, from = 0, count = values.length - from): number {
  if (partitions <= 1) return 0
  let h = hashKey(values, from, count)
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b)
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b)
  return ((h ^ (h >>> 16)) >>> 0) % partitions
}

/** The one-bit target mask of a key's owner. */
export function maskOfKey (values: readonly unknown[], workers: number, from = 0, count = values.length - from): number {
  return 1 << workerOfKey(values, workers, from, count)
}
