// A store's full contents as sorted hex lines (what `tilekiln dump` prints), for byte-identity checks.
import { toHex } from '../../src/codec/bytes.ts'
import { EmbeddedStore } from '../../src/sink/embedded-store.ts'

export async function dumpLines (dir: string): Promise<string[]> {
  const store = new EmbeddedStore(dir, { readOnly: true })
  try {
    const lines: string[] = []
    for await (const [k, v] of store.entries()) lines.push(`${toHex(k)} ${toHex(v)}`)
    return lines.sort()
  } finally {
    await store.close()
  }
}
