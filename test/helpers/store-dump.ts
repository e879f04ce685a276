// A store's full contents as sorted hex lines (what `tilekiln dump` prints), for byte-identity checks.
import { toHex } from '../../src/codec/bytes.ts'
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'
import type { TileStore } from '../../src/sink/store.ts'

/** Every entry of an open store as `key value` hex lines, sorted, each once (Redis's SCAN may report a key twice). */
export async function storeLines (store: TileStore): Promise<string[]> {
  const lines: string[] = []
  for await (const [k, v] of store.entries()) lines.push(`${toHex(k)} ${toHex(v)}`)
  return [...new Set(lines)].sort()
}

/** The same for the embedded store in `dir`, opened read-only for the purpose. */
export async function dumpLines (dir: string): Promise<string[]> {
  const store = new EmbeddedStore(dir, { readOnly: true })
  try {
    return await storeLines(store)
  } finally {
    await store.close()
  }
}
