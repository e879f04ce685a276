// Build step: compile every AssemblyScript entry to build/<name>.wasm, then type-check and emit TypeScript to dist/,
// and mark dist/ built (dist/.built). Nothing generated is committed.
//   node scripts/build.mjs              build (npm run build)
//   node scripts/build.mjs --if-stale   build only when a source is newer than the mark: the `prepare` script, which
//                                       npm runs on `npm ci` and again when `npx tilekiln` first links this directory
//                                       into its cache; scripts/bootstrap.mjs too. A built tree is never rebuilt.
import { spawn } from 'node:child_process'
import { readFileSync, mkdirSync, readdirSync, statSync, existsSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { basename, join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const bin = (name) => join(root, 'node_modules', '.bin', name)
const builtMarker = join(root, 'dist', '.built')

/** Newest modification time under p (0 when missing). */
function newest (p) {
  if (!existsSync(p)) return 0
  const s = statSync(p)
  if (!s.isDirectory()) return s.mtimeMs
  let t = 0
  for (const f of readdirSync(p)) t = Math.max(t, newest(join(p, f)))
  return t
}

/** Every input of the build; dist/.built must be newer than all of them. */
function isStale () {
  const sources = Math.max(...['src', 'test', 'bench', 'assembly', 'tsconfig.json', 'asconfig.json', 'package-lock.json'].map(p => newest(join(root, p))))
  return !existsSync(builtMarker) || statSync(builtMarker).mtimeMs < sources
}

if (process.argv.includes('--if-stale')) {
  if (!isStale()) process.exit(0)
  console.error('tilekiln: building (AssemblyScript → build/*.wasm, TypeScript → dist/)…')
}

/** Runs the commands, as many at once as there are cores (tsc and the asc compiles do not depend on each other). */
async function runAll (jobs) {
  const failed = []
  let next = 0
  const lane = async () => {
    while (next < jobs.length) {
      const [cmd, args] = jobs[next++]
      const child = spawn(cmd, args, { cwd: root, stdio: 'inherit' })
      const code = await new Promise(resolve => child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0))))
      if (code !== 0) failed.push(`build: ${basename(cmd)} ${args.join(' ')} failed (exit ${code})`)
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs.length, availableParallelism())) }, lane))
  if (failed.length > 0) {
    for (const f of failed) console.error(f)
    process.exit(1)
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
// tsc first: it takes longest. Each module is compiled on its own: asc would add asconfig's `entries` to every
// output, so the list lives under `modules`, which asc ignores.
const jobs = [[bin('tsc'), ['-p', 'tsconfig.json']]]
for (const entry of asconfig.modules) {
  const out = join(root, 'build', basename(entry, '.ts') + '.wasm')
  if (existsSync(out) && statSync(out).mtimeMs >= assemblyTime) continue
  jobs.push([bin('asc'), [entry, '--config', 'asconfig.json', '--target', 'release', '--outFile', out]])
}
await runAll(jobs)
writeFileSync(builtMarker, new Date().toISOString() + '\n')
