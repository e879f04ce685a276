// Zipline's TileKey (fetcher.thrift), Thrift compact protocol:
//
//   struct TileKey {
//     1: optional string dataset                    // header 0x18, varint length, UTF-8 bytes
//     2: optional list<byte> keyBytes               // header 0x19, list header (size<<4 | 3) or 0xF3 + varint size, bytes
//     3: optional i64 tileSizeMillis                // header 0x16, zig-zag varint
//     4: optional i64 tileStartTimestampMillis      // header 0x16, zig-zag varint; absent in read-side prefixes
//   }                                               // 0x00 stop
//
// `keyBytes` is the Avro-encoded entity key (see key.ts).

import { ByteReader, ByteWriter } from './bytes.ts'

export interface TileKey {
  dataset: string
  keyBytes: Uint8Array
  tileSizeMillis: number
  /** Absent in the key a fetcher sends to ask for a range of tiles. */
  tileStartMillis?: number
}

const utf8 = new TextEncoder()

export function writeTileKey (w: ByteWriter, k: TileKey): void {
  const ds = utf8.encode(k.dataset)
  w.byte(0x18)
  w.uvarint(ds.length)
  w.raw(ds)
  w.byte(0x19)
  if (k.keyBytes.length < 15) {
    w.byte((k.keyBytes.length << 4) | 0x03)
  } else {
    w.byte(0xf3)
    w.uvarint(k.keyBytes.length)
  }
  w.raw(k.keyBytes)
  w.byte(0x16)
  w.zigzag(k.tileSizeMillis)
  if (k.tileStartMillis !== undefined) {
    w.byte(0x16)
    w.zigzag(k.tileStartMillis)
  }
  w.byte(0x00)
}

export function encodeTileKey (k: TileKey): Uint8Array {
  const w = new ByteWriter(64)
  writeTileKey(w, k)
  return w.copy()
}

/** Reads any TileKey our writer or Zipline's JVM code produces (fields in any order, unknown fields skipped). */
export function decodeTileKey (bytes: Uint8Array): TileKey {
  const r = new ByteReader(bytes)
  const key: Partial<TileKey> = {}
  let lastId = 0
  for (;;) {
    const header = r.byte()
    if (header === 0) break
    const type = header & 0x0f
    const delta = header >> 4
    const id = delta === 0 ? readI16(r) : lastId + delta
    lastId = id
    if (id === 1 && type === 8) key.dataset = new TextDecoder().decode(readBinary(r))
    else if (id === 2 && type === 9) key.keyBytes = readByteList(r)
    else if (id === 3 && type === 6) key.tileSizeMillis = Number(r.zigzag())
    else if (id === 4 && type === 6) key.tileStartMillis = Number(r.zigzag())
    else skip(r, type)
  }
  if (key.dataset === undefined || key.keyBytes === undefined || key.tileSizeMillis === undefined) {
    throw new RangeError('TileKey lacks dataset, keyBytes or tileSizeMillis')
  }
  return key as TileKey
}

function readI16 (r: ByteReader): number { return Number(r.zigzag()) }

function readBinary (r: ByteReader): Uint8Array {
  const n = r.uvarint()
  const out = r.buf.slice(r.pos, r.pos + n)
  if (out.length !== n) throw new RangeError('truncated TileKey')
  r.pos += n
  return out
}

function readByteList (r: ByteReader): Uint8Array {
  const h = r.byte()
  const size = (h >> 4) === 15 ? r.uvarint() : h >> 4
  if ((h & 0x0f) !== 3) throw new RangeError('TileKey.keyBytes must be a list<byte>')
  const out = r.buf.slice(r.pos, r.pos + size)
  if (out.length !== size) throw new RangeError('truncated TileKey')
  r.pos += size
  return out
}

function skip (r: ByteReader, type: number): void {
  switch (type) {
    case 1: case 2: return
    case 3: r.byte(); return
    case 4: case 5: case 6: r.uvarint(); return
    case 7: r.pos += 8; return
    case 8: readBinary(r); return
    case 9: case 10: {
      const h = r.byte()
      const size = (h >> 4) === 15 ? r.uvarint() : h >> 4
      for (let i = 0; i < size; i++) skip(r, h & 0x0f)
      return
    }
    case 11: {
      const size = r.uvarint()
      if (size === 0) return
      const kv = r.byte()
      for (let i = 0; i < size; i++) { skip(r, kv >> 4); skip(r, kv & 0x0f) }
      return
    }
    case 12: {
      let last = 0
      for (;;) {
        const h = r.byte()
        if (h === 0) return
        if ((h >> 4) === 0) last = readI16(r); else last += h >> 4
        skip(r, h & 0x0f)
      }
    }
    default: throw new RangeError(`unknown Thrift compact type ${type}`)
  }
}
