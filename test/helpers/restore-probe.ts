// Run by test/engine/main-thread-detach.test.ts in a child process started with V8's --trace-protector-invalidation:
// an engine (1 worker) checkpoints every millisecond while it runs; a second engine (1 worker) resumes from the
// checkpoint that held the most open tiles, restoring them into its worker. Prints `[probe] restored N open tiles` on
// stderr, so the test knows the restore had something to hand over.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryDeadLetters } from '../../src/engine/dead-letter.ts'
import { Engine } from '../../src/engine/engine.ts'
import { MemoryStore } from '../../src/sink/memory-store.ts'
import { openFileSource } from '../../src/source/file.ts'
import { Random } from '../../src/source/generator.ts'
import { MemoryCheckpoints } from './checkpoints.ts'

const GROUP_BY = {
  metaData: { name: 'test.restore_probe.v1' },
  sources: [{ events: { table: 'test.events', topic: 'events', query: { selects: { user_id: 'user_id', amount: 'amount' }, timeColumn: 'ts' } } }],
  keyColumns: ['user_id'],
  aggregations: [{ inputColumn: 'amount', operation: 7, windows: [{ length: 1, timeUnit: 0 }] }]
}
const SCHEMA = { type: 'record', name: 'Event', fields: [{ name: 'user_id', type: 'long' }, { name: 'ts', type: 'long' }, { name: 'amount', type: 'double' }] }

const dir = mkdtempSync(join(tmpdir(), 'tilekiln-restore-probe-'))
try {
  const input = join(dir, 'events.jsonl')
  const rnd = new Random(5)
  const lines: string[] = []
  for (let i = 0; i < 6000; i++) lines.push(JSON.stringify({ user_id: rnd.int(200), ts: 1_700_000_000_000 + i * 600, amount: rnd.int(1000) / 10 }))
  writeFileSync(input, lines.join('\n') + '\n')

  const run = async (checkpoints: MemoryCheckpoints, log: (line: string) => void): Promise<void> => {
    const engine = new Engine({
      groupBy: GROUP_BY,
      source: await openFileSource({ path: input, schema: SCHEMA, watermarks: 'event' }),
      store: new MemoryStore(),
      deadLetters: new MemoryDeadLetters(),
      log,
      workers: 1,
      // Small slots: the source waits for the worker often, so checkpoints are taken while tiles are open.
      ring: { slots: 2, maxRecords: 256, dataBytes: 64 << 10 },
      checkpoints: { storage: checkpoints, intervalMillis: 1 }
    })
    await engine.run()
  }

  // Keep the checkpoint with the most open tiles (those taken once the input ended have none).
  const recording = new MemoryCheckpoints()
  let best: MemoryCheckpoints | null = null
  let bestEntries = 0
  recording.onWrite = () => {
    const entries = recording.latest()?.header.entries ?? 0
    if (entries > bestEntries) { best = new MemoryCheckpoints(recording); bestEntries = entries }
  }
  await run(recording, () => {})
  if (best === null) throw new Error(`none of ${recording.writes} checkpoints holds an open tile`)
  let restored = -1
  await run(best, line => {
    // "partition 0: took over at … N open tile(s), …" (the checkpoint lines that follow say "open tile(s)" too)
    const m = /took over .*, (\d+) open tile\(s\), /.exec(String(line))
    if (m !== null && restored < 0) restored = Number(m[1])
  })
  process.stderr.write(`[probe] restored ${restored} open tiles\n`)
} finally {
  rmSync(dir, { recursive: true, force: true })
}
