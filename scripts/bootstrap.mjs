// Makes a fresh clone runnable with nothing installed by hand: installs the npm dependencies when they are
// missing or older than package-lock.json, then rebuilds (WASM + TypeScript) when any source is newer than the
// mark dist/.built (scripts/build.mjs --if-stale; `npm ci` already built through `prepare`, so nothing is rebuilt).
// Used by `npm start`, `npm test` and the bench scripts; safe to run repeatedly.
import { spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

function sh (cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}

const installedMarker = join(root, 'node_modules', '.package-lock.json')
if (!existsSync(installedMarker) || statSync(installedMarker).mtimeMs < statSync(join(root, 'package-lock.json')).mtimeMs) {
  console.error('tilekiln: installing dependencies (npm ci)…')
  sh('npm', ['ci', '--no-audit', '--no-fund'])
}

// build.mjs decides (dist/.built against every source) and writes the mark.
const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), '--if-stale'], { cwd: root, stdio: 'inherit' })
if (r.status !== 0) process.exit(r.status ?? 1)
