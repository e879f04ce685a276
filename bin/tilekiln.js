#!/usr/bin/env node
// Entry point of the `tilekiln` command. Builds on first use in a fresh clone (see scripts/bootstrap.mjs).
import { existsSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
if (!existsSync(new URL('../dist/src/cli/main.js', import.meta.url))) {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL('../scripts/bootstrap.mjs', import.meta.url))], { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
// On Node 24 the process restarts itself (same pid) with a smaller young generation: see src/cli/heap-flags.ts.
const { execWithHeapFlags } = await import('../dist/src/cli/heap-flags.js')
execWithHeapFlags(fileURLToPath(import.meta.url), process.argv.slice(2))
// A closed pipe (`tilekiln dump | head`) is not an error.
process.stdout.on('error', e => { if (e.code === 'EPIPE') process.exit(0); throw e })
const { main } = await import('../dist/src/cli/main.js')
process.exitCode = await main(process.argv.slice(2))
// The command is done. Whatever still holds the event loop open now (a client reconnecting to a node that went away,
// a socket a library left open) must not keep a stopped daemon running for ever: exit after a grace period, saying
// what held the process. Unref'd, so a process that ends by itself ends as before.
const EXIT_GRACE_MILLIS = Number(process.env.TILEKILN_EXIT_GRACE_MILLIS ?? 15_000)
setTimeout(() => {
  const held = process.getActiveResourcesInfo().filter(r => r !== 'Timeout')
  process.stderr.write(`tilekiln: the command ended, but ${held.length > 0 ? held.join(', ') : 'something'} kept the process open for ${EXIT_GRACE_MILLIS / 1000} s: exiting\n`)
  process.exit()
}, EXIT_GRACE_MILLIS).unref()
