// Checkpoints: a consistent cut of the engine — every worker's open tiles, the watermark state and the source
// position of every partition — taken when nothing is in flight (all records up to the positions are folded in and
// every tile write they caused is acknowledged and flushed). After a crash the engine loads the latest one and
// replays the source from its positions; since tile writes are whole-tile upserts, the store ends exactly as an
// uninterrupted run leaves it.
//
// File layout (one file per checkpoint, `checkpoint-<seq>.tkcp`, written to a temp name, fsynced, renamed, and
// the directory fsynced — a reader sees a complete file or none):
//
//   "TKCP" | u32 version | u32 header length | header (JSON) | per shard: u32 n | entries | u32 n | timers | u32 crc32
//
// The CRC (zlib crc32 of everything before it) rejects a file damaged after it was written.

import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { crc32 } from 'node:zlib'
import { TilekilnError } from '../errors.ts'
import { faultPoint } from '../faults.ts'

export interface CheckpointHeader {
  readonly groupBy: string
  /** Changes when the GroupBy's tiles would change shape (see planFingerprint). */
  readonly fingerprint: string
  readonly takenAt: number
  readonly source: string
  /** Next position (Kafka offset, line, sequence) to read, per partition. */
  readonly positions: readonly (readonly [number, number])[]
  readonly watermark: number
  readonly maxEventTime: readonly (readonly [number, number])[]
  readonly workers: number
}

export interface Shard { readonly entries: ArrayBuffer, readonly timers: Uint8Array, readonly watermark: number }

export interface Checkpoint {
  readonly seq: number
  readonly header: CheckpointHeader
  readonly shards: readonly Shard[]
}

const MAGIC = Buffer.from('TKCP')
const VERSION = 1

export class CheckpointStore {
  readonly dir: string
  readonly #keep: number

  constructor (dir: string, keep = 2) {
    this.dir = dir
    this.#keep = keep
  }

  #files (): { seq: number, name: string }[] {
    let names: string[]
    try { names = readdirSync(this.dir) } catch { return [] }
    return names
      .map(name => ({ name, m: /^checkpoint-(\d+)\.tkcp$/.exec(name) }))
      .filter(x => x.m !== null)
      .map(x => ({ seq: Number(x.m![1]), name: x.name }))
      .sort((a, b) => b.seq - a.seq)
  }

  /** The newest readable checkpoint, or null. A damaged newest file is skipped for the one before it. */
  latest (): Checkpoint | null {
    for (const f of this.#files()) {
      try {
        return decode(f.seq, readFileSync(join(this.dir, f.name)))
      } catch (e) {
        process.stderr.write(`tilekiln: ignoring damaged checkpoint ${join(this.dir, f.name)}: ${(e as Error).message}\n`)
      }
    }
    return null
  }

  /** Writes a checkpoint durably; returns its sequence number. Older ones beyond `keep` are removed. */
  write (header: CheckpointHeader, shards: readonly Shard[]): number {
    mkdirSync(this.dir, { recursive: true })
    const seq = (this.#files()[0]?.seq ?? 0) + 1
    const bytes = encode(header, shards)
    const final = join(this.dir, `checkpoint-${seq}.tkcp`)
    const tmp = `${final}.tmp`
    try {
      const fd = openSync(tmp, 'w')
      try {
        writeSync(fd, bytes)
        fsyncSync(fd)
      } finally {
        closeSync(fd)
      }
      faultPoint('checkpoint-before-rename')
      renameSync(tmp, final)
      const dfd = openSync(this.dir, 'r')
      try { fsyncSync(dfd) } finally { closeSync(dfd) }
    } catch (e) {
      throw new TilekilnError('TK_CHECKPOINT', `cannot write checkpoint ${final}: ${(e as Error).message}`, { checkpoint: final }, { cause: e })
    }
    for (const old of this.#files().slice(this.#keep)) rmSync(join(this.dir, old.name), { force: true })
    return seq
  }
}

function encode (header: CheckpointHeader, shards: readonly Shard[]): Buffer {
  const json = Buffer.from(JSON.stringify({ ...header, shardWatermarks: shards.map(s => s.watermark) }, (_k, v) => (v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v)))
  const parts: Buffer[] = [MAGIC, u32(VERSION), u32(json.length), json]
  for (const s of shards) {
    parts.push(u32(s.entries.byteLength), Buffer.from(s.entries), u32(s.timers.length), Buffer.from(s.timers))
  }
  const body = Buffer.concat(parts)
  return Buffer.concat([body, u32(crc32(body))])
}

function decode (seq: number, bytes: Buffer): Checkpoint {
  if (bytes.length < 16 || !bytes.subarray(0, 4).equals(MAGIC)) throw new Error('not a tilekiln checkpoint')
  const body = bytes.subarray(0, bytes.length - 4)
  if (crc32(body) !== bytes.readUInt32LE(bytes.length - 4)) throw new Error('checksum mismatch')
  if (bytes.readUInt32LE(4) !== VERSION) throw new Error(`unsupported checkpoint version ${bytes.readUInt32LE(4)}`)
  const jsonLen = bytes.readUInt32LE(8)
  const raw = JSON.parse(bytes.subarray(12, 12 + jsonLen).toString('utf8'), (_k, v) => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v)) as CheckpointHeader & { shardWatermarks: number[] }
  let at = 12 + jsonLen
  const shards: Shard[] = []
  for (let i = 0; i < raw.workers; i++) {
    const n = bytes.readUInt32LE(at); at += 4
    const entries = new Uint8Array(n)
    entries.set(bytes.subarray(at, at + n)); at += n
    const t = bytes.readUInt32LE(at); at += 4
    const timers = Uint8Array.from(bytes.subarray(at, at + t)); at += t
    shards.push({ entries: entries.buffer, timers, watermark: raw.shardWatermarks[i] ?? -Infinity })
  }
  const { shardWatermarks: _sw, ...header } = raw
  void _sw
  return { seq, header, shards }
}

function u32 (n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0)
  return b
}
