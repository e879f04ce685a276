// The default store: LMDB through the `lmdb` package, embedded in the process, no server. Chosen because it
// installs from npm alone (prebuilt binaries ship as optional dependencies), was the fastest embedded KV measured
// here (≈0.44 M upserts/s), commits in a background thread, and lets other processes read while we write
// (`tilekiln fetch` and `tilekiln serve` open the same directory) — or write too: LMDB serialises write
// transactions across processes, so several daemons on one host may share a store.
//
// Physical layout, chosen so one key's tiles (or events) are one ordered range. Tiles and events share the head
//   head  = u32 BE dataset id | u16 BE key length | entity key bytes
// where the id is the dataset's number in database `datasets` (below), and differ in the tail:
//   database `tiles`:  head | u64 BE tile size | i64 BE tile start (sign bit flipped, so negative starts sort first)
//                      → i64 BE latest event time (the time of the last event folded into the tile, plain two's
//                      complement) ‖ the Avro tile record. entries() turns these keys back into Zipline TileKey bytes
//                      and reports the tile record alone. (Stores written before the latest time was kept, with the
//                      bare tile record as value, are not readable by this version.)
//   database `events`: head | i64 BE event time (sign bit flipped) | 16-byte row identity (partition, position, row
//                      index) → the Avro `{cleanName}_INPUT_COLS` record. With the dataset's name in place of its id
//                      (and a 0x00 after it) this is the event key of codec/event-key.ts, what entries() reports. The
//                      identity makes an append idempotent: a replayed event rewrites its own entry with the same bytes.
//   database `datasets`: dataset UTF-8 → u32 BE id, numbered from 1 in order of first write, inside a write
//                      transaction (LMDB runs one at a time across every process of the store, so two daemons never
//                      give one dataset two ids). Ids are never reused or changed.
//   database `meta`:   name → the serving info (JSON).
//   database `format`: `layout` → the layout version of this file (LAYOUT_VERSION), checked on every open, so a store
//                      of another layout is refused with a message instead of being read wrongly.
//
// Why ids (layout 3): layout 2 began every key with the dataset's name (a Chronon streaming dataset is tens of
// bytes: EXAMPLES_CLICKS_V1_STREAMING is 28), the larger part of a tile's key. Tile writes are random-key upserts
// that rewrite most leaf pages on every commit, and LMDB keeps about three to four versions of the tree (the
// current one, the one being written, the pages the last commit freed, a flushing one), so the file's resident pages
// grow with the tree: with the 4-byte id, `bench engine` (100,000 keys, uniform) keeps 38 MB of the file resident
// instead of 54, and commits copy and compare less (README, Benchmarks). A writer that opens a layout-2 store
// upgrades it in place, in transactions of RENUMBER_CHUNK entries, marked `migrating:3` meanwhile (readers wait for
// the end; a writer that finds the mark, after a crash, carries on); readers read a layout-2 store as it is.
// Scale-out bookkeeping (never in entries()), keyed by P = u16 BE scope length | scope UTF-8 | u32 BE partition:
//   database `epochs` (lmdb-js versions): P → empty value whose *version* is the current epoch of (scope, partition).
//                      acquireEpoch raises it inside a write transaction, which LMDB serialises across processes.
//   database `checkpoints`: P → 8-byte BE epoch it was written under ‖ the checkpoint bytes.
//
// Fencing is per partition and exact: the puts of a fenced partition go in an lmdb-js `ifVersion(P, epoch)` block,
// which the write thread checks inside the commit transaction — so a zombie's write lands before a newer epoch was
// acquired or not at all (all of that partition's puts in the call, never some). Its stronger than the store
// contract asks (refusal from the moment a newer epoch exists, not only after the new owner wrote the key).
//
// Key size: LMDB (as built by lmdb-js) holds keys up to 1,978 bytes. The longest physical key is an event's, head +
// 24 bytes, so with datasets of at most MAX_DATASET_BYTES (255) an entity key may have 1,978 − 255 − 3 − 24 = 1,696
// bytes (`maxKeyBytes`). A batch with a longer key or dataset is refused whole, before anything is written.
//
// Failures: a commit that fails because the file system is full (ENOSPC, EDQUOT, LMDB's MAP_FULL, or an I/O error
// with less than a megabyte left) is a fatal TK_STORE_FULL naming the directory; any other commit failure is a
// fatal TK_STORE. LMDB commits a transaction whole or not at all, so everything acknowledged before stays.

import { existsSync, statfsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { open, type Database, type RootDatabase } from 'lmdb'
import { IDENTITY_BYTES, readI64BE, writeI64BE } from '../codec/event-key.ts'
import { encodeTileKey } from '../codec/tile-key.ts'
import { TilekilnError } from '../errors.ts'
import { faultPoint } from '../faults.ts'
import type { EventPuts } from './event-puts.ts'
import { keyOrder } from './key-order.ts'
import type { PutBatch } from './put-batch.ts'
import { checkEpoch, checkPartition, METADATA_PREFIX, type Fence, type KeyRanges, type StoredCheckpoint, type StoredEvent, type StoredTile, type TileStore, type WriteOutcome } from './store.ts'
import type { TilePuts } from './tile-puts.ts'

const utf8 = new TextEncoder()
const utf8d = new TextDecoder()

/** lmdb-js's key limit (its LMDB build's MDB_MAXKEYSIZE). */
export const LMDB_MAX_KEY_BYTES = 1978
/** Longest dataset name the embedded store takes (Chronon's are tens of bytes). */
export const MAX_DATASET_BYTES = 255
/** The longest tail after the entity key: an event's time and identity (a tile's is 16 bytes). */
const MAX_TAIL = 8 + IDENTITY_BYTES
export const EMBEDDED_MAX_KEY_BYTES = LMDB_MAX_KEY_BYTES - MAX_DATASET_BYTES - 3 - MAX_TAIL
/** Longest scope: its key is u16 length | scope | u32 partition. */
const MAX_SCOPE_BYTES = LMDB_MAX_KEY_BYTES - 6
/** Below this many free bytes an I/O error while committing is taken for a full disk. */
const FULL_DISK_BYTES = 1 << 20
/**
 * LMDB page size of a store this version creates (a store keeps the page size it was made with; LMDB reads it from
 * the file, so stores of either size open alike). Tile writes are random-key upserts, so a commit copies and writes
 * every leaf page it touches and tracks each in its dirty list (a sorted array: LMDB's mdb_mid2l_insert, ~6 % of the
 * process's CPU with 4 KiB pages). 16 KiB pages hold four times the tiles: a quarter of the pages to touch, sort and
 * search per commit, one level less of the tree, and sketch tiles of up to ~8 KB stay inline instead of on overflow
 * pages. Measured (README, Benchmarks): 4 KiB → 16 KiB, 2 workers on uniform keys, 3 pairs, LMDB's threads 3.80 /
 * 3.34 / 3.09 → 2.66 / 2.37 / 2.86 CPU-s and events/s +28 / +21 / +6 %; reads no slower.
 */
export const LMDB_PAGE_BYTES = 16384

const EMPTY = Buffer.alloc(0)
/** The key every write-path put passes: its bytes come from the key encoder (EmbeddedStore #keyEncoder). */
const PUT_KEY = Object.freeze({ putKey: true })

/**
 * lmdb-js prints a failed commit's error with console.error from its write thread's callback (write.js) before it
 * rejects the writes; we report the same error ourselves, as a TilekilnError naming the store (#commitError), so its
 * raw stack trace is dropped — that print and nothing else.
 */
let quietLmdb = false
function silenceLmdbCommitPrints (): void {
  if (quietLmdb) return
  quietLmdb = true
  const print = console.error.bind(console)
  console.error = (...args: unknown[]): void => {
    const e = args[0]
    if (args.length === 1 && e instanceof Error && typeof (e as { code?: unknown }).code === 'number' && /[\\/]lmdb[\\/]write\.js/.test(e.stack ?? '')) return
    print(...args)
  }
}

/** What the write path uses of an lmdb-js database handle whose keys come from #keyEncoder. */
interface WriteHandle {
  put (key: typeof PUT_KEY, value: Buffer): Promise<boolean>
}

/** Writes the physical key's tail after the head for put i; returns the key's end. */
type Tail = (buf: Buffer, at: number, i: number) => number

/**
 * A buffer whose value for lmdb-js is bytes `start`..`end` of its ArrayBuffer (not of the view): how lmdb-js's own
 * encoders hand it values without a buffer each. lmdb-js records the address when put() is called and reads the bytes
 * at commit, so the buffer must stay unchanged until the write resolves (the writer keeps the batch until then).
 */
type ValueView = Buffer & { start?: number, end?: number }

/**
 * The layout of this file's databases (see the header): 1 = bare tile records as values, 2 = latest event time ‖
 * record, keys headed by the dataset's name; 3 = keys headed by the dataset's id.
 */
export const LAYOUT_VERSION = 3
/** The layout-2 key head ends with this byte; a layout-3 key starts with it (ids below 2^24). */
const NAME_END = 0x00
/** Entries moved per transaction when a writer upgrades a layout-2 store. */
const RENUMBER_CHUNK = 10_000
/** The mark of a store being upgraded (readers refuse it until the writer is done). */
const MIGRATING = `migrating:${LAYOUT_VERSION}`

/** Event times a version-2 value may start with: 1900 to 2300 (a bare Avro tile record practically never does). */
const PLAUSIBLE_MILLIS = [-2_208_988_800_000, 10_413_792_000_000] as const
function startsWithEventTime (value: Buffer): boolean {
  if (value.length < 9) return false
  const t = Number(value.readBigInt64BE(0))
  return t >= PLAUSIBLE_MILLIS[0] && t <= PLAUSIBLE_MILLIS[1]
}

export class EmbeddedStore implements TileStore {
  readonly description: string
  readonly maxKeyBytes = EMBEDDED_MAX_KEY_BYTES
  readonly #path: string
  readonly #readOnly: boolean
  readonly #env: RootDatabase
  readonly #tiles: Database<Buffer, Buffer>
  readonly #meta: Database<string, string>
  /** Opened late when missing: a read-only store sees them once a writer created them. */
  #eventsDb: Database<Buffer, Buffer> | undefined
  #epochsDb: Database<Buffer, Buffer> | undefined
  #checkpointsDb: Database<Buffer, Buffer> | undefined
  #scratch = Buffer.alloc(512)
  /**
   * Write handles of `tiles` and `events` whose key encoder (lmdb-js's documented `keyEncoder`) writes the physical
   * key of the put being issued straight into lmdb-js's instruction buffer: no key buffer per put, one copy. The put
   * is described by the #put* fields, set just before each `put` (lmdb-js calls writeKey synchronously inside it).
   */
  #tilesW: WriteHandle | undefined
  #eventsW: WriteHandle | undefined
  #putHead: Uint8Array = EMPTY
  #putBytes: Uint8Array = EMPTY
  #putTail: Tail = (_buf, at) => at
  #putIndex = 0
  #putKeyAt = 0
  #putKeyLen = 0
  /** Commits are flushed to disk as they happen (else only by flushed(): the 'checkpoint' sync mode). */
  readonly #syncOnCommit: boolean
  /** A commit failed: LMDB's write thread may never settle what is still queued (close() must not wait for it). */
  #broken = false
  /** Per dataset, the constant start of its physical keys: its u32 BE id (layout 3), or its name and 0x00 (2). */
  readonly #heads = new Map<string, Uint8Array>()
  /** The layout of this store's keys: 3, or 2 for a store read-only that no writer has upgraded yet. */
  #layout = LAYOUT_VERSION
  #datasetsDb: Database<Buffer, Buffer> | undefined

  /**
   * `sync`: 'commit' (default) — every commit is flushed to disk (lmdb-js's overlapping sync: a commit waits for the
   * flush of the one before it); 'checkpoint' — commits are not flushed (LMDB's NOSYNC), and flushed() (which every
   * checkpoint, the end of a run and every epoch and checkpoint write wait for) syncs the whole store, and LMDB writes
   * into its memory map (WRITEMAP: no copy of each dirty page and no write() of it at commit; at 170,000 random-key
   * tiles/s the writing stage's p99 fell 56–74 → 9–22 ms). Tiles become
   * visible sooner (measured: 2,500-put commits 23–31 ms → 7–14 ms); what a machine crash (not a process crash) can
   * lose is at most what the last checkpoint did not cover, which the restart replays — but LMDB's integrity after
   * an OS crash then relies on the file system keeping write order (LMDB's MDB_NOSYNC). Every process writing one
   * store must use the same mode (lmdb-js refuses to mix them).
   */
  constructor (path: string, options: { readOnly?: boolean, sync?: 'commit' | 'checkpoint' } = {}) {
    this.description = `embedded:${path}`
    this.#path = path
    silenceLmdbCommitPrints()
    this.#readOnly = options.readOnly === true
    this.#syncOnCommit = options.sync !== 'checkpoint' || this.#readOnly
    // Readers (fetch, serve, dump) must find a store: opening a missing one read-only would make an empty directory
    // and answer "no tiles", which hides a wrong path.
    if (this.#readOnly && !existsSync(join(path, 'data.mdb'))) {
      throw new TilekilnError('TK_STORE', `there is no embedded store at ${path}${existsSync(path) ? ' (the directory has no data.mdb)' : ' (no such directory)'}: check the path, or run the engine into it first (tilekiln run --store embedded:${path})`, { store: path })
    }
    try {
      // noSubdir: false — lmdb-js takes a path with an extension (`mktemp -d` makes `tmp.Xy12ab`) for a file name.
      this.#env = open({ path, maxDbs: 16, readOnly: this.#readOnly, compression: false, mapSize: 1 << 30, noSubdir: false, pageSize: LMDB_PAGE_BYTES, ...(this.#syncOnCommit ? {} : { noSync: true, useWritemap: true }) })
    } catch (e) {
      throw new TilekilnError('TK_STORE', `cannot open the embedded store at ${path}: ${(e as Error).message}`, { store: path }, { cause: e })
    }
    this.#tiles = this.#env.openDB<Buffer, Buffer>({ name: 'tiles', keyEncoding: 'binary', encoding: 'binary' })
    this.#meta = this.#env.openDB<string, string>({ name: 'meta', encoding: 'string' })
    this.#eventsDb = this.#open('events', false)
    this.#epochsDb = this.#open('epochs', true)
    this.#checkpointsDb = this.#open('checkpoints', false)
    this.#datasetsDb = this.#open('datasets', false)
    try {
      this.#checkLayout()
    } catch (e) {
      // A refused store is left closed: opening it again in this process (after a writer fixed it) must start afresh.
      this.#env.close().catch(() => {})
      throw e
    }
    if (!this.#readOnly) {
      this.#tilesW = this.#writeHandle('tiles')
      this.#eventsW = this.#writeHandle('events')
    }
  }

  /**
   * Refuses a store whose tile values are laid out otherwise than this version reads them. The mark is written when
   * a writer opens a store that has none: an empty store, or one whose tile values already have this layout (stores
   * made between the layout change and the mark: their first value starts with a plausible i64 event time).
   */
  #checkLayout (): void {
    let format: Database<string, string> | undefined
    try {
      format = this.#env.openDB<string, string>({ name: 'format', encoding: 'string' }) ?? undefined
    } catch {
      format = undefined // read-only, and no writer made it yet
    }
    const marked = format?.get('layout')
    if (marked === String(LAYOUT_VERSION)) return
    if (marked === MIGRATING && this.#readOnly) {
      throw new TilekilnError('TK_STORE', `the embedded store at ${this.#path} is being upgraded to layout ${LAYOUT_VERSION} by a writer (tilekiln run): try again once it has started (or, if no writer is running, after the next one opened it)`, { store: this.#path, fatal: true })
    }
    if (marked !== undefined && marked !== '2' && marked !== MIGRATING) {
      throw new TilekilnError('TK_STORE', `the embedded store at ${this.#path} has layout ${marked}, this tilekiln reads layout ${LAYOUT_VERSION}: use the tilekiln version that wrote it, or run into a new directory and replay the source`, { store: this.#path, fatal: true })
    }
    if (marked === undefined) {
      let firstValue: Buffer | undefined
      for (const { value } of this.#tiles.getRange({ limit: 1 })) firstValue = value
      if (firstValue !== undefined && !startsWithEventTime(firstValue)) {
        throw new TilekilnError('TK_STORE', `the embedded store at ${this.#path} was written by an earlier tilekiln (its tile values are bare tile records, without the latest event time this version keeps before each): run into a new directory and replay the source`, { store: this.#path, fatal: true })
      }
      // Unmarked: empty, or layout 2 from before the mark existed (its values start with an event time).
      if (firstValue === undefined && [...(this.#events()?.getRange({ limit: 1 }) ?? [])].length === 0) {
        if (!this.#readOnly && format !== undefined) format.putSync('layout', String(LAYOUT_VERSION))
        return
      }
    }
    // Layout 2 (or an upgrade a crash interrupted).
    if (this.#readOnly || format === undefined) {
      this.#layout = 2
      return
    }
    this.#upgradeToIds(format)
  }

  /**
   * Layout 2 → 3 in place: every tile and event key's dataset name becomes its id, RENUMBER_CHUNK entries per write
   * transaction, so a store of any size upgrades without one huge transaction and a crash loses no work (the
   * entries moved are moved; layout-2 keys are those not starting with 0x00). The mark says `migrating:3` meanwhile.
   */
  #upgradeToIds (format: Database<string, string>): void {
    format.putSync('layout', MIGRATING)
    const names = this.#datasets()!
    for (const db of [this.#tiles, this.#events()]) {
      if (db === undefined) continue
      for (;;) {
        const moved = this.#env.transactionSync(() => {
          // Read inside the transaction: another writer may be upgrading (or writing) this store too.
          // Layout-2 keys start with a dataset name's first byte (not 0x00): all of them sort after every id key.
          const chunk = [...db.getRange({ start: Buffer.from([NAME_END + 1]), limit: RENUMBER_CHUNK })]
          for (const { key, value } of chunk) {
            const end = key.indexOf(NAME_END)
            if (end <= 0) throw new TilekilnError('TK_STORE', `the embedded store at ${this.#path} has a key of layout 2 without its dataset's end (${key.subarray(0, 40).toString('hex')}…): it cannot be upgraded; run into a new directory and replay the source`, { store: this.#path, fatal: true })
            db.putSync(Buffer.concat([this.#idIn(names, key.subarray(0, end).toString('utf8')), key.subarray(end + 1)]), value)
            db.removeSync(key)
          }
          return chunk.length
        }) as number
        if (moved === 0) break
      }
    }
    format.putSync('layout', String(LAYOUT_VERSION))
  }

  /**
   * The id of `dataset` as stored — its 4 bytes, the head of its keys —, given it one if it has none (inside a write
   * transaction: LMDB serialises them).
   */
  #idIn (names: Database<Buffer, Buffer>, dataset: string): Buffer {
    const key = Buffer.from(utf8.encode(dataset))
    const have = names.get(key)
    if (have !== undefined && have !== null) return have
    if (key.length > MAX_DATASET_BYTES) throw new TilekilnError('TK_STORE', `dataset '${dataset.slice(0, 40)}…' is ${key.length} bytes; the embedded store takes at most ${MAX_DATASET_BYTES}`, { store: this.description, fatal: true })
    if (key.length === 0 || key.includes(NAME_END)) throw new TilekilnError('TK_STORE', `a dataset name must be non-empty and without NUL characters: ${JSON.stringify(dataset.slice(0, 40))}`, { store: this.description, fatal: true })
    let last = 0
    for (const { value } of names.getRange({})) last = Math.max(last, value.readUInt32BE(0))
    if (last + 1 >= 1 << 24) throw new TilekilnError('TK_STORE', `the embedded store at ${this.#path} has ${last} datasets, the most it numbers`, { store: this.description, fatal: true })
    const id = Buffer.allocUnsafe(4)
    id.writeUInt32BE(last + 1, 0)
    names.putSync(key, id)
    return id
  }

  /** A handle of database `name` for writes only, keyed by #keyEncoder (lmdb's type declarations lack the option). */
  #writeHandle (name: string): WriteHandle {
    const options: object = { name, encoding: 'binary', keyEncoder: this.#keyEncoder() }
    return this.#env.openDB(options as { name: string }) as unknown as WriteHandle
  }

  /** Writes the physical key of the put described by the #put* fields at `start` of lmdb-js's buffer. */
  #keyEncoder (): { writeKey: (key: unknown, target: Buffer, start: number) => number, readKey: (source: Buffer, start: number, end: number) => Buffer } {
    return {
      writeKey: (_key, target, start) => {
        const head = this.#putHead
        target.set(head, start)
        let at = start + head.length
        const len = this.#putKeyLen
        target[at++] = len >>> 8
        target[at++] = len & 0xff
        // lmdb-js leaves room for its largest key after `start`, and #write checked the key length against it.
        const src = this.#putBytes
        const from = this.#putKeyAt
        for (let j = 0; j < len; j++) target[at + j] = src[from + j]!
        return this.#putTail(target, at + len, this.#putIndex)
      },
      // Reads go through the plain binary handles; a key read here is a copy, like theirs.
      readKey: (source, start, end) => Buffer.from(source.subarray(start, end))
    }
  }

  #open (name: string, useVersions: boolean): Database<Buffer, Buffer> | undefined {
    try {
      return this.#env.openDB<Buffer, Buffer>({ name, keyEncoding: 'binary', encoding: 'binary', useVersions }) ?? undefined
    } catch {
      return undefined // read-only, and no writer made it yet
    }
  }

  #events (): Database<Buffer, Buffer> | undefined { return (this.#eventsDb ??= this.#open('events', false)) }
  #epochs (): Database<Buffer, Buffer> | undefined { return (this.#epochsDb ??= this.#open('epochs', true)) }
  #checkpoints (): Database<Buffer, Buffer> | undefined { return (this.#checkpointsDb ??= this.#open('checkpoints', false)) }
  #datasets (): Database<Buffer, Buffer> | undefined { return (this.#datasetsDb ??= this.#open('datasets', false)) }

  #readOnlyError (what: string, dataset?: string): TilekilnError {
    return new TilekilnError('TK_STORE', `cannot ${what}: the store was opened read-only`, { store: this.description, dataset, fatal: true })
  }

  /** The head of `dataset`'s keys for a write: its id, given one at its first write. */
  #headForWrite (dataset: string): Uint8Array {
    let h = this.#heads.get(dataset)
    if (h === undefined) {
      const names = this.#datasets()!
      // Once per dataset and process: a short synchronous write transaction (it may wait for a commit under way).
      h = new Uint8Array(this.#env.transactionSync(() => this.#idIn(names, dataset)) as Buffer)
      this.#heads.set(dataset, h)
    }
    return h
  }

  /** The head of `dataset`'s keys for a read, or null when it has none yet (nothing of it was ever written). */
  #headForRead (dataset: string): Uint8Array | null {
    let h = this.#heads.get(dataset)
    if (h !== undefined) return h
    if (this.#layout === 2) {
      const ds = utf8.encode(dataset)
      h = new Uint8Array(ds.length + 1)
      h.set(ds)
      h[ds.length] = NAME_END
    } else {
      // Not remembered when missing: a writer in another process may give it an id later.
      const id = this.#datasets()?.get(Buffer.from(utf8.encode(dataset)))
      if (id === undefined || id === null) return null
      h = new Uint8Array(id)
    }
    this.#heads.set(dataset, h)
    return h
  }

  /** Writes head | u16 key length | key into the scratch buffer (room for `tail` more bytes); returns its end. */
  #writeHead (head: Uint8Array, src: Uint8Array, keyAt: number, keyLen: number, tail: number): number {
    const need = head.length + 2 + keyLen + tail
    if (this.#scratch.length < need) this.#scratch = Buffer.alloc(need * 2)
    const buf = this.#scratch
    buf.set(head, 0)
    let at = head.length
    buf[at++] = keyLen >>> 8
    buf[at++] = keyLen & 0xff
    for (let i = 0; i < keyLen; i++) buf[at + i] = src[keyAt + i]!
    return at + keyLen
  }

  // (#writeHead may replace the scratch buffer: read this.#scratch only after it returned.)

  #tileKey (head: Uint8Array, src: Uint8Array, keyAt: number, keyLen: number, tileSize: number, tileStart: number): number {
    const end = this.#writeHead(head, src, keyAt, keyLen, 16)
    return writeI64BE(this.#scratch, writeI64BE(this.#scratch, end, tileSize, false), tileStart, true)
  }

  /** An event key without identity when `identityAt` < 0 (a range bound). */
  #eventKey (head: Uint8Array, src: Uint8Array, keyAt: number, keyLen: number, ts: number, identityAt: number): number {
    const end = this.#writeHead(head, src, keyAt, keyLen, 8 + IDENTITY_BYTES)
    const at = writeI64BE(this.#scratch, end, ts, true)
    if (identityAt < 0) return at
    this.#scratch.set(src.subarray(identityAt, identityAt + IDENTITY_BYTES), at)
    return at + IDENTITY_BYTES
  }

  /**
   * The one write path of tiles and events. Plain puts issued in one event-loop turn: lmdb-js copies each key at
   * once and commits them all in one transaction on its write thread (measured 0.87 M upserts/s here, 2–5× its
   * `transaction()`/`batch()` forms). Values are views into the batch buffer, which the writer keeps alive until
   * this resolves. With a fence, each fenced partition's puts form one `ifVersion` block (same transaction).
   */
  async #write (db: WriteHandle, dataset: string, batch: PutBatch, tail: Tail, fence: Fence | undefined, what: string, values?: (i: number) => Buffer): Promise<WriteOutcome> {
    const head = this.#headForWrite(dataset)
    const longest = batch.maxKeyLength()
    if (longest > this.maxKeyBytes) {
      throw new TilekilnError('TK_STORE', `an entity key of ${longest} bytes cannot be stored: the embedded store (LMDB) holds keys up to ${this.maxKeyBytes} bytes; nothing of this batch of ${batch.count} ${what}(s) was written`, { store: this.description, dataset, fatal: true })
    }
    const bytes = batch.bytes
    const plain: Promise<boolean>[] = []
    const conditional: [number, Promise<boolean>][] = []
    let last: Promise<boolean> | undefined
    // Inside an ifVersion block a put's own promise means nothing: the block's promise tells.
    let inBlock = false
    this.#putHead = head
    this.#putBytes = bytes
    this.#putTail = tail
    const put = (i: number): void => {
      // The key encoder writes this put's key during put() (#keyEncoder). Puts of one transaction share one
      // promise; keep each distinct one, so that a failed commit rejects nothing nobody waits for.
      this.#putIndex = i
      this.#putKeyAt = batch.keyOffset(i)
      this.#putKeyLen = batch.keyLength(i)
      const p = db.put(PUT_KEY, values !== undefined ? values(i) : Buffer.from(bytes.buffer, bytes.byteOffset + batch.valueOffset(i), batch.valueLength(i)))
      if (!inBlock && p !== last) { plain.push(p); last = p }
    }
    // Puts in LMDB's key order (key-order.ts): a quarter less of LMDB's write-thread CPU for random keys.
    const order = keyOrder(batch)
    if (fence === undefined || fence.epochs.size === 0) {
      for (let j = 0; j < batch.count; j++) {
        put(order === null ? j : order[j]!)
        if (j === batch.count >> 1) faultPoint('write-mid-batch')
      }
    } else {
      const epochs = this.#epochs()
      if (epochs === undefined) throw this.#readOnlyError(`write ${what}s`, dataset)
      // Puts grouped by partition, each group in the order above; unfenced partitions are plain puts.
      const groups = new Map<number, number[]>()
      for (let j = 0; j < batch.count; j++) {
        const i = order === null ? j : order[j]!
        const p = batch.partition(i)
        let g = groups.get(p)
        if (g === undefined) groups.set(p, g = [])
        g.push(i)
      }
      for (const [p, g] of groups) {
        const epoch = fence.epochs.get(p)
        if (epoch === undefined) {
          for (const i of g) put(i)
        } else {
          const key = this.#partitionKey(fence.scope, p)
          conditional.push([p, epochs.ifVersion(key, epoch, () => {
            inBlock = true
            try { for (const i of g) put(i) } finally { inBlock = false }
          })])
        }
      }
      faultPoint('write-mid-batch')
    }
    const results = await Promise.allSettled([...plain, ...conditional.map(c => c[1])])
    for (const r of results) if (r.status === 'rejected') throw await this.#commitError(r.reason, `${what} write`, dataset, batch.count)
    for (let j = 0; j < plain.length; j++) {
      if ((results[j] as PromiseFulfilledResult<boolean>).value === false) throw new TilekilnError('TK_STORE', `LMDB refused a ${what} write`, { store: this.description, dataset })
    }
    const fenced: number[] = []
    for (let j = 0; j < conditional.length; j++) {
      if ((results[plain.length + j] as PromiseFulfilledResult<boolean>).value === false) fenced.push(conditional[j]![0])
    }
    return { fenced: fenced.sort((a, b) => a - b) }
  }

  /** A failed commit as a TilekilnError: a full disk (TK_STORE_FULL) or another failure, both fatal. */
  async #commitError (e: unknown, what: string, dataset: string | undefined, count: number): Promise<TilekilnError> {
    this.#broken = true
    // lmdb-js rejects every write of the transaction with "Commit failed" and the cause in `commitError`, a promise
    // that rejects with LMDB's error — when the write thread got there first; wait for it briefly, and catch it.
    let cause: unknown = e
    const pending = (e as { commitError?: Promise<unknown> } | null)?.commitError
    if (pending !== undefined && typeof pending.then === 'function') {
      pending.then(() => {}, () => {})
      cause = await Promise.race([pending.then(() => e, (x: unknown) => x), new Promise(resolve => setTimeout(() => resolve(e), 200))])
    }
    const code = (cause as { code?: unknown } | null)?.code
    const message = cause instanceof Error ? cause.message : String(cause)
    let free = -1
    try {
      const s = statfsSync(this.#path)
      free = s.bavail * s.bsize
    } catch {}
    const full = code === 'ENOSPC' || code === 28 || code === 'EDQUOT' || code === 122 || code === -30792 || /MDB_MAP_FULL|No space left|quota/i.test(message) ||
      ((code === 5 || code === 'EIO' || /Input\/output error/.test(message)) && free >= 0 && free < FULL_DISK_BYTES)
    const where = resolve(this.#path)
    if (full) {
      return new TilekilnError('TK_STORE_FULL',
        `the disk holding the embedded store at ${where} is full (${free >= 0 ? `${free.toLocaleString('en-US')} bytes free` : 'free space unknown'}; LMDB: ${message}): ` +
        `the ${what} of ${count} entr${count === 1 ? 'y' : 'ies'} was not committed, everything acknowledged before it is in the store. Free space there (or use another --store) and restart`,
        { store: this.description, dataset, fatal: true }, { cause })
    }
    return new TilekilnError('TK_STORE', `the embedded store at ${where} could not commit a ${what} of ${count} entr${count === 1 ? 'y' : 'ies'}: ${message}`, { store: this.description, dataset, fatal: true }, { cause })
  }

  async writeTiles (dataset: string, tileSizeMillis: number, puts: TilePuts, fence?: Fence): Promise<WriteOutcome> {
    if (this.#readOnly) throw this.#readOnlyError('write tiles', dataset)
    const tail: Tail = (buf, at, i) => writeI64BE(buf, writeI64BE(buf, at, tileSizeMillis, false), puts.tileStart(i), true)
    // Values are 8-byte latest event time ‖ tile record: packed once per batch into one buffer (one allocation, one
    // copy of the values), viewed per put; the writer keeps the batch, and so this buffer, alive until it resolves.
    const at = new Uint32Array(puts.count + 1)
    for (let i = 0; i < puts.count; i++) at[i + 1] = at[i]! + 8 + puts.valueLength(i)
    const packed = Buffer.allocUnsafe(at[puts.count]!)
    const src = puts.bytes
    for (let i = 0; i < puts.count; i++) {
      const to = writeI64BE(packed, at[i]!, puts.latest(i), false)
      // Tile records are tens of bytes: a loop beats a subarray (an allocation) and set() per put.
      const from = puts.valueOffset(i)
      const n = puts.valueLength(i)
      for (let j = 0; j < n; j++) packed[to + j] = src[from + j]!
    }
    // One view for every put of the batch: lmdb-js reads a value's bytes at `start`..`end` of its ArrayBuffer when a
    // buffer carries them (the protocol of its own reusable encoders), so no Buffer is made per put.
    const view = packed as ValueView
    const base = packed.byteOffset
    return await this.#write(this.#tilesW!, dataset, puts, tail, fence, 'tile', i => {
      view.start = base + at[i]!
      view.end = base + at[i + 1]!
      return view
    })
  }

  async appendEvents (dataset: string, events: EventPuts): Promise<void> {
    const db = this.#events()
    if (db === undefined || this.#readOnly) throw this.#readOnlyError('append events', dataset)
    const bytes = events.bytes
    const tail: Tail = (buf, at, i) => {
      at = writeI64BE(buf, at, events.tsMillis(i), true)
      const id = events.identityOffset(i)
      buf.set(bytes.subarray(id, id + IDENTITY_BYTES), at)
      return at + IDENTITY_BYTES
    }
    await this.#write(this.#eventsW!, dataset, events, tail, undefined, 'event')
  }

  /** The physical key as a fresh buffer (reads). */
  #physicalTileKey (head: Uint8Array, keyBytes: Uint8Array, tileSize: number, tileStart: number): Buffer {
    const n = this.#tileKey(head, keyBytes, 0, keyBytes.length, tileSize, tileStart)
    return Buffer.from(this.#scratch.subarray(0, n))
  }

  async readTiles (dataset: string, keyBytes: Uint8Array, tileSizeMillis: number, fromMillis: number, toMillis: number): Promise<StoredTile[]> {
    // Tile starts are whole milliseconds: start ≥ from ⇔ start ≥ ceil(from), start < to ⇔ start < ceil(to) (the key
    // holds whole numbers: a fractional bound would be truncated into the range).
    const lo = Math.max(Math.ceil(fromMillis), Number.MIN_SAFE_INTEGER)
    const hi = Math.min(Math.ceil(toMillis), Number.MAX_SAFE_INTEGER)
    const head = this.#headForRead(dataset)
    if (lo >= hi || head === null) return []
    const start = this.#physicalTileKey(head, keyBytes, tileSizeMillis, lo)
    const end = this.#physicalTileKey(head, keyBytes, tileSizeMillis, hi)
    const out: StoredTile[] = []
    for (const { key, value } of this.#tiles.getRange({ start, end })) {
      out.push({ tileStartMillis: readI64BE(key, key.length - 8, true), latestMillis: readI64BE(value, 0, false), value: new Uint8Array(value.subarray(8)) })
    }
    return out
  }

  /** LMDB reads are synchronous range scans of memory-mapped pages: one after another costs no round trip. */
  async readTileRanges (dataset: string, reads: readonly KeyRanges[]): Promise<StoredTile[][][]> {
    const out: StoredTile[][][] = []
    for (const r of reads) {
      const tiles: StoredTile[][] = []
      for (const g of r.ranges) tiles.push(await this.readTiles(dataset, r.keyBytes, g.tileSizeMillis, g.fromMillis, g.toMillis))
      out.push(tiles)
    }
    return out
  }

  async readEvents (dataset: string, keyBytes: Uint8Array, fromMillis: number, toMillis: number): Promise<StoredEvent[]> {
    const db = this.#events()
    // Event times are whole milliseconds: ts ≥ from ⇔ ts ≥ ceil(from), ts < to ⇔ ts < ceil(to).
    const lo = Math.max(Math.ceil(fromMillis), Number.MIN_SAFE_INTEGER)
    const hi = Math.min(Math.ceil(toMillis), Number.MAX_SAFE_INTEGER)
    const head = this.#headForRead(dataset)
    if (db === undefined || lo >= hi || head === null) return []
    // #eventKey may replace the scratch buffer (a long key): read this.#scratch only after it returned.
    const startLen = this.#eventKey(head, keyBytes, 0, keyBytes.length, lo, -1)
    const start = Buffer.from(this.#scratch.subarray(0, startLen))
    const endLen = this.#eventKey(head, keyBytes, 0, keyBytes.length, hi, -1)
    const end = Buffer.from(this.#scratch.subarray(0, endLen))
    const out: StoredEvent[] = []
    const tsAt = head.length + 2 + keyBytes.length
    for (const { key, value } of db.getRange({ start, end })) {
      out.push({ tsMillis: readI64BE(key, tsAt, true), identity: new Uint8Array(key.subarray(tsAt + 8)), value: new Uint8Array(value) })
    }
    return out
  }

  async putMetadata (name: string, value: string): Promise<void> {
    if (this.#readOnly) throw this.#readOnlyError('write metadata')
    try {
      await this.#meta.put(name, value)
    } catch (e) {
      throw await this.#commitError(e, 'metadata write', undefined, 1)
    }
  }

  async getMetadata (name: string): Promise<string | undefined> {
    return this.#meta.get(name) ?? undefined
  }

  // ---- scale-out bookkeeping ---------------------------------------------------------------------------------

  /** u16 BE scope length | scope UTF-8 | u32 BE partition (a fresh buffer). */
  #partitionKey (scope: string, partition: number): Buffer {
    checkPartition(partition)
    const s = utf8.encode(scope)
    if (s.length > MAX_SCOPE_BYTES) throw new TilekilnError('TK_STORE', `a scope of ${s.length} bytes is too long for the embedded store (at most ${MAX_SCOPE_BYTES})`, { store: this.description, fatal: true })
    const k = Buffer.allocUnsafe(2 + s.length + 4)
    k.writeUInt16BE(s.length, 0)
    k.set(s, 2)
    k.writeUInt32BE(partition, 2 + s.length)
    return k
  }

  async acquireEpoch (scope: string, partition: number): Promise<number> {
    const db = this.#epochs()
    if (db === undefined || this.#readOnly) throw this.#readOnlyError('acquire an epoch')
    const key = this.#partitionKey(scope, partition)
    let epoch: number
    try {
      // Read and raise inside one write transaction: LMDB runs one at a time across every process of the store.
      epoch = await db.transaction(() => {
        const next = (db.getEntry(key)?.version ?? 0) + 1
        db.put(key, EMPTY, next)
        return next
      }) as number
      await this.#durable()
    } catch (e) {
      throw await this.#commitError(e, 'epoch update', undefined, 1)
    }
    return epoch
  }

  async readCheckpoint (scope: string, partition: number): Promise<StoredCheckpoint | null> {
    const v = this.#checkpoints()?.get(this.#partitionKey(scope, partition))
    if (v === undefined || v === null) return null
    if (v.length < 8) throw new TilekilnError('TK_STORE', `malformed checkpoint of partition ${partition}: ${v.length} bytes`, { store: this.description, partition })
    return { epoch: readI64BE(v, 0, false), bytes: new Uint8Array(v.subarray(8)) }
  }

  async writeCheckpoint (scope: string, partition: number, epoch: number, bytes: Uint8Array): Promise<boolean> {
    checkEpoch(epoch)
    const epochs = this.#epochs()
    const cps = this.#checkpoints()
    if (epochs === undefined || cps === undefined || this.#readOnly) throw this.#readOnlyError('write a checkpoint')
    const key = this.#partitionKey(scope, partition)
    const value = Buffer.allocUnsafe(8 + bytes.length)
    writeI64BE(value, 0, epoch, false)
    value.set(bytes, 8)
    let written: boolean
    try {
      written = await epochs.ifVersion(key, epoch, () => { cps.put(key, value) })
      if (written) await this.#durable()
    } catch (e) {
      throw await this.#commitError(e, 'checkpoint write', undefined, 1)
    }
    return written
  }

  async checkpointPartitions (scope: string): Promise<number[]> {
    const db = this.#checkpoints()
    if (db === undefined) return []
    const lo = this.#partitionKey(scope, 0)
    const hi = this.#partitionKey(scope, 0x7fffffff)
    const out: number[] = []
    for (const key of db.getKeys({ start: lo, end: hi, inclusiveEnd: true })) out.push((key as Buffer).readUInt32BE(key.length - 4))
    return out
  }

  // ---- everything --------------------------------------------------------------------------------------------

  /** Streams from LMDB cursors (one read snapshot per database): memory stays at one entry whatever the store's size. */
  async * entries (): AsyncIterable<readonly [Uint8Array, Uint8Array]> {
    for (const { key, value } of this.#meta.getRange({})) {
      yield [utf8.encode(METADATA_PREFIX + key), utf8.encode(value)]
    }
    // Layout 3: the datasets' names by id (layout 2 has the name in the key).
    const names = new Map<number, Buffer>()
    if (this.#layout === LAYOUT_VERSION) for (const { key, value } of this.#datasets()?.getRange({}) ?? []) names.set(value.readUInt32BE(0), key)
    const nameOf = (key: Buffer): { name: Buffer, rest: number } => {
      if (this.#layout === 2) {
        const end = key.indexOf(NAME_END)
        return { name: key.subarray(0, end), rest: end + 1 }
      }
      const id = key.readUInt32BE(0)
      const name = names.get(id)
      if (name === undefined) throw new TilekilnError('TK_STORE', `the embedded store at ${this.#path} has entries of dataset id ${id}, which database 'datasets' does not name: the store is damaged`, { store: this.description })
      return { name, rest: 4 }
    }
    for (const { key, value } of this.#tiles.getRange({})) {
      const { name, rest } = nameOf(key)
      const len = key.readUInt16BE(rest)
      const keyBytes = key.subarray(rest + 2, rest + 2 + len)
      const tileSizeMillis = readI64BE(key, rest + 2 + len, false)
      const tileStartMillis = readI64BE(key, rest + 2 + len + 8, true)
      yield [encodeTileKey({ dataset: utf8d.decode(name), keyBytes, tileSizeMillis, tileStartMillis }), new Uint8Array(value.subarray(8))]
    }
    const events = this.#events()
    if (events === undefined) return
    // The logical event key is the physical one with the dataset's name and a 0x00 for its head (codec/event-key.ts).
    for (const { key, value } of events.getRange({})) {
      const { name, rest } = nameOf(key)
      const logical = new Uint8Array(name.length + 1 + key.length - rest)
      logical.set(name)
      logical[name.length] = NAME_END
      logical.set(key.subarray(rest), name.length + 1)
      yield [logical, new Uint8Array(value)]
    }
  }

  async flushed (): Promise<void> {
    try {
      await this.#durable()
    } catch (e) {
      throw await this.#commitError(e, 'flush', undefined, 0)
    }
  }

  /** Everything committed so far is on disk: the last commit's flush, or (sync mode 'checkpoint') a sync now. */
  async #durable (): Promise<void> {
    await this.#env.flushed
    if (this.#syncOnCommit) return
    // What was queued is committed now; flush the file (LMDB's mdb_env_sync, off the main thread).
    const env = this.#env as unknown as { sync: (done: (e?: unknown) => void) => void } // missing from lmdb's types
    await new Promise<void>((resolve, reject) => { env.sync(e => { if (e !== undefined && e !== null) reject(e); else resolve() }) })
  }

  async close (): Promise<void> {
    const closing = this.#env.close()
    if (!this.#broken) { await closing; return }
    // After a failed commit lmdb-js can leave writes pending for ever, and so close(); nothing more can be written
    // anyway, so give it a moment and go (a process must still end, with its error).
    closing.catch(() => {})
    let timer: NodeJS.Timeout | undefined
    await Promise.race([closing, new Promise(resolve => { timer = setTimeout(resolve, 1000) })])
    clearTimeout(timer)
  }
}
