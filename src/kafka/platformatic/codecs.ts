// @platformatic/kafka's decoders, with Java's framed snappy added and zstd refused in words a user can act on (see
// ../codecs.ts): its codec table is a mutable
// export that its record-batch reader looks codecs up in.
import { compressionsAlgorithms } from '@platformatic/kafka'
import { snappyDecompressKafka, zstdDecompress } from '../codecs.ts'

let installed = false
/** Idempotent; the client calls it before its first fetch. */
export function installPlatformaticCodecs (): void {
  if (installed) return
  installed = true
  const snappy = compressionsAlgorithms.snappy as unknown as { decompressSync: (data: Buffer | { buffer: Buffer }) => Buffer }
  snappy.decompressSync = data => snappyDecompressKafka(Buffer.isBuffer(data) ? data : data.buffer)
  const zstd = compressionsAlgorithms.zstd as unknown as { decompressSync: (data: Buffer | { buffer: Buffer }) => Buffer }
  zstd.decompressSync = data => zstdDecompress(Buffer.isBuffer(data) ? data : data.buffer)
}

