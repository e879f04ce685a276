// The whole test suite, and the one command CI runs (`npm test` → this file). It installs and builds when needed,
// starts the real services the integration tests use (Kafka broker, Redis) on 127.0.0.1, runs every
// dist/test/**/*.test.js with node:test, and stops the services again, whatever happens.
//
//   npm test                   everything
//   npm test -- --unit         only tests that need no external service (skips test/integration/)
//   npm test -- <substring>…   only test files whose path contains one of the substrings
//   npm test -- --serial       one file at a time (by default integration and unit files run as two streams)
//   npm test -- --node 24      the same on another Node major, installed from the npm registry's `node` package into
//                              .tilekiln/runtimes/ on first use (CI runs the suite on the machine's Node and on 24)
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { delimiter, dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { nodeRuntime } from './node-runtime.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

// --node MAJOR: run this very script again on that Node, with its bin first on PATH, so that everything the tests
// spawn (process.execPath, `node`, `npm start` in the README test) runs on it too.
const nodeFlag = process.argv.indexOf('--node')
if (nodeFlag !== -1) {
  const major = process.argv[nodeFlag + 1] ?? ''
  const rest = process.argv.slice(2).filter((_, i) => i !== nodeFlag - 2 && i !== nodeFlag - 1)
  let node
  try {
    node = nodeRuntime(major)
  } catch (e) {
    console.error(`tilekiln: --node: ${e.message}`)
    process.exit(2)
  }
  const bin = dirname(node)
  const version = spawnSync(node, ['--version'], { encoding: 'utf8', timeout: 30_000 }).stdout.trim()
  console.error(`tilekiln: running the tests on Node ${version} (${relative(root, node)})`)
  const child = spawn(node, [fileURLToPath(import.meta.url), ...rest], {
    cwd: root, stdio: 'inherit', env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` }
  })
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
  child.on('exit', (c, sig) => process.exit(c ?? (sig ? 1 : 0)))
  await new Promise(() => {}) // the child's exit ends this process
}

const boot = spawnSync(process.execPath, [join(root, 'scripts', 'bootstrap.mjs')], { cwd: root, stdio: 'inherit' })
if (boot.status !== 0) process.exit(boot.status ?? 1)

const args = process.argv.slice(2)
const unitOnly = args.includes('--unit')
const filters = args.filter(a => !a.startsWith('--'))

function walk (dir, out = []) {
  if (!existsSync(dir)) return out
  for (const f of readdirSync(dir)) {
    const p = join(dir, f)
    if (statSync(p).isDirectory()) walk(p, out)
    else if (p.endsWith('.test.js')) out.push(p)
  }
  return out
}

let files = walk(join(root, 'dist', 'test')).sort()
if (unitOnly) files = files.filter(f => !relative(root, f).includes(`${join('test', 'integration')}`))
if (filters.length > 0) files = files.filter(f => filters.some(s => relative(root, f).includes(s)))
if (files.length === 0) {
  console.error('no test files matched')
  process.exit(1)
}

// Two streams side by side: the integration files (Kafka, Redis: mostly waiting on sessions, restarts and timeouts)
// and the unit files (mostly CPU). Each stream runs its files one at a time, so two Kafka-heavy files never overlap;
// overlapping the streams cuts the suite's wall time by the unit files' share. The integration stream prints live,
// the unit stream's report is printed whole when it ends (interleaved spec output would be unreadable).
// `--serial` runs everything in one stream.
const isIntegration = f => relative(root, f).includes(join('test', 'integration'))
const integrationFiles = files.filter(isIntegration)
const unitFiles = files.filter(f => !isIntegration(f))
const serial = args.includes('--serial') || integrationFiles.length === 0 || unitFiles.length === 0

let services = null
const env = { ...process.env }
const children = new Set()
const stopServices = async () => {
  if (services !== null) {
    const s = services
    services = null
    await s.stop()
  }
}
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of children) c.kill(sig)
    stopServices().finally(() => process.exit(130))
  })
}

function runStream (streamFiles, streamEnv, buffered) {
  return new Promise(resolve => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=spec', ...streamFiles], { cwd: root, env: streamEnv, stdio: buffered ? ['ignore', 'pipe', 'pipe'] : 'inherit' })
    children.add(child)
    const out = []
    if (buffered) {
      child.stdout.on('data', d => out.push(d))
      child.stderr.on('data', d => out.push(d))
    }
    child.on('exit', (c, sig) => {
      children.delete(child)
      resolve({ code: c ?? (sig ? 1 : 0), output: Buffer.concat(out) })
    })
  })
}

const started = Date.now()
const unitRun = serial ? null : runStream(unitFiles, { ...process.env }, true)
if (integrationFiles.length > 0) {
  try {
    const mod = await import(pathToFileURL(join(root, 'dist', 'test', 'services', 'index.js')).href)
    services = await mod.startServices()
    Object.assign(env, services.env)
  } catch (e) {
    console.error('tilekiln: the test services did not start:', e)
    for (const c of children) c.kill('SIGTERM')
    await stopServices()
    process.exit(1)
  }
}
const mainRun = await runStream(serial ? files : integrationFiles, env, false)
await stopServices()
let code = mainRun.code
if (unitRun !== null) {
  const u = await unitRun
  process.stdout.write(`\n── unit tests (${unitFiles.length} files, run beside the integration tests above) ──\n`)
  process.stdout.write(u.output)
  code = code || u.code
}
console.error(`tests finished in ${((Date.now() - started) / 1000).toFixed(1)} s with exit code ${code}`)
process.exit(code)
