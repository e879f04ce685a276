// `tilekiln dump`: the store's entries in key order, in bounded memory (sink/dump.ts sorts through temp files when
// they do not fit). Without a GroupBy: every entry as `KEYHEX VALUEHEX` (what tests compare stores by). With
// `--group-by`: only that GroupBy's entries (its dataset and its serving info), optionally of one entity key, as
// the same hex lines or, with `--json`, decoded — one object per tile (key columns, tile start and size, complete,
// the stored IR of every tile part) or per untiled event (key columns, event time, row identity, input columns).
// Filtering scans the whole store: dump is a tool for inspection, not a read path (fetch reads one key's range).

import type { ReadSide } from '../config/bind.ts'
import { decodeEventKey, readIdentity } from '../codec/event-key.ts'
import { decodeTileKey } from '../codec/tile-key.ts'
import { toJsonValue } from '../fetch/result.ts'
import { hex, writeSortedDump } from '../sink/dump.ts'
import { METADATA_PREFIX, type TileStore } from '../sink/store.ts'

export interface DumpStoreOptions {
  /** Only this GroupBy's entries, decoded with it. */
  readonly read?: ReadSide
  /** Only this entity key's entries (key-column order; needs `read`). */
  readonly keyValues?: readonly unknown[]
  /** Decoded JSON lines instead of hex (needs `read`). */
  readonly json?: boolean
}

const utf8 = new TextEncoder()
const utf8d = new TextDecoder()

export async function dumpStore (store: TileStore, out: NodeJS.WritableStream, o: DumpStoreOptions = {}): Promise<number> {
  const read = o.read
  if (read === undefined) return await writeSortedDump(store, out)
  const plan = read.plan
  const dataset = plan.streamingDataset
  const metadataKey = utf8.encode(METADATA_PREFIX + plan.name)
  const wantedKey = o.keyValues === undefined ? null : hex(read.keyCodec.encode(o.keyValues))
  const untiled = read.serving.untiled === true
  const json = o.json === true
  const keyColumns = (keyBytes: Uint8Array): Record<string, unknown> => {
    const values = read.keyCodec.decode(keyBytes)
    return Object.fromEntries(plan.keyColumns.map((k, i) => [k, toJsonValue(values[i])]))
  }
  const row: unknown[] = []
  const line = (k: Uint8Array, v: Uint8Array): string | null => {
    if (k[0] === 0x18) {
      if (untiled) return null
      const tk = decodeTileKey(k)
      if (tk.dataset !== dataset) return null
      const keyHex = hex(tk.keyBytes)
      if (wantedKey !== null && keyHex !== wantedKey) return null
      if (!json) return `${hex(k)} ${hex(v)}`
      const tile = read.tileCodec.decode(v)
      const start = tk.tileStartMillis ?? 0
      const irs = Object.fromEntries(plan.tileParts.map((p, i) => [p.name, toJsonValue(tile.irs[i])]))
      // Sorted by entity key bytes, then tile start (a TileKey's zig-zag varints do not sort by value).
      return `${keyHex} ${sortable(start)}\t${JSON.stringify({ key: keyColumns(tk.keyBytes), tileStart: new Date(start).toISOString(), tileStartMillis: start, tileSizeMillis: tk.tileSizeMillis, isComplete: tile.isComplete, irs })}`
    }
    if (equalBytes(k, metadataKey)) {
      if (wantedKey !== null) return null
      return json ? `\t${JSON.stringify({ servingInfo: JSON.parse(utf8d.decode(v)) })}` : `${hex(k)} ${hex(v)}`
    }
    if (!untiled || startsWith(k, METADATA_PREFIX)) return null
    const ek = decodeEventKey(k)
    if (ek.dataset !== dataset) return null
    const keyHex = hex(ek.keyBytes)
    if (wantedKey !== null && keyHex !== wantedKey) return null
    if (!json) return `${hex(k)} ${hex(v)}`
    read.inputCols.decodeInto(v, row)
    const inputs = Object.fromEntries(read.inputCols.fields.map(f => [f.name, toJsonValue(row[f.rowIndex])]))
    return `${keyHex} ${sortable(ek.tsMillis)} ${hex(ek.identity)}\t${JSON.stringify({ key: keyColumns(ek.keyBytes), ts: new Date(ek.tsMillis).toISOString(), tsMillis: ek.tsMillis, identity: readIdentity(ek.identity), inputs })}`
  }
  return await writeSortedDump(store, out, { line, sortKeyed: json })
}

/** A fixed-width text of a millisecond time that sorts as the number does (|n| < 2^53). */
function sortable (n: number): string {
  return (n + 2 ** 53).toString(16).padStart(15, '0')
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

function startsWith (bytes: Uint8Array, prefix: string): boolean {
  if (bytes.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix.charCodeAt(i)) return false
  return true
}
