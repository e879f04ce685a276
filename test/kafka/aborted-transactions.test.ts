// The read_committed filter against a model of the log: random logs of plain batches and of transactions of several
// producers, interleaved, committed or aborted; fetches from random offsets, handed the aborted-transaction list the
// broker sends for the fetched range. What passes the filter must be exactly the plain and committed records at or
// after the fetch offset.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { AbortedTransactions, IS_CONTROL_BATCH, IS_TRANSACTIONAL, type AbortedTransaction, type TransactionalBatch } from '../../src/kafka/aborted-transactions.ts'
import { Random } from '../../src/source/generator.ts'

interface LogBatch extends TransactionalBatch {
  readonly count: number
  /** Whether a read_committed reader sees its records. */
  readonly visible: boolean
}

const marker = (type: 0 | 1): Array<{ key: Uint8Array }> => [{ key: Uint8Array.of(0, 0, 0, type) }]

/** A random log and the aborted transactions in it (with their markers' offsets), as the broker keeps them. */
function randomLog (r: Random): { log: LogBatch[], aborted: Array<AbortedTransaction & { last: bigint }> } {
  const log: LogBatch[] = []
  const aborted: Array<AbortedTransaction & { last: bigint }> = []
  // Open transactions: producer id → first offset and the indexes of its data batches (visibility decided at the end).
  const open = new Map<bigint, { first: bigint, batches: number[] }>()
  let offset = 0n
  const push = (b: Omit<LogBatch, 'firstOffset' | 'lastOffsetDelta'>): number => {
    log.push({ ...b, firstOffset: offset, lastOffsetDelta: b.count - 1 })
    offset += BigInt(b.count)
    return log.length - 1
  }
  const end = (pid: bigint, commit: boolean): void => {
    const t = open.get(pid)!
    open.delete(pid)
    for (const i of t.batches) log[i] = { ...log[i]!, visible: commit }
    if (!commit) aborted.push({ producerId: pid, firstOffset: t.first, last: offset })
    push({ producerId: pid, attributes: IS_TRANSACTIONAL | IS_CONTROL_BATCH, records: marker(commit ? 1 : 0), count: 1, visible: false })
  }
  const steps = 5 + r.int(40)
  for (let s = 0; s < steps; s++) {
    const pid = BigInt(1 + r.int(3))
    const action = r.int(4)
    if (action === 0) {
      // An idempotent but not transactional producer has an id too; plain records are always seen.
      push({ producerId: r.int(2) === 0 ? -1n : 7n, attributes: 0, records: [], count: 1 + r.int(5), visible: true })
    } else if (action === 3 && open.has(pid)) {
      end(pid, r.int(2) === 0)
    } else {
      if (!open.has(pid)) open.set(pid, { first: offset, batches: [] })
      open.get(pid)!.batches.push(push({ producerId: pid, attributes: IS_TRANSACTIONAL, records: [], count: 1 + r.int(5), visible: false }))
    }
  }
  for (const pid of [...open.keys()]) end(pid, r.int(2) === 0)
  return { log, aborted }
}

test('read_committed: from any fetch offset, exactly the plain and committed records pass (random logs of interleaved transactions)', () => {
  for (let seed = 1; seed <= 400; seed++) {
    const r = new Random(seed)
    const { log, aborted } = randomLog(r)
    const total = log.length === 0 ? 0n : log.at(-1)!.firstOffset + BigInt(log.at(-1)!.lastOffsetDelta) + 1n
    const from = BigInt(r.int(Number(total)))
    // The broker returns from the batch holding the fetch offset, up to some later batch (a size limit).
    const startAt = log.findIndex(b => b.firstOffset + BigInt(b.lastOffsetDelta) >= from)
    const fetched = log.slice(startAt, startAt + 1 + r.int(log.length))
    const lastFetched = fetched.at(-1)!.firstOffset + BigInt(fetched.at(-1)!.lastOffsetDelta)
    const list = aborted.filter(a => a.last >= from && a.firstOffset <= lastFetched).map(a => ({ producerId: a.producerId, firstOffset: a.firstOffset }))
    // The list's order is the broker's business: shuffle it.
    for (let i = list.length - 1; i > 0; i--) { const j = r.int(i + 1); [list[i], list[j]] = [list[j]!, list[i]!] }
    const filter = new AbortedTransactions(list)
    const seen: bigint[] = []
    const want: bigint[] = []
    for (const b of fetched) {
      const offsets = Array.from({ length: b.count }, (_, i) => b.firstOffset + BigInt(i)).filter(o => o >= from)
      if (!filter.skip(b)) seen.push(...offsets)
      if (b.visible) want.push(...offsets)
    }
    assert.deepEqual(seen, want, `seed ${seed}: fetch from ${from}`)
  }
})
