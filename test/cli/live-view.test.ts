// The live view on a terminal (a screen redrawn in place, log lines above it) and the status line elsewhere.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { LiveScreen, screenLines, statusLine } from '../../src/cli/live-view.ts'
import type { LiveSample } from '../../src/engine/live-stats.ts'
import { configureLogging, getLogger } from '../../src/log/logger.ts'

const NOW = 1_800_000_000_000
const sample: LiveSample = {
  at: NOW, elapsedMillis: 12_000, records: 2_398_464, eventsPerSecond: 201_003, averageEventsPerSecond: 199_871, sourceLag: 4096,
  partitions: '0-3', inFlight: 1000, watermark: NOW - 301_500, watermarkDelayMillis: 301_500, eventTimeLagMillis: 1500, lateEvents: 3,
  deadLetters: 7, tilesWritten: 2_391_100, tileWritesPerSecond: 150_000, p99LatencyMillis: 42, liveKeys: 100_000, queuedPuts: 12, fencedWrites: 0,
  workers: [{ worker: 0, load: 0.5, liveKeys: 50_000, openTiles: 60_000, stateBytes: 1 << 20, batchRecords: 8192 }, { worker: 1, load: 1, liveKeys: 50_000, openTiles: 61_000, stateBytes: 1 << 20, batchRecords: 65_536 }]
}

test('the status line: current and average events/s, Kafka lag, watermark delay, p99; `events N` kept for tools', () => {
  const line = statusLine(sample)
  assert.match(line, /201,003 ev\/s \(avg 199,871\)/)
  assert.match(line, /events 2,398,464/)
  assert.match(line, /source lag 4,096/)
  assert.match(line, /delay 5m 01s/)
  assert.match(line, /tiles written 2,391,100 \(150,000\/s\)/)
  assert.match(line, /p99 42 ms/)
  assert.match(line, /dead letters 7 \(late 3\)/)
  assert.match(statusLine({ ...sample, sourceLag: Number.NaN, p99LatencyMillis: Number.NaN }), /source lag — .* p99 — /)
})

test('the screen: every figure on its own line, a load bar per worker, nothing wider than the terminal', () => {
  const lines = screenLines(sample, 'g.v1 from kafka:b/t', false, 80)
  const text = lines.join('\n')
  for (const re of [/events\/s +201,003 last second, 199,871 average/, /Kafka lag +4,096 records/, /watermark delay +5m 01s/, /late events +3/, /dead letters +7/, /tile writes\/s +150,000/, /p99 event → store +42 ms/, /worker 0 +█{10}░{10} +50%/, /worker 1 +█{20} 100%/]) {
    assert.match(text, re)
  }
  for (const l of lines) assert.ok(l.length <= 80, `'${l}' is ${l.length} wide`)
  // Wide enough, each worker's line ends with its batch size (grown while the source outruns it).
  const wide = screenLines(sample, 'g.v1 from kafka:b/t', false, 160).join('\n')
  assert.match(wide, /worker 0 .* keys 50,000, open tiles 60,000, 1,024 KiB, batches of 8,192\n/)
  assert.match(wide, /worker 1 .* batches of 65,536/)
  assert.match(screenLines(sample, 'g.v1 from kafka:b/t', true, 160).join('\n'), /worker 0 +█{10}░{10} +50% +batches of 8,192/)
})

test('the screen is redrawn in place and log lines print above it', () => {
  let out = ''
  const stream = { columns: 100, isTTY: true, write: (s: string) => { out += s; return true } } as unknown as NodeJS.WriteStream
  configureLogging({ stream, format: 'pretty' })
  try {
    const screen = new LiveScreen(stream, 'g', false)
    screen.draw(sample)
    const height = screenLines(sample, 'g', false, 100).length
    out = ''
    screen.draw({ ...sample, records: 2_500_000 })
    assert.ok(out.startsWith(`\x1b[${height}F\x1b[J`), 'moves up over the previous screen and clears it')
    assert.match(out, /2,500,000 events/)
    out = ''
    getLogger().info('partition 3: took over at offset 10')
    assert.match(out, new RegExp(`^\\x1b\\[${height}F\\x1b\\[J\\d\\d:\\d\\d:\\d\\d\\.\\d{3} .*partition 3: took over at offset 10\\n[^]*2,500,000 events`), 'erase, the log line, the screen again')
    screen.close()
    out = ''
    getLogger().info('after')
    assert.doesNotMatch(out, /\x1b\[\d+F/, 'plain lines once the screen is closed')
  } finally {
    configureLogging({})
  }
})
