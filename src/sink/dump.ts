// What `tilekiln dump` prints: every entry of a store as a `KEYHEX VALUEHEX` line, sorted (so two stores with the
// same contents print the same bytes, whatever order their entries() streams in), repeated lines once (Redis's SCAN
// may report a key twice). In bounded memory: the store streams its entries, and once the lines held pass a budget
// they are sorted and spilled to a temporary file (a run); the runs are merged line by line at the end — an external
// merge sort. A store that fits in one budget never touches the disk.

import { once } from 'node:events'
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { getHeapStatistics } from 'node:v8'
import type { TileStore } from './store.ts'

export interface DumpOptions {
  /** Characters of lines held before a run is spilled (default: an eighth of the heap limit, at most 16 Mi). */
  readonly runChars?: number
  /** Where runs go (default: the OS temp dir). */
  readonly tmpDir?: string
  /**
   * The line of an entry, or null to leave it out (default: `KEYHEX VALUEHEX`). Lines are sorted as strings; a line
   * may start with a sort key ended by a tab, which is dropped when the line is printed (see `sortKeyed`).
   */
  readonly line?: (key: Uint8Array, value: Uint8Array) => string | null
  /** Lines carry a tab-terminated sort key to drop on output. */
  readonly sortKeyed?: boolean
}

/** Writes the sorted dump to `out` (honouring its backpressure); returns the number of lines written. */
export async function writeSortedDump (store: TileStore, out: NodeJS.WritableStream, options: DumpOptions = {}): Promise<number> {
  const budget = options.runChars ?? Math.min(16 << 20, Math.floor(getHeapStatistics().heap_size_limit / 8))
  let lines: string[] = []
  let chars = 0
  let dir: string | null = null
  const runs: string[] = []
  try {
    const lineOf = options.line ?? ((k: Uint8Array, v: Uint8Array) => `${hex(k)} ${hex(v)}`)
    for await (const [k, v] of store.entries()) {
      const line = lineOf(k, v)
      if (line === null) continue
      lines.push(line)
      chars += line.length
      if (chars >= budget) {
        dir ??= mkdtempSync(join(options.tmpDir ?? tmpdir(), 'tilekiln-dump-'))
        const path = join(dir, `run-${runs.length}`)
        await writeLines(sortUnique(lines), createWriteStream(path), true)
        runs.push(path)
        lines = []
        chars = 0
      }
    }
    const last = sortUnique(lines)
    lines = []
    const print = options.sortKeyed === true ? dropSortKeys : (x: AsyncIterable<string>) => x
    if (runs.length === 0) return await writeLines(print(arrayLines(last)), out, false)
    return await writeLines(print(merge([...runs.map(readLines), arrayLines(last)])), out, false)
  } finally {
    if (dir !== null) rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Lowercase hex, as codec/bytes.ts's toHex, but one flat string: toHex appends two characters at a time, which leaves
 * a rope of ~100 small strings per tile value (≈7 KB of heap per line: 2 GB for 300,000 tiles).
 */
export function hex (b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

function sortUnique (lines: string[]): string[] {
  lines.sort()
  let n = 0
  for (let i = 0; i < lines.length; i++) if (n === 0 || lines[i] !== lines[n - 1]) lines[n++] = lines[i]!
  lines.length = n
  return lines
}

async function * readLines (path: string): AsyncGenerator<string> {
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity })
  try {
    for await (const line of rl) yield line
  } finally {
    rl.close()
  }
}

async function * dropSortKeys (lines: AsyncIterable<string>): AsyncGenerator<string> {
  for await (const l of lines) yield l.slice(l.indexOf('\t') + 1)
}

async function * arrayLines (lines: string[]): AsyncGenerator<string> {
  for (const l of lines) yield l
}

/** K-way merge of sorted line sources into one sorted sequence without repeats (a binary heap of the heads). */
async function * merge (sources: AsyncGenerator<string>[]): AsyncGenerator<string> {
  const heap: { line: string, src: AsyncGenerator<string> }[] = []
  const less = (a: number, b: number): boolean => heap[a]!.line < heap[b]!.line
  const swap = (a: number, b: number): void => { const t = heap[a]!; heap[a] = heap[b]!; heap[b] = t }
  const up = (i: number): void => { while (i > 0 && less(i, (i - 1) >> 1)) { swap(i, (i - 1) >> 1); i = (i - 1) >> 1 } }
  const down = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < heap.length && less(l, m)) m = l
      if (r < heap.length && less(r, m)) m = r
      if (m === i) return
      swap(i, m)
      i = m
    }
  }
  for (const src of sources) {
    const first = await src.next()
    if (first.done !== true) { heap.push({ line: first.value, src }); up(heap.length - 1) }
  }
  let previous: string | null = null
  while (heap.length > 0) {
    const top = heap[0]!
    if (top.line !== previous) { previous = top.line; yield top.line }
    const next = await top.src.next()
    if (next.done === true) {
      const last = heap.pop()!
      if (heap.length > 0) { heap[0] = last; down(0) }
    } else {
      top.line = next.value
      down(0)
    }
  }
}

/** Writes lines (newline-terminated) in chunks of about 64 KiB, waiting for 'drain' when the stream asks to. */
async function writeLines (lines: Iterable<string> | AsyncIterable<string>, out: NodeJS.WritableStream, end: boolean): Promise<number> {
  let n = 0
  let chunk: string[] = []
  let size = 0
  const flush = async (): Promise<void> => {
    if (chunk.length === 0) return
    const text = chunk.join('\n') + '\n'
    chunk = []
    size = 0
    if (!out.write(text)) await once(out, 'drain')
  }
  for await (const line of lines) {
    chunk.push(line)
    size += line.length + 1
    n++
    if (size >= 1 << 16) await flush()
  }
  await flush()
  if (end) {
    out.end()
    await once(out, 'finish')
  }
  return n
}
