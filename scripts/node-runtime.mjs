// Another Node major for tests and benchmarks, from the npm registry's `node` package (it carries the official
// binary), installed once into .tilekiln/runtimes/node<major>/. The one place that knows where runtimes live:
// scripts/test.mjs (`npm test -- --node 24`) and the bench runner (`npm run bench -- … --node 24`) both use it.
//
//   node scripts/node-runtime.mjs 24     prints the path of Node 24's binary, installing it first if needed
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/** The binary of Node `major` (digits), installed into .tilekiln/runtimes/ on first use; throws if it cannot be. */
export function nodeRuntime (major) {
  if (!/^[0-9]+$/.test(String(major))) throw new Error(`a Node major version is digits (e.g. 24), got "${major}"`)
  const runtime = join(root, '.tilekiln', 'runtimes', `node${major}`)
  const bin = join(runtime, 'node_modules', 'node', 'bin', 'node')
  if (!existsSync(bin)) {
    console.error(`tilekiln: installing Node ${major} from the npm registry (node@${major}) into ${relative(root, runtime)}…`)
    const r = spawnSync('npm', ['install', '--prefix', runtime, '--no-audit', '--no-fund', '--no-save', `node@${major}`], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 })
    if (r.status !== 0 || !existsSync(bin)) throw new Error(`could not install node@${major} (npm exit ${r.status ?? r.signal})`)
  }
  return bin
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    process.stdout.write(nodeRuntime(process.argv[2] ?? '') + '\n')
  } catch (e) {
    console.error(`tilekiln: ${e.message}`)
    process.exit(1)
  }
}
