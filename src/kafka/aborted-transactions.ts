// read_committed for a client that reads record batches itself (the platformatic consumer): which fetched batches
// belong to aborted transactions. The broker does not filter them out: below the last stable offset it returns every
// batch, aborted ones included, with the list of the aborted transactions the fetched range touches (producer id and
// first offset, those begun before the fetch offset too). A consumer skips a transactional batch of a producer from the
// first offset of one of its aborted transactions up to that producer's ABORT marker — Kafka's own consumer does the
// same (KIP-98), per partition and per fetch response, since every response carries the list it needs.
//
// Control batches (the COMMIT/ABORT markers) hold no data for the user; they are skipped too, and their offsets
// consumed like any other.

/** Attribute bits of a record batch (Kafka's RecordBatch v2). */
export const IS_TRANSACTIONAL = 0x10
export const IS_CONTROL_BATCH = 0x20

/** The fields of a fetched record batch this filter reads. */
export interface TransactionalBatch {
  readonly firstOffset: bigint
  readonly lastOffsetDelta: number
  readonly producerId: bigint
  readonly attributes: number
  /** The control record's key (version int16, type int16: 0 ABORT, 1 COMMIT) on control batches. */
  readonly records: ReadonlyArray<{ readonly key: Uint8Array | null }>
}

export interface AbortedTransaction { readonly producerId: bigint, readonly firstOffset: bigint }

/** One partition of one fetch response; call skip() for every batch, in offset order. */
export class AbortedTransactions {
  readonly #pending: AbortedTransaction[]
  #next = 0
  /** Producers inside an aborted transaction at the current batch. */
  readonly #open = new Set<bigint>()

  constructor (aborted: readonly AbortedTransaction[]) {
    this.#pending = [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0))
  }

  /** true when the batch's records must not reach the user: a control batch, or an aborted transaction's data. */
  skip (b: TransactionalBatch): boolean {
    const last = b.firstOffset + BigInt(b.lastOffsetDelta)
    while (this.#next < this.#pending.length && this.#pending[this.#next]!.firstOffset <= last) this.#open.add(this.#pending[this.#next++]!.producerId)
    if ((b.attributes & IS_CONTROL_BATCH) !== 0) {
      if (isAbortMarker(b)) this.#open.delete(b.producerId)
      return true
    }
    return (b.attributes & IS_TRANSACTIONAL) !== 0 && this.#open.has(b.producerId)
  }
}

/** A control batch whose (single) record is an ABORT marker: key = version int16, type int16 = 0. */
function isAbortMarker (b: TransactionalBatch): boolean {
  const key = b.records[0]?.key
  return key !== null && key !== undefined && key.length >= 4 && key[2] === 0 && key[3] === 0
}
