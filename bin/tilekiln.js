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
