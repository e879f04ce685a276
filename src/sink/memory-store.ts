// A TileStore in memory: for tests (the engine's and yours) and for trying tilekiln out without a store. It keeps
// the whole TileStore contract (store.ts) — upserts, idempotent event appends, ordered reads, metadata, epochs,
// checkpoints, fencing, entries() — and nothing more: its fence is the contract's minimum (per entity key and
// partition, as Redis has it), so code that passes against it does not lean on the embedded store's stronger one.
//
// Faults, for tests of what sits in front of a store (the KvWriter): with `faults`, write requests (writeTiles,
// appendEvents) are applied one at a time in call order, each after its injected latency, and may fail before
// being applied, fail after (applied, but the acknowledgement is lost), or hang until resetConnection() — which
// fails every request not yet applied, as dropping a Redis connection does.

import { toHex } from '../codec/bytes.ts'
import { encodeEventKey } from '../codec/event-key.ts'
import { encodeTileKey } from '../codec/tile-key.ts'
import { TilekilnError } from '../errors.ts'
import type { EventPuts } from './event-puts.ts'
import type { PutBatch } from './put-batch.ts'
import { checkEpoch, checkPartition, MAX_KEY_BYTES, METADATA_PREFIX, type Fence, type KeyRanges, type StoredCheckpoint, type StoredEvent, type StoredTile, type TileStore, type WriteOutcome } from './store.ts'
import type { TilePuts } from './tile-puts.ts'

export type MemoryFault = 'before' | 'after' | 'hang'

export interface MemoryStoreFaults {
  /** How long the n-th write request (n counts from 1, in call order) takes before it is applied (ms). */
  readonly latencyMillis?: (n: number) => number
  /** What goes wrong with the n-th write request, if anything. */
  readonly fault?: (n: number) => MemoryFault | undefined
}

export interface MemoryStoreOptions {
  /** Largest entity key the store takes (default 65,535, the put batch format's own limit). */
  readonly maxKeyBytes?: number
  readonly faults?: MemoryStoreFaults
}

interface Request {
  readonly n: number
  readonly apply: () => WriteOutcome
  readonly resolve: (o: WriteOutcome) => void
  readonly reject: (e: unknown) => void
  timer: NodeJS.Timeout | undefined
}

const utf8 = new TextEncoder()

export class MemoryStore implements TileStore {
  readonly description = 'memory'
  readonly maxKeyBytes: number
  /** `dataset \0 hex(key) \0 tileSize` → tile start → latest event time and value */
  readonly #tiles = new Map<string, Map<number, { latest: number, value: Uint8Array }>>()
  /** `dataset \0 hex(key)` → `ts \0 hex(identity)` → event */
  readonly #events = new Map<string, Map<string, StoredEvent>>()
  readonly #meta = new Map<string, string>()
  /** `dataset \0 hex(key)` → `partition@scope` → highest epoch that wrote the entity */
  readonly #fences = new Map<string, Map<string, number>>()
  /** `scope \0 partition` → epoch, checkpoint */
  readonly #epochs = new Map<string, number>()
  readonly #checkpoints = new Map<string, StoredCheckpoint>()
  readonly #faults: MemoryStoreFaults | undefined
  readonly #queue: Request[] = []
  #busy = false
  /** Write requests received, and applied. */
  requests = 0
  applied = 0

  constructor (options: MemoryStoreOptions = {}) {
    this.maxKeyBytes = options.maxKeyBytes ?? MAX_KEY_BYTES
    this.#faults = options.faults
  }

  // ---- writes ------------------------------------------------------------------------------------------------

  async writeTiles (dataset: string, tileSizeMillis: number, puts: TilePuts, fence?: Fence): Promise<WriteOutcome> {
    this.#checkKeys(puts, dataset, 'tile')
    // Copied at the call: a request applied later (faults) must not depend on the caller keeping the batch.
    const entries = this.#copy(puts, i => puts.tileStart(i))
    const latest = entries.map((_, i) => puts.latest(i))
    return await this.#request(() => {
      const fenced = new Set<number>()
      const verdicts = new Map<string, boolean>()
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i]!
        const entity = `${dataset}\0${e.key}`
        const epoch = fence?.epochs.get(e.partition)
        if (epoch !== undefined) {
          const field = `${e.partition}@${fence!.scope}`
          let ok = verdicts.get(`${entity}\0${field}`)
          if (ok === undefined) {
            let f = this.#fences.get(entity)
            if (f === undefined) this.#fences.set(entity, f = new Map())
            const current = f.get(field)
            ok = current === undefined || current <= epoch
            if (ok) f.set(field, epoch)
            verdicts.set(`${entity}\0${field}`, ok)
          }
          if (!ok) { fenced.add(e.partition); continue }
        }
        const id = `${entity}\0${tileSizeMillis}`
        let m = this.#tiles.get(id)
        if (m === undefined) this.#tiles.set(id, m = new Map())
        m.set(e.time, { latest: latest[i]!, value: e.value })
      }
      return { fenced: [...fenced].sort((a, b) => a - b) }
    })
  }

  async appendEvents (dataset: string, events: EventPuts): Promise<void> {
    this.#checkKeys(events, dataset, 'event')
    const entries = this.#copy(events, i => events.tsMillis(i), i => events.identity(i).slice())
    await this.#request(() => {
      for (const e of entries) {
        const id = `${dataset}\0${e.key}`
        let m = this.#events.get(id)
        if (m === undefined) this.#events.set(id, m = new Map())
        m.set(`${e.time}\0${toHex(e.identity!)}`, { tsMillis: e.time, identity: e.identity!, value: e.value })
      }
      return { fenced: [] }
    })
  }

  #checkKeys (batch: PutBatch, dataset: string, what: string): void {
    const longest = batch.maxKeyLength()
    if (longest > this.maxKeyBytes) throw new TilekilnError('TK_STORE', `an entity key of ${longest} bytes cannot be stored: the memory store holds keys up to ${this.maxKeyBytes} bytes; nothing of this batch of ${batch.count} ${what}(s) was written`, { store: this.description, dataset, fatal: true })
  }

  #copy (batch: PutBatch, time: (i: number) => number, identity?: (i: number) => Uint8Array): { key: string, time: number, partition: number, value: Uint8Array, identity?: Uint8Array }[] {
    const out = []
    for (let i = 0; i < batch.count; i++) {
      out.push({ key: toHex(batch.key(i)), time: time(i), partition: batch.partition(i), value: batch.value(i).slice(), identity: identity?.(i) })
    }
    return out
  }

  /** Applies a write now, or (with faults) in turn after its latency, with its fault. */
  async #request (apply: () => WriteOutcome): Promise<WriteOutcome> {
    const n = ++this.requests
    if (this.#faults === undefined) {
      this.applied++
      return apply()
    }
    return await new Promise<WriteOutcome>((resolve, reject) => {
      this.#queue.push({ n, apply, resolve, reject, timer: undefined })
      this.#next()
    })
  }

  #next (): void {
    if (this.#busy || this.#queue.length === 0) return
    this.#busy = true
    const r = this.#queue[0]!
    const fault = this.#faults!.fault?.(r.n)
    if (fault === 'hang') return // until resetConnection()
    r.timer = setTimeout(() => {
      this.#queue.shift()
      this.#busy = false
      if (fault === 'before') {
        r.reject(new TilekilnError('TK_STORE', `memory store: injected failure of write request ${r.n} (not applied)`, { store: this.description }))
      } else {
        let outcome: WriteOutcome
        try {
          outcome = r.apply()
          this.applied++
        } catch (e) {
          r.reject(e)
          this.#next()
          return
        }
        if (fault === 'after') r.reject(new TilekilnError('TK_STORE', `memory store: injected failure of write request ${r.n} (applied, acknowledgement lost)`, { store: this.description }))
        else r.resolve(outcome)
      }
      this.#next()
    }, this.#faults!.latencyMillis?.(r.n) ?? 0)
  }

  /** Fails every write request not applied yet (a dropped connection). */
  resetConnection (): void {
    const dropped = this.#queue.splice(0)
    this.#busy = false
    for (const r of dropped) {
      clearTimeout(r.timer)
      r.reject(new TilekilnError('TK_STORE', `memory store: write request ${r.n} dropped with the connection (not applied)`, { store: this.description }))
    }
  }

  // ---- reads -------------------------------------------------------------------------------------------------

  async readTiles (dataset: string, keyBytes: Uint8Array, tileSizeMillis: number, fromMillis: number, toMillis: number): Promise<StoredTile[]> {
    const m = this.#tiles.get(`${dataset}\0${toHex(keyBytes)}\0${tileSizeMillis}`)
    if (m === undefined) return []
    return [...m].filter(([s]) => s >= fromMillis && s < toMillis).sort((a, b) => a[0] - b[0]).map(([tileStartMillis, v]) => ({ tileStartMillis, latestMillis: v.latest, value: v.value.slice() }))
  }

  async readTileRanges (dataset: string, reads: readonly KeyRanges[]): Promise<StoredTile[][][]> {
    return await Promise.all(reads.map(async r => await Promise.all(r.ranges.map(async g => await this.readTiles(dataset, r.keyBytes, g.tileSizeMillis, g.fromMillis, g.toMillis)))))
  }

  async readEvents (dataset: string, keyBytes: Uint8Array, fromMillis: number, toMillis: number): Promise<StoredEvent[]> {
    const m = this.#events.get(`${dataset}\0${toHex(keyBytes)}`)
    if (m === undefined) return []
    return [...m.values()].filter(e => e.tsMillis >= fromMillis && e.tsMillis < toMillis)
      .sort((a, b) => a.tsMillis - b.tsMillis || Buffer.compare(a.identity, b.identity))
      .map(e => ({ tsMillis: e.tsMillis, identity: e.identity.slice(), value: e.value.slice() }))
  }

  async putMetadata (name: string, value: string): Promise<void> { this.#meta.set(name, value) }
  async getMetadata (name: string): Promise<string | undefined> { return this.#meta.get(name) }

  // ---- scale-out bookkeeping ---------------------------------------------------------------------------------

  async acquireEpoch (scope: string, partition: number): Promise<number> {
    checkPartition(partition)
    const k = `${scope}\0${partition}`
    const e = (this.#epochs.get(k) ?? 0) + 1
    this.#epochs.set(k, e)
    return e
  }

  async readCheckpoint (scope: string, partition: number): Promise<StoredCheckpoint | null> {
    checkPartition(partition)
    const c = this.#checkpoints.get(`${scope}\0${partition}`)
    return c === undefined ? null : { epoch: c.epoch, bytes: c.bytes.slice() }
  }

  async writeCheckpoint (scope: string, partition: number, epoch: number, bytes: Uint8Array): Promise<boolean> {
    checkPartition(partition)
    checkEpoch(epoch)
    const k = `${scope}\0${partition}`
    if (this.#epochs.get(k) !== epoch) return false
    this.#checkpoints.set(k, { epoch, bytes: bytes.slice() })
    return true
  }

  async checkpointPartitions (scope: string): Promise<number[]> {
    const out: number[] = []
    for (const k of this.#checkpoints.keys()) {
      const zero = k.lastIndexOf('\0')
      if (k.slice(0, zero) === scope) out.push(Number(k.slice(zero + 1)))
    }
    return out.sort((a, b) => a - b)
  }

  // ---- everything --------------------------------------------------------------------------------------------

  async * entries (): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    for (const [name, value] of this.#meta) yield [utf8.encode(METADATA_PREFIX + name), utf8.encode(value)]
    for (const [id, m] of this.#tiles) {
      const [dataset, key, size] = id.split('\0') as [string, string, string]
      const keyBytes = new Uint8Array(Buffer.from(key, 'hex'))
      for (const [tileStartMillis, v] of m) yield [encodeTileKey({ dataset, keyBytes, tileSizeMillis: Number(size), tileStartMillis }), v.value.slice()]
    }
    for (const [id, m] of this.#events) {
      const [dataset, key] = id.split('\0') as [string, string]
      const keyBytes = new Uint8Array(Buffer.from(key, 'hex'))
      for (const e of m.values()) yield [encodeEventKey({ dataset, keyBytes, tsMillis: e.tsMillis, identity: e.identity }), e.value.slice()]
    }
  }

  async flushed (): Promise<void> {}
  async close (): Promise<void> { this.resetConnection() }
}
