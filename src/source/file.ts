// File sources: JSON lines, CSV (header line first) and Avro object-container files. The file is read as a
// stream; each record's position is its line number (1-based, header included) or, for Avro, its index.
// JSON and CSV schemas are inferred from the file unless `--schema` gives one.

import { createReadStream, readFileSync } from 'node:fs'
import { basename, extname } from 'node:path'
import avro from 'avsc'
import type { StructType } from '../api/data-type.ts'
import { asStruct, fromAvroSchema, inferCsvSchema, inferJsonSchema } from '../codec/input-schema.ts'
import { type InputFormat, splitCsv } from '../codec/record.ts'
import { TilekilnError } from '../errors.ts'
import type { RecordPusher, Source } from './source.ts'

export interface FileSourceOptions {
  readonly path: string
  /** Overrides the extension: json | csv | avro. */
  readonly format?: 'json' | 'csv' | 'avro'
  /** An Avro record schema (JSON) for JSON/CSV input; inferred when absent. */
  readonly schema?: unknown
  readonly delimiter?: string
  /** 'end' (default): nothing in a file is late; 'event': watermarks advance while reading, as in a stream. */
  readonly watermarks?: 'end' | 'event'
}

const SAMPLE_LINES = 10_000

export async function openFileSource (o: FileSourceOptions): Promise<Source> {
  const kind = o.format ?? formatFromExtension(o.path)
  switch (kind) {
    case 'json': return jsonLinesSource(o)
    case 'csv': return csvSource(o)
    case 'avro': return avroContainerSource(o)
  }
}

function formatFromExtension (path: string): 'json' | 'csv' | 'avro' {
  const ext = extname(path).toLowerCase()
  if (ext === '.csv' || ext === '.tsv') return 'csv'
  if (ext === '.avro') return 'avro'
  if (ext === '.json' || ext === '.jsonl' || ext === '.ndjson') return 'json'
  throw new TilekilnError('TK_SOURCE', `cannot tell the format of ${path} from its extension; use --format json|csv|avro`, { source: path })
}

function readText (path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (e) {
    throw new TilekilnError('TK_SOURCE', `cannot read ${path}: ${(e as Error).message}`, { source: path }, { cause: e })
  }
}

function schemaOption (o: FileSourceOptions): StructType | undefined {
  return o.schema === undefined ? undefined : asStruct(fromAvroSchema(o.schema), '--schema')
}

/**
 * The top-level fields a `--schema` declares as timestamp-millis: JSON and CSV give them in milliseconds, which the
 * decoders turn into the engine's microseconds (as Avro decoding does), instead of reading them as microseconds.
 */
function timestampMillisFields (schema: unknown): string[] {
  const fields = (schema as { fields?: { name: string, type: unknown }[] } | null)?.fields ?? []
  const isMillis = (t: unknown): boolean => Array.isArray(t)
    ? t.some(isMillis)
    : typeof t === 'object' && t !== null && (t as { logicalType?: unknown }).logicalType === 'timestamp-millis'
  return fields.filter(f => isMillis(f.type)).map(f => f.name)
}

function jsonLinesSource (o: FileSourceOptions): Source {
  const schema = schemaOption(o)
  if (schema === undefined) {
    const samples: object[] = []
    for (const line of readText(o.path).split('\n', SAMPLE_LINES)) {
      if (line.trim() === '') continue
      try {
        const v = JSON.parse(line)
        if (v !== null && typeof v === 'object' && !Array.isArray(v)) samples.push(v)
      } catch { /* a bad line is dead-lettered when read; it just does not inform the schema */ }
    }
    return lineSource(o, { kind: 'json', schema: inferJsonSchema(samples), inferred: true }, 0)
  }
  return lineSource(o, { kind: 'json', schema, timestampMillis: timestampMillisFields(o.schema) }, 0)
}

function csvSource (o: FileSourceOptions): Source {
  const delimiter = o.delimiter ?? (extname(o.path).toLowerCase() === '.tsv' ? '\t' : ',')
  const text = readText(o.path)
  const lines = text.split('\n')
  const headerLine = (lines[0] ?? '').replace(/\r$/, '')
  if (headerLine.trim() === '') throw new TilekilnError('TK_SOURCE', `${o.path} has no CSV header line`, { source: o.path })
  const header = splitCsv(headerLine, delimiter)
  const schema = schemaOption(o)
  if (schema === undefined) {
    const rows: string[][] = []
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i]!.replace(/\r$/, '')
      if (l === '') continue
      try {
        const cells = splitCsv(l, delimiter)
        if (cells.length === header.length) rows.push(cells)
      } catch { /* dead-lettered when read */ }
    }
    return lineSource(o, { kind: 'csv', schema: inferCsvSchema(header, rows), header, delimiter, inferred: true }, 1)
  }
  return lineSource(o, { kind: 'csv', schema, header, delimiter, timestampMillis: timestampMillisFields(o.schema) }, 1)
}

/** A source over the lines of a text file; `skipLines` header lines are not records. */
function lineSource (o: FileSourceOptions, format: InputFormat, skipLines: number): Source {
  return {
    description: `file:${o.path}`,
    format,
    bounded: true,
    watermarks: o.watermarks ?? 'end',
    partitions: [0],
    checkpointName: `file:${basename(o.path)}`,
    positionName: 'line',
    async run (pusher: RecordPusher, signal: AbortSignal) {
      const from = await pusher.assigned([0])
      const first = from.get(0) ?? 0
      const stream = createReadStream(o.path, { highWaterMark: 1 << 20 })
      let carry: Buffer | null = null
      let line = 0
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        if (signal.aborted) break
        const buf: Buffer = carry === null ? chunk : Buffer.concat([carry, chunk])
        let start = 0
        for (;;) {
          const nl = buf.indexOf(10, start)
          if (nl < 0) break
          line++
          const end = nl > start && buf[nl - 1] === 13 ? nl - 1 : nl
          if (line > skipLines && line >= first && end > start) {
            const p = pusher.push(buf.subarray(start, end), 0, line)
            if (p !== undefined) await p
          }
          start = nl + 1
        }
        carry = start < buf.length ? Buffer.from(buf.subarray(start)) : null
      }
      if (carry !== null && carry.length > 0 && !signal.aborted) {
        line++
        if (line > skipLines && line >= first) {
          const p = pusher.push(carry, 0, line)
          if (p !== undefined) await p
        }
      }
      await pusher.flush()
    }
  }
}

/** The slice of avsc's read cursor that rawRecordType uses. */
interface Tap { buf: Buffer, pos: number }

/**
 * A writer type whose "decoded" records are their own bytes. avsc's `noDecode` mode does split a block into records,
 * but hands them out on a byte stream, which joins them again; in object mode, with this type, each record comes
 * out alone. Its end is found by skipping it with the writer schema (what `noDecode` does), without judging its
 * values: the worker decodes it and dead-letters it if it must.
 */
function rawRecordType (schema: unknown): avro.Type {
  const type = avro.Type.forSchema(schema as avro.Schema) as avro.Type & { _skip: (tap: Tap) => void }
  // avsc freezes its types: define the reader on a child object rather than assign it.
  return Object.create(type, {
    _read: {
      value: (tap: Tap): Buffer => {
        const start = tap.pos
        type._skip(tap)
        return tap.buf.subarray(start, tap.pos)
      }
    }
  }) as avro.Type
}

function avroContainerSource (o: FileSourceOptions): Source {
  // Read the header once to learn the writer schema; records are then streamed undecoded (noDecode) so the
  // workers decode them, like records from Kafka.
  let writerSchema: unknown
  // decode: false, or avsc hands back the header's metadata already parsed (the schema as an object, not JSON text).
  const header = avro.extractFileHeader(o.path, { decode: false })
  if (header === null) throw new TilekilnError('TK_SOURCE', `${o.path} is not an Avro object container file`, { source: o.path })
  try {
    writerSchema = JSON.parse((header.meta as Record<string, Buffer>)['avro.schema']!.toString('utf8'))
  } catch (e) {
    throw new TilekilnError('TK_SOURCE', `${o.path}: unreadable Avro schema in the file header`, { source: o.path }, { cause: e })
  }
  const schema = asStruct(fromAvroSchema(writerSchema), 'the Avro file schema')
  return {
    description: `file:${o.path}`,
    format: { kind: 'avro', schema, avroSchema: writerSchema, framing: 'raw' },
    bounded: true,
    watermarks: o.watermarks ?? 'end',
    partitions: [0],
    checkpointName: `file:${basename(o.path)}`,
    positionName: 'record',
    async run (pusher: RecordPusher, signal: AbortSignal) {
      const from = await pusher.assigned([0])
      const first = from.get(0) ?? 0
      const decoder = createReadStream(o.path).pipe(new avro.streams.BlockDecoder({ parseHook: rawRecordType }))
      let i = 0
      for await (const rec of decoder as AsyncIterable<Buffer>) {
        if (signal.aborted) break
        if (++i < first) continue
        const p = pusher.push(rec, 0, i)
        if (p !== undefined) await p
      }
      await pusher.flush()
    }
  }
}
