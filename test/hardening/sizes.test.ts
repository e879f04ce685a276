// Hardening, sizes (issue 12, items 4 and 5): a record larger than a ring slot was a fatal error ("does not fit in a
// ring slot … raise the slot size", with no way to raise it), and a 3,000-byte string key blocked the writer forever
// (LMDB takes keys of at most ~1,978 bytes, the engine allowed 65,535). Both are dead letters now, decided before
// anything reaches the writer, and the other records are stored exactly as in a clean run.
import assert from 'node:assert/strict'
import { EMBEDDED_MAX_KEY_BYTES } from '../../src/sink/embedded-store.ts'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { tilekiln } from '../helpers/cli.ts'
import { groupBy, runFile, T0, tempDir, writeLines } from './helpers.ts'

const GB = groupBy('test.sizes.v1')
const SCHEMA = { type: 'record', name: 'E', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'long' }, { name: 'ts', type: 'long' }, { name: 'pad', type: ['null', 'string'] }] }
const good = Array.from({ length: 200 }, (_, i) => `{"k":"u${i % 7}","v":${i},"ts":${T0 + i * 1000}}`)

test('a 10 MB line is a dead letter with the default ring slot (4 MiB); the store is the clean run\'s', async () => {
  const tmp = tempDir('sizes-line')
  try {
    const huge = `{"k":"u1","v":5,"ts":${T0},"pad":"${'x'.repeat(10 << 20)}"}`
    const clean = await runFile(GB, writeLines(join(tmp.dir, 'clean.jsonl'), good), { source: { schema: SCHEMA } })
    const attacked = await runFile(GB, writeLines(join(tmp.dir, 'attacked.jsonl'), [...good.slice(0, 100), huge, ...good.slice(100)]), { source: { schema: SCHEMA } })
    assert.deepEqual(attacked.dead.map(d => [d.position, d.code]), [[101, 'TK_INPUT']])
    assert.equal(huge.length, 10485804)
    assert.match(attacked.dead[0]!.reason, /^record of 10485804 bytes is larger than a ring slot \(4194304 bytes; raise it with --ring-slot-bytes\); its first 65536 bytes are kept here$/)
    assert.deepEqual(attacked.lines, clean.lines)
    // With room for it, the same line is an ordinary record: the store is that of the run with a short pad.
    const short = await runFile(GB, writeLines(join(tmp.dir, 'short.jsonl'), [...good.slice(0, 100), `{"k":"u1","v":5,"ts":${T0},"pad":"x"}`, ...good.slice(100)]), { source: { schema: SCHEMA } })
    const roomy = await runFile(GB, join(tmp.dir, 'attacked.jsonl'), { source: { schema: SCHEMA }, engine: { ring: { dataBytes: 16 << 20 } } })
    assert.deepEqual(roomy.dead, [])
    assert.deepEqual(roomy.lines, short.lines)
    assert.notDeepEqual(roomy.lines, clean.lines)
  } finally {
    tmp.remove()
  }
})

for (const untiled of [false, true]) {
  test(`${untiled ? 'untiled' : 'tiled'}: a string key longer than the store takes (3,000 bytes into LMDB) is a dead letter; one at the limit is stored`, { timeout: 60_000 }, async () => {
    const tmp = tempDir('sizes-key')
    try {
      // Avro key: union branch (1) + length varint (2) + the string = the store's limit exactly.
      const limit = EMBEDDED_MAX_KEY_BYTES
      const atLimit = 'm'.repeat(limit - 3)
      const withLimitKey = [...good, `{"k":"${atLimit}","v":1,"ts":${T0}}`]
      const keys = [[atLimit], ...Array.from({ length: 7 }, (_, i) => [`u${i}`])]
      const clean = await runFile(GB, writeLines(join(tmp.dir, 'clean.jsonl'), withLimitKey), { source: { schema: SCHEMA }, engine: { untiled }, keys })
      assert.deepEqual(clean.dead, [])
      assert.deepEqual(clean.features[0], { v_count: 1, v_sum: 1 })
      const attacked = await runFile(GB, writeLines(join(tmp.dir, 'attacked.jsonl'), [...withLimitKey.slice(0, 50), `{"k":"${'k'.repeat(3000)}","v":1,"ts":${T0}}`, `{"k":"${'m'.repeat(limit - 2)}","v":1,"ts":${T0}}`, ...withLimitKey.slice(50)]), { source: { schema: SCHEMA }, engine: { untiled }, keys })
      assert.deepEqual(attacked.dead.map(d => [d.position, d.code, d.reason]), [
        [51, 'TK_INPUT', `the entity key is 3003 bytes; at most ${limit.toLocaleString('en-US')} can be stored`],
        [52, 'TK_INPUT', `the entity key is ${(limit + 1).toLocaleString('en-US').replace(',', '')} bytes; at most ${limit.toLocaleString('en-US')} can be stored`]
      ])
      // Untiled events are stored under their line number, which the attack shifts: compare what is read back.
      if (untiled) assert.deepEqual(attacked.features, clean.features)
      else assert.deepEqual(attacked.lines, clean.lines)
    } finally {
      tmp.remove()
    }
  })
}

test('the CLI: a 10 MB line is dead-lettered (exit 0), and --ring-slot-bytes makes room for it', async () => {
  const tmp = tempDir('sizes-cli')
  try {
    const gb = writeLines(join(tmp.dir, 'gb.json'), [JSON.stringify(GB)])
    const schema = writeLines(join(tmp.dir, 'schema.avsc'), [JSON.stringify(SCHEMA)])
    const events = writeLines(join(tmp.dir, 'e.jsonl'), [...good.slice(0, 3), `{"k":"u1","v":1000,"ts":${T0},"pad":"${'x'.repeat(10 << 20)}"}`])
    const dlq = join(tmp.dir, 'dlq.jsonl')
    const base = ['run', '--group-by', gb, '--source', `file:${events}`, '--schema', schema, '--progress', '0', '--json', '--dead-letter', dlq]
    const a = await tilekiln([...base, '--store', `embedded:${join(tmp.dir, 'a')}`])
    assert.equal(a.code, 0, a.stderr)
    assert.equal(JSON.parse(a.stdout).deadLetters, 1)
    const dead = JSON.parse(readFileSync(dlq, 'utf8').trim()) as { line: number, reason: string, record: string }
    assert.equal(dead.line, 4)
    assert.match(dead.reason, /larger than a ring slot/)
    assert.equal(dead.record.length, 65536)
    const b = await tilekiln([...base, '--store', `embedded:${join(tmp.dir, 'b')}`, '--ring-slot-bytes', String(16 << 20)])
    assert.equal(b.code, 0, b.stderr)
    assert.equal(JSON.parse(b.stdout).deadLetters, 0)
    const f = await tilekiln(['fetch', '--group-by', gb, '--store', `embedded:${join(tmp.dir, 'b')}`, '--key', 'k=u1', '--at', String(T0 + 86_400_000), '--json'])
    assert.deepEqual(JSON.parse(f.stdout), { v_count: 2, v_sum: 1001 })
    const bad = await tilekiln([...base, '--store', `embedded:${join(tmp.dir, 'c')}`, '--ring-slot-bytes', '12'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /--ring-slot-bytes must be an integer from 1024/)
  } finally {
    tmp.remove()
  }
})
