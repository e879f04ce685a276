// The `tilekiln` command: run | fetch | dump | help.

import { basename } from 'node:path'
import { compilePlan, type Plan } from '../config/plan.ts'
import { toHex } from '../codec/bytes.ts'
import { FileDeadLetters } from '../engine/dead-letter.ts'
import { Engine, type Progress } from '../engine/engine.ts'
import { describeError, isTilekilnError, TilekilnError } from '../errors.ts'
import { fetchFeatures, loadReadSide } from '../fetch/tiled-read.ts'
import { M } from '../metrics/metrics.ts'
import { helpText, type OptionSpec, parseNumberWithUnit, parseOptions, type ParsedOptions } from './options.ts'
import { openSource, openStore, readJsonFile } from './specs.ts'

const RUN: OptionSpec[] = [
  { name: 'group-by', type: 'string', arg: 'FILE', help: 'compiled Chronon GroupBy JSON (airbnb or Zipline flavour)' },
  { name: 'source', type: 'string', arg: 'SPEC', help: 'file:PATH (.jsonl/.csv/.avro) | generator[:k=v,…] | kafka:HOST:PORT/TOPIC' },
  { name: 'store', type: 'string', arg: 'SPEC', help: 'embedded:DIR (LMDB, no server)', default: 'embedded:.tilekiln/store' },
  { name: 'workers', type: 'number', arg: 'N', help: 'worker threads (each owns a share of the keys)', default: 1 },
  { name: 'trigger', type: 'string', arg: 'always|buffered:MS', help: 'when tiles are written: on every batch of events, or at most every MS per tile', default: 'always' },
  { name: 'until-end', type: 'boolean', help: 'stop when a bounded source is exhausted (files, generator with count=N); files always end' },
  { name: 'allowed-lateness', type: 'number', arg: 'MS', help: 'how long after the watermark passes a tile it still accepts events', default: 0 },
  { name: 'out-of-orderness', type: 'number', arg: 'MS', help: 'watermark = max event time − this', default: 300_000 },
  { name: 'idleness', type: 'number', arg: 'MS', help: 'a partition without records this long stops holding the watermark', default: 30_000 },
  { name: 'dead-letter', type: 'string', arg: 'FILE', help: 'JSON-lines file for records that cannot be aggregated', default: '.tilekiln/dead-letter.jsonl' },
  { name: 'schema', type: 'string', arg: 'FILE', help: 'Avro record schema (JSON) of the input; inferred from JSON/CSV files when absent' },
  { name: 'format', type: 'string', arg: 'json|csv|avro', help: 'input format of a file source (default: from the extension)' },
  { name: 'file-watermarks', type: 'string', arg: 'end|event', help: "a file's event time ends when the file does (end), or advances while reading (event)", default: 'end' },
  { name: 'flavour', type: 'string', arg: 'airbnb|zipline', help: 'which Chronon fork wrote the GroupBy (operations 18–20 differ); detected when absent' },
  { name: 'source-index', type: 'number', arg: 'N', help: 'which of the GroupBy\'s sources to run (default: the first with a topic)' },
  { name: 'kv-inflight', type: 'number', arg: 'N', help: 'store write requests in flight', default: 10 },
  { name: 'kv-timeout', type: 'number', arg: 'MS', help: 'a store write not acknowledged in time is retried', default: 1000 },
  { name: 'kv-queue', type: 'number', arg: 'PUTS', help: 'queued tile writes above which reading pauses (backpressure)', default: 250_000 },
  { name: 'linger', type: 'number', arg: 'MS', help: 'how long a partly filled batch waits for more records', default: 5 },
  { name: 'evaluator', type: 'string', arg: 'spark|column-refs', help: 'expression evaluator', default: 'spark' },
  { name: 'progress', type: 'number', arg: 'MS', help: 'interval of the live status line (0 = off)', default: 1000 },
  { name: 'json', type: 'boolean', help: 'print the final summary as JSON' }
]

const FETCH: OptionSpec[] = [
  { name: 'group-by', type: 'string', arg: 'FILE', help: 'compiled Chronon GroupBy JSON' },
  { name: 'store', type: 'string', arg: 'SPEC', help: 'embedded:DIR', default: 'embedded:.tilekiln/store' },
  { name: 'key', type: 'list', arg: 'COL=VALUE', help: 'a key column value (repeat for composite keys)' },
  { name: 'at', type: 'number', arg: 'MILLIS', help: 'query time (epoch ms); default now' },
  { name: 'flavour', type: 'string', arg: 'airbnb|zipline', help: 'which Chronon fork wrote the GroupBy' },
  { name: 'json', type: 'boolean', help: 'print one JSON object: output column → value' }
]

const DUMP: OptionSpec[] = [
  { name: 'store', type: 'string', arg: 'SPEC', help: 'embedded:DIR', default: 'embedded:.tilekiln/store' }
]

const USAGE = `tilekiln — Chronon GroupBy tiles from event streams, on Node.js

Commands:
  tilekiln run   --group-by FILE --source SPEC [--store SPEC] [--workers N] [--trigger always|buffered:MS] [--until-end] …
  tilekiln fetch --group-by FILE --key COL=VALUE [--key …] [--store SPEC] [--at MILLIS] [--json]
  tilekiln dump  [--store SPEC]          every key and value in the store, as sorted hex lines
  tilekiln help [COMMAND]                full option lists

Run 'tilekiln COMMAND --help' for every flag of a command.`

function loadPlan (path: unknown, flavour: unknown, sourceIndex?: unknown): Plan {
  if (typeof path !== 'string') throw new TilekilnError('TK_USAGE', '--group-by FILE is required')
  const json = readJsonFile(path, 'the GroupBy')
  return compilePlan(json, {
    flavour: flavour as 'airbnb' | 'zipline' | undefined,
    sourceIndex: sourceIndex as number | undefined,
    fallbackName: basename(path).replace(/\.json$/, '')
  })
}

function parseTrigger (s: string): { kind: 'always' } | { kind: 'buffered', millis: number } {
  if (s === 'always') return { kind: 'always' }
  if (s.startsWith('buffered')) {
    const ms = s === 'buffered' ? 100 : parseNumberWithUnit(s.slice('buffered:'.length))
    if (!Number.isFinite(ms) || ms <= 0) throw new TilekilnError('TK_USAGE', `bad trigger '${s}': use buffered:MS with MS > 0`)
    return { kind: 'buffered', millis: ms }
  }
  throw new TilekilnError('TK_USAGE', `unknown trigger '${s}': use always or buffered:MS`)
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')

function statusLine (p: Progress): string {
  const wm = Number.isFinite(p.watermark) ? new Date(p.watermark).toISOString().replace('.000Z', 'Z') : p.watermark > 0 ? 'end' : '—'
  const lag = Number.isFinite(p.eventTimeLagMillis) ? ` (${(p.eventTimeLagMillis / 1000).toFixed(1)} s event time)` : ''
  return `tilekiln ${(p.elapsedMillis / 1000).toFixed(1).padStart(6)}s | ${fmt(p.eventsPerSecond).padStart(9)} ev/s | events ${fmt(p.records)} | lag ${fmt(p.lagRecords)} rec${lag} | watermark ${wm} | keys ${fmt(p.liveKeys)} | tiles written ${fmt(p.tilesWritten)} | dead letters ${fmt(p.deadLetters)} (late ${fmt(p.lateEvents)})`
}

async function run (o: ParsedOptions): Promise<number> {
  const plan = loadPlan(o['group-by'], o.flavour, o['source-index'])
  if (typeof o.source !== 'string') throw new TilekilnError('TK_USAGE', '--source SPEC is required')
  const source = await openSource(o.source, plan, { schema: o.schema as string | undefined, format: o.format as string | undefined, fileWatermarks: o['file-watermarks'] as string | undefined })
  const store = openStore(o.store as string)
  const deadLetters = new FileDeadLetters(o['dead-letter'] as string)
  const progressMs = o.progress as number
  const engine = new Engine({
    groupBy: plan.json,
    planOptions: { flavour: plan.flavour, sourceIndex: o['source-index'] as number | undefined, fallbackName: plan.name },
    source,
    store,
    deadLetters,
    workers: o.workers as number,
    trigger: parseTrigger(o.trigger as string),
    allowedLatenessMillis: o['allowed-lateness'] as number,
    watermarks: { outOfOrdernessMillis: o['out-of-orderness'] as number, idlenessMillis: o.idleness as number },
    writer: { maxInFlight: o['kv-inflight'] as number, timeoutMillis: o['kv-timeout'] as number, maxQueuedPuts: o['kv-queue'] as number },
    lingerMillis: o.linger as number,
    evaluator: o.evaluator as 'spark' | 'column-refs',
    progressMillis: progressMs,
    onProgress: progressMs > 0 ? p => process.stderr.write(statusLine(p) + '\n') : undefined
  })
  process.stderr.write(`tilekiln: running ${plan.name} (${plan.tileParts.length} tile part(s), ${plan.tileSizeMillis / 60000}-minute tiles) from ${source.description} into ${store.description} with ${o.workers} worker(s)\n`)
  let stopping = false
  const onSignal = (): void => {
    if (stopping) process.exit(130)
    stopping = true
    process.stderr.write('tilekiln: stopping (flushing what is in flight; press Ctrl-C again to abort)…\n')
    engine.stop()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const summary = await engine.run()
    if (o.json === true) {
      process.stdout.write(JSON.stringify({ ...summary, metrics: Object.fromEntries(Object.values(M).map(n => [n, engine.metrics.counter(n)])) }) + '\n')
    } else {
      process.stderr.write(statusLine(summary) + '\n')
      process.stderr.write(`tilekiln: done. ${fmt(summary.records)} events in ${(summary.elapsedMillis / 1000).toFixed(1)} s (${fmt(summary.eventsPerSecond)} ev/s), ${fmt(summary.tilesWritten)} tile writes, ${fmt(summary.deadLetters)} dead letter(s)${summary.deadLetters > 0 ? ` in ${deadLetters.description}` : ''}; event-to-store latency p50 ${summary.latency.p50} ms, p99 ${summary.latency.p99} ms\n`)
    }
    return 0
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await deadLetters.close()
    await store.close()
  }
}

async function fetch (o: ParsedOptions): Promise<number> {
  const plan = loadPlan(o['group-by'], o.flavour)
  const store = openStore(o.store as string, { readOnly: true })
  try {
    const read = await loadReadSide(plan, store)
    const given = new Map<string, string>()
    for (const kv of (o.key as string[] | undefined) ?? []) {
      const eq = kv.indexOf('=')
      if (eq <= 0) throw new TilekilnError('TK_USAGE', `--key must be COL=VALUE, got '${kv}'`)
      given.set(kv.slice(0, eq), kv.slice(eq + 1))
    }
    const keyValues = plan.keyColumns.map(k => {
      const text = given.get(k)
      if (text === undefined) throw new TilekilnError('TK_USAGE', `missing --key ${k}=VALUE (key columns: ${plan.keyColumns.join(', ')})`)
      try {
        return read.keyCodec.parseText(k, text)
      } catch (e) {
        throw new TilekilnError('TK_USAGE', (e as Error).message)
      }
    })
    for (const k of given.keys()) if (!plan.keyColumns.includes(k)) throw new TilekilnError('TK_USAGE', `'${k}' is not a key column (key columns: ${plan.keyColumns.join(', ')})`)
    const at = (o.at as number | undefined) ?? Date.now()
    const result = await fetchFeatures(read, store, keyValues, at)
    if (o.json === true) {
      process.stdout.write(JSON.stringify(result.features) + '\n')
    } else {
      process.stdout.write(`${plan.name} at ${new Date(at).toISOString()} for ${plan.keyColumns.map((k, i) => `${k}=${String(keyValues[i])}`).join(', ')} (${result.tilesRead} tile(s))\n`)
      const width = Math.max(...Object.keys(result.features).map(k => k.length))
      for (const [k, v] of Object.entries(result.features)) process.stdout.write(`  ${k.padEnd(width)}  ${JSON.stringify(v)}\n`)
    }
    return 0
  } finally {
    await store.close()
  }
}

async function dump (o: ParsedOptions): Promise<number> {
  const store = openStore(o.store as string, { readOnly: true })
  try {
    const lines: string[] = []
    for await (const [k, v] of store.entries()) lines.push(`${toHex(k)} ${toHex(v)}`)
    lines.sort()
    process.stdout.write(lines.length > 0 ? lines.join('\n') + '\n' : '')
    return 0
  } finally {
    await store.close()
  }
}

const COMMANDS: Record<string, { summary: string, specs: OptionSpec[], fn: (o: ParsedOptions) => Promise<number> }> = {
  run: { summary: 'consume a source and keep the GroupBy\'s tiles fresh in the store', specs: RUN, fn: run },
  fetch: { summary: 'read a key\'s windowed feature values from the tiles', specs: FETCH, fn: fetch },
  dump: { summary: 'print every key and value in the store as sorted hex lines', specs: DUMP, fn: dump }
}

export async function main (argv: readonly string[]): Promise<number> {
  const [cmd, ...rest] = argv
  if (cmd === undefined || cmd === '--help' || cmd === '-h') { process.stdout.write(USAGE + '\n'); return cmd === undefined ? 1 : 0 }
  if (cmd === 'help') {
    const c = rest[0] === undefined ? undefined : COMMANDS[rest[0]]
    if (c === undefined) {
      process.stdout.write(USAGE + '\n\n' + Object.entries(COMMANDS).map(([n, x]) => helpText(n, x.summary, x.specs)).join('\n\n') + '\n')
    } else {
      process.stdout.write(helpText(rest[0]!, c.summary, c.specs) + '\n')
    }
    return 0
  }
  const command = COMMANDS[cmd]
  if (command === undefined) { process.stderr.write(`tilekiln: unknown command '${cmd}'\n\n${USAGE}\n`); return 2 }
  if (rest.includes('--help') || rest.includes('-h')) { process.stdout.write(helpText(cmd, command.summary, command.specs) + '\n'); return 0 }
  try {
    const { options } = parseOptions(rest, command.specs, cmd)
    return await command.fn(options)
  } catch (e) {
    const tag = isTilekilnError(e) ? ` [${e.code}]` : ''
    process.stderr.write(`tilekiln ${cmd}: ${describeError(e)}${tag}\n`)
    if (!isTilekilnError(e) && process.env.TILEKILN_DEBUG !== undefined) process.stderr.write(`${(e as Error).stack}\n`)
    return isTilekilnError(e) && e.code === 'TK_USAGE' ? 2 : 1
  }
}
