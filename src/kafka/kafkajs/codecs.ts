// kafkajs has gzip only; Kafka's other codecs are registered in its codec table (a mutable export its record-batch
// reader looks codecs up in), with the implementations of ../codecs.ts.
import kafkajs from 'kafkajs'
import { lz4Compress, lz4Decompress, snappyCompress } from '@platformatic/wasm-utils'
import { snappyDecompressKafka, zstdCompress, zstdDecompress } from '../codecs.ts'

let installed = false
/** Idempotent; the client calls it before it creates a consumer or producer. */
export function installKafkajsCodecs (): void {
  if (installed) return
  installed = true
  const table = kafkajs.CompressionCodecs as unknown as Record<number, () => unknown>
  const codec = (compress: (b: Buffer) => Buffer, decompress: (b: Buffer) => Buffer) => () => ({
    compress: async (encoder: { buffer: Buffer }) => compress(encoder.buffer),
    decompress: async (buffer: Buffer) => decompress(buffer)
  })
  table[kafkajs.CompressionTypes.Snappy] = codec(b => snappyCompress(b), snappyDecompressKafka)
  table[kafkajs.CompressionTypes.LZ4] = codec(b => lz4Compress(b), b => lz4Decompress(b))
  table[kafkajs.CompressionTypes.ZSTD] = codec(zstdCompress, b => {
    try {
      return zstdDecompress(b)
    } catch (e) {
      // kafkajs gives up at once (crashes the consumer, which then stops the run) only on this error name; on any
      // other it retries the same fetch for minutes.
      throw Object.assign(new Error((e as Error).message, { cause: e }), { name: 'KafkaJSNotImplemented' })
    }
  })
}
