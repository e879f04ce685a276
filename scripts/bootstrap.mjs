// Makes a fresh clone runnable with nothing installed by hand: installs the npm dependencies when they are
// missing or older than package-lock.json, then rebuilds (WASM + TypeScript) when any source is newer than dist/.
// Used by `npm start`, `npm test` and the bench scripts; safe to run repeatedly.
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

function newest (p) {
  if (!existsSync(p)) return 0
  const s = statSync(p)
  if (!s.isDirectory()) return s.mtimeMs
  let t = 0
  for (const f of readdirSync(p)) t = Math.max(t, newest(join(p, f)))
  return t
}

function sh (cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) process.exit(r.status ?? 1)
}

const installedMarker = join(root, 'node_modules', '.package-lock.json')
if (!existsSync(installedMarker) || statSync(installedMarker).mtimeMs < statSync(join(root, 'package-lock.json')).mtimeMs) {
  console.error('tilekiln: installing dependencies (npm ci)…')
  sh('npm', ['ci', '--no-audit', '--no-fund'])
}

const builtMarker = join(root, 'dist', '.built')
const sources = Math.max(...['src', 'test', 'bench', 'assembly', 'tsconfig.json', 'asconfig.json', 'package-lock.json'].map(p => newest(join(root, p))))
if (!existsSync(builtMarker) || statSync(builtMarker).mtimeMs < sources) {
  console.error('tilekiln: building…')
  sh(process.execPath, [join(root, 'scripts', 'build.mjs')])
  writeFileSync(builtMarker, new Date().toISOString() + '\n')
}
