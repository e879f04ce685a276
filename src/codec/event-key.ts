// Keys of the untiled pipeline (one stored entry per evaluated row, §4.1 "Untiled"). Chronon appends every event
// and leaves duplicates to the KV store (§5.1, §6); we make a replay idempotent by giving every row a deterministic
// identity and storing it in the key, so writing the same row twice leaves one entry.
//
// Row identity, 16 bytes, big-endian so that byte order is numeric order:
//
//   i32 partition (sign bit flipped) | i64 position (sign bit flipped) | u32 row index within the record
//
// partition and position are the source's (Kafka partition and offset, file line, generator sequence); the row
// index counts the rows the selects made of the record (EXPLODE makes several; 0 otherwise), before routing.
//
// Event key: the logical key `dump` prints for an event (the embedded store keeps it with the dataset's id in place of
// its name and the 0x00: sink/embedded-store.ts):
//
//   dataset UTF-8 | 0x00 | u16 BE entity key length | Avro entity key | i64 BE event time ms (sign bit flipped) | identity
//
// So one entity key's events are one ordered range, by event time, then by identity (partition, position, row).
// It cannot be mistaken for a TileKey (which starts with 0x18) or a metadata key (`CHRONON_METADATA/…`): datasets
// are upper-case letters, digits and underscores.

export const IDENTITY_BYTES = 16

export interface RowIdentity {
  readonly partition: number
  readonly position: number
  readonly row: number
}

export interface EventKey {
  readonly dataset: string
  readonly keyBytes: Uint8Array
  readonly tsMillis: number
  /** The 16-byte row identity, as stored. */
  readonly identity: Uint8Array
}

const utf8 = new TextEncoder()
const utf8d = new TextDecoder()

/** Writes an integer (|n| < 2^53) as 8 bytes big-endian, optionally with the sign bit flipped for ordering. */
export function writeI64BE (buf: Uint8Array, at: number, n: number, flipSign: boolean): number {
  const hi = Math.floor(n / 4294967296)
  const lo = n - hi * 4294967296
  writeU32BE(buf, at, flipSign ? (hi ^ 0x80000000) >>> 0 : hi >>> 0)
  writeU32BE(buf, at + 4, lo >>> 0)
  return at + 8
}

export function readI64BE (buf: Uint8Array, at: number, flipSign: boolean): number {
  let hi = readU32BE(buf, at)
  if (flipSign) hi = (hi ^ 0x80000000) >>> 0
  const signed = hi >= 0x80000000 ? hi - 4294967296 : hi
  return signed * 4294967296 + readU32BE(buf, at + 4)
}

function writeU32BE (buf: Uint8Array, at: number, n: number): void {
  buf[at] = n >>> 24; buf[at + 1] = (n >>> 16) & 0xff; buf[at + 2] = (n >>> 8) & 0xff; buf[at + 3] = n & 0xff
}

function readU32BE (buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0
}

/** Writes the 16-byte identity at `at`; returns the offset after it. */
export function writeIdentity (buf: Uint8Array, at: number, partition: number, position: number, row: number): number {
  writeU32BE(buf, at, (partition ^ 0x80000000) >>> 0)
  writeI64BE(buf, at + 4, position, true)
  writeU32BE(buf, at + 12, row >>> 0)
  return at + IDENTITY_BYTES
}

export function readIdentity (buf: Uint8Array, at = 0): RowIdentity {
  return {
    partition: (readU32BE(buf, at) ^ 0x80000000) | 0,
    position: readI64BE(buf, at + 4, true),
    row: readU32BE(buf, at + 12)
  }
}

export function encodeEventKey (k: EventKey): Uint8Array {
  const ds = utf8.encode(k.dataset)
  const out = new Uint8Array(ds.length + 3 + k.keyBytes.length + 8 + IDENTITY_BYTES)
  out.set(ds)
  let at = ds.length + 1
  out[at++] = k.keyBytes.length >>> 8
  out[at++] = k.keyBytes.length & 0xff
  out.set(k.keyBytes, at)
  at = writeI64BE(out, at + k.keyBytes.length, k.tsMillis, true)
  out.set(k.identity.subarray(0, IDENTITY_BYTES), at)
  return out
}

export function decodeEventKey (bytes: Uint8Array): EventKey {
  const zero = bytes.indexOf(0)
  if (zero < 0 || bytes.length < zero + 3) throw new RangeError('not an event key: no dataset')
  const len = (bytes[zero + 1]! << 8) | bytes[zero + 2]!
  const at = zero + 3 + len
  if (bytes.length !== at + 8 + IDENTITY_BYTES) throw new RangeError(`not an event key: ${bytes.length} bytes, expected ${at + 8 + IDENTITY_BYTES}`)
  return {
    dataset: utf8d.decode(bytes.subarray(0, zero)),
    keyBytes: bytes.slice(zero + 3, at),
    tsMillis: readI64BE(bytes, at, true),
    identity: bytes.slice(at + 8)
  }
}
