// A command that is done exits even when something still holds its event loop (bin/tilekiln.js): a stopped daemon
// whose client keeps reconnecting to a node that went away must not run for ever.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { tilekiln } from '../helpers/cli.ts'

test('after the command ends, a handle left open keeps the process at most the exit grace, and says what it was', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-exit-grace-'))
  try {
    // A timer that never ends and a listening socket: what a leaked client leaves behind.
    const preload = join(dir, 'leak.cjs')
    writeFileSync(preload, "setInterval(() => {}, 1000); require('net').createServer().listen(0, '127.0.0.1')\n")
    const started = Date.now()
    const r = await tilekiln(['--version'], { NODE_OPTIONS: `-r ${preload}`, TILEKILN_EXIT_GRACE_MILLIS: '500' }, 60_000)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^tilekiln /)
    assert.match(r.stderr, /the command ended, but .*TCPServerWrap.* kept the process open for 0\.5 s: exiting/)
    assert.ok(Date.now() - started < 30_000)
    // A process that ends by itself ends at once, and says nothing.
    const clean = await tilekiln(['--version'], { TILEKILN_EXIT_GRACE_MILLIS: '60000' }, 30_000)
    assert.equal(clean.code, 0)
    assert.doesNotMatch(clean.stderr, /kept the process open/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
