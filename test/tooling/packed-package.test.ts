// The package as a user gets it: `npm pack`, installed into a fresh TypeScript project (from the npm cache: the
// dependencies are the ones this checkout installed), used through `import … from 'tilekiln'` only. The project
// type-checks against the shipped declarations (and a misuse must not type-check: the declarations are not `any`),
// then runs: the engine tiles the examples' returns into a store, and examples/embedding/feature-service.ts (the
// README's embedding example) serves them in process and over HTTP.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { repoRoot } from '../helpers/reference.ts'

interface Out { code: number | null, stdout: string, stderr: string }

function run (cmd: string, args: readonly string[], cwd: string, timeoutMs: number, env: Record<string, string> = {}): Promise<Out> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => { stderr += `\n[killed after ${timeoutMs} ms]`; child.kill('SIGKILL') }, timeoutMs)
    child.stdout.on('data', d => { stdout += String(d) })
    child.stderr.on('data', d => { stderr += String(d) })
    child.on('error', reject)
    child.on('exit', code => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

const TSCONFIG = {
  compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: ['node'], outDir: 'out', skipLibCheck: false, lib: ['ES2023'] },
  include: ['*.ts']
}

const ENGINE_APP = `
import { readFileSync } from 'node:fs'
import { compilePlan, EmbeddedStore, Engine, MemoryDeadLetters, openFileSource, type RunSummary, TilekilnError } from 'tilekiln'

const [groupByFile, eventsFile, storeDir] = process.argv.slice(2) as [string, string, string]
const groupBy: unknown = JSON.parse(readFileSync(groupByFile, 'utf8'))
console.log('plan', compilePlan(groupBy).name)
const store = new EmbeddedStore(storeDir)
const deadLetters = new MemoryDeadLetters()
const engine = new Engine({ groupBy, source: await openFileSource({ path: eventsFile }), store, deadLetters, workers: 1, progressMillis: 0, log: () => {} })
const summary: RunSummary = await engine.run()
await store.close()
console.log('records', summary.records, 'dead letters', deadLetters.records.length)
try {
  compilePlan({ metaData: { name: 'broken' } })
} catch (e) {
  if (!(e instanceof TilekilnError)) throw e
  console.log('refused', e.code)
}
`

const MISUSE = `
import { fetchFeatures, type ReadSide, type TileStore } from 'tilekiln'
export async function wrong (read: ReadSide, store: TileStore): Promise<number> {
  const r = await fetchFeatures(read, store, [7], '2023-12-01')
  return r.features
}
`

test('the packed package installs into a TypeScript project, type-checks and runs', { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-pack-'))
  try {
    // --ignore-scripts: pack what is built (npm test built it) instead of rebuilding dist/ under the running tests.
    const pack = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', dir], repoRoot, 120_000)
    assert.equal(pack.code, 0, pack.stderr)
    const tarball = readdirSync(dir).find(f => f.endsWith('.tgz'))
    assert.ok(tarball !== undefined, pack.stdout)

    const app = join(dir, 'app')
    mkdirSync(app)
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }))
    const typesNode = JSON.parse(readFileSync(join(repoRoot, 'node_modules', '@types', 'node', 'package.json'), 'utf8')).version as string
    const install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, tarball), `@types/node@${typesNode}`], app, 300_000)
    assert.equal(install.code, 0, install.stderr)

    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG))
    writeFileSync(join(app, 'engine-app.ts'), ENGINE_APP)
    copyFileSync(join(repoRoot, 'examples', 'embedding', 'feature-service.ts'), join(app, 'feature-service.ts'))
    const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc')
    const check = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], app, 180_000)
    assert.equal(check.code, 0, `tsc failed:\n${check.stdout}${check.stderr}`)

    // The declarations are real types: a wrong call does not compile.
    writeFileSync(join(app, 'misuse.ts'), MISUSE)
    const wrong = await run(process.execPath, [tsc, '-p', 'tsconfig.json', '--noEmit'], app, 180_000)
    assert.notEqual(wrong.code, 0, 'a misuse type-checked')
    assert.match(wrong.stdout, /misuse\.ts\(4,\d+\): error TS2345/)
    assert.match(wrong.stdout, /misuse\.ts\(5,\d+\): error TS2322/)
    rmSync(join(app, 'misuse.ts'))

    const store = join(dir, 'store')
    const engine = await run(process.execPath, ['out/engine-app.js', join(repoRoot, 'examples', 'group_bys', 'returns.v1.json'), join(repoRoot, 'examples', 'events', 'returns.csv'), store], app, 120_000)
    assert.equal(engine.code, 0, engine.stderr)
    assert.match(engine.stdout, /^plan examples\.returns\.v1$/m)
    assert.match(engine.stdout, /^records 300 dead letters 0$/m)
    assert.match(engine.stdout, /^refused TK_CONFIG$/m)

    const service = spawn(process.execPath, ['out/feature-service.js', store, join(repoRoot, 'examples', 'group_bys', 'returns.v1.json')], { cwd: app, env: { ...process.env, PORT: '0' } })
    const killer = setTimeout(() => service.kill('SIGKILL'), 120_000)
    try {
      let stdout = ''
      let stderr = ''
      service.stderr.on('data', d => { stderr += String(d) })
      const port = await new Promise<number>((resolve, reject) => {
        service.stdout.on('data', d => {
          stdout += String(d)
          const m = /^listening on (\d+)$/m.exec(stdout)
          if (m !== null) resolve(Number(m[1]))
        })
        service.on('exit', code => reject(new Error(`the service exited (${code}): ${stdout}${stderr}`)))
      })
      assert.match(stdout, /^user 7 on 2023-12-01: refund_amt_sum_14d=684 \(7 tiles\)$/m)
      assert.match(stdout, /^users 7 and 8 on 2023-12-01: refund_amt_sum_14d=684, \S+$/m)
      const r = await fetch(`http://127.0.0.1:${port}/features/v1/features/examples.returns.v1?user_id=7&at=1701388800000`)
      assert.equal(r.status, 200)
      const body = await r.json() as { features: Record<string, unknown> }
      assert.equal(body.features.refund_amt_sum_14d, 684)
      assert.equal(body.features.refund_amt_count_30d, 7)
      assert.equal(await (await fetch(`http://127.0.0.1:${port}/hello`)).text(), 'hello\n')
      const bad = await fetch(`http://127.0.0.1:${port}/features/v1/features/examples.returns.v1?user=7`)
      assert.equal(bad.status, 400)
    } finally {
      clearTimeout(killer)
      service.kill('SIGTERM')
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
