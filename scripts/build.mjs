// Build step: compile every AssemblyScript entry to build/<name>.wasm, then type-check and emit TypeScript to dist/.
// Nothing generated is committed; `npm install` runs this through the `prepare` script.
import { spawnSync } from 'node:child_process'
import { readFileSync, mkdirSync, readdirSync, statSync, existsSync } from 'node:fs'
import { basename, join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = (name) => join(root, 'node_modules', '.bin', name)

function run (cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) {
    console.error(`build: ${basename(cmd)} ${args.join(' ')} failed (exit ${r.status})`)
    process.exit(r.status ?? 1)
  }
}

function newestMtime (dir) {
  let t = 0
  for (const f of readdirSync(dir)) {
    const p = join(dir, f)
    const s = statSync(p)
    t = Math.max(t, s.isDirectory() ? newestMtime(p) : s.mtimeMs)
  }
  return t
}

const asconfig = JSON.parse(readFileSync(join(root, 'asconfig.json'), 'utf8'))
mkdirSync(join(root, 'build'), { recursive: true })
const assemblyTime = Math.max(newestMtime(join(root, 'assembly')), statSync(join(root, 'asconfig.json')).mtimeMs)
// Each module is compiled on its own: asc would add asconfig's `entries` to every output, so the list lives
// under `modules`, which asc ignores.
for (const entry of asconfig.modules) {
  const out = join(root, 'build', basename(entry, '.ts') + '.wasm')
  if (existsSync(out) && statSync(out).mtimeMs >= assemblyTime) continue
  run(bin('asc'), [entry, '--config', 'asconfig.json', '--target', 'release', '--outFile', out])
}
run(bin('tsc'), ['-p', 'tsconfig.json'])
