// Every command of README.md, run as pasted: the ```sh blocks, in order, line by line (a trailing `\` continues a
// line), from a scratch directory that looks like the repository's root (symlinks to examples/, bin/, dist/, …), so
// `.tilekiln/` and the files the commands write land there and not in the checkout. What the test changes in a
// command, and only that: `npx tilekiln` runs bin/tilekiln.js directly (what npx resolves to in the repository);
// the README's local addresses (Kafka 127.0.0.1:9092, Redis 127.0.0.1:6379, the Redis Cluster's 127.0.0.1:7000…,
// the schema registry 127.0.0.1:8081) become the test services', and its ports (8080, 9464) free ones.
//   * `# → TEXT` after a command: its stdout must hold TEXT (`…` stands for anything).
//   * `CMD &` starts CMD in the background; `kill %N` stops the Nth of them (each block's are stopped at its end).
//   * `npm start` runs until its first live line, then gets Ctrl-C (SIGINT) and must exit 0.
// Not run, each for its reason (NOT_RUN below): `npm test` (this is it), `npm run kafka:start|stop` (the test
// services' broker stands in), the `npm run bench:*` commands (minutes each; `bench:flink` needs Flink).
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { logMessages } from '../helpers/cli.ts'
import { repoRoot } from '../helpers/reference.ts'
import { freePort } from '../services/process.ts'
import { startSchemaRegistry, type SchemaRegistryService } from '../services/schema-registry.ts'

const KAFKA = process.env.TILEKILN_TEST_KAFKA
const REDIS = process.env.TILEKILN_TEST_REDIS
const CLUSTER = process.env.TILEKILN_TEST_REDIS_CLUSTER
const skip = KAFKA === undefined || REDIS === undefined || CLUSTER === undefined ? 'needs Kafka, Redis and a Redis Cluster: run through `npm test`' : false

const NOT_RUN: readonly [RegExp, string][] = [
  [/^npm test\b/, 'it is the test suite this test is part of'],
  [/^npm run kafka:(start|stop|status)\b/, 'the test services run the broker the commands use'],
  [/^npm run bench\b/, 'benchmarks take minutes each (bench:flink also builds a Flink job with Maven); they are run by hand (test/bench/smoke.test.ts runs every scenario at a tiny size)']
]
const COMMAND_TIMEOUT_MS = 180_000

interface Line { readonly text: string, readonly expect: string[] }
interface Block { readonly at: number, readonly lines: Line[] }

/** The README's sh blocks: commands with the `# →` lines that follow each. */
function shBlocks (markdown: string): Block[] {
  const blocks: Block[] = []
  const rows = markdown.split('\n')
  for (let i = 0; i < rows.length; i++) {
    if (rows[i]!.trim() !== '```sh') continue
    const block: Block = { at: i + 1, lines: [] }
    let pending = ''
    for (i++; i < rows.length && rows[i]!.trim() !== '```'; i++) {
      const row = rows[i]!
      const out = /^#\s*→\s?(.*)$/.exec(row.trim())
      if (out !== null) {
        const last = block.lines.at(-1)
        assert.ok(last !== undefined, `README.md:${i + 1}: an expected output before any command`)
        last.expect.push(out[1]!)
        continue
      }
      if (pending === '' && (row.trim() === '' || row.trim().startsWith('#'))) continue
      if (row.endsWith('\\')) { pending += row.slice(0, -1); continue }
      block.lines.push({ text: (pending + row).trim(), expect: [] })
      pending = ''
    }
    blocks.push(block)
  }
  return blocks
}

/** `a…b…c`: the parts in this order. */
function holds (stdout: string, expected: string): boolean {
  let at = 0
  for (const part of expected.split('…')) {
    const i = stdout.indexOf(part, at)
    if (i < 0) return false
    at = i + part.length
  }
  return true
}

interface Done { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string }

function start (command: string, cwd: string, timeoutMs: number, onStderr?: (chunk: string) => void, env: Record<string, string> = {}): { child: ChildProcess, done: Promise<Done> } {
  // A process group of its own, so a signal reaches npm's and sh's children too.
  const child = spawn('sh', ['-c', command], { cwd, detached: true, env: { ...process.env, FORCE_COLOR: '0', ...env } })
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', d => { stdout += String(d) })
  child.stderr!.on('data', d => { stderr += String(d); onStderr?.(String(d)) })
  const timer = setTimeout(() => { stderr += `\n[killed after ${timeoutMs} ms]`; signalGroup(child, 'SIGKILL') }, timeoutMs)
  const done = new Promise<Done>(resolve => child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }) }))
  return { child, done }
}

function signalGroup (child: ChildProcess, signal: NodeJS.Signals): void {
  try { process.kill(-child.pid!, signal) } catch {}
}

test('every command of the README runs as pasted', { skip, timeout: 900_000 }, async t => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8')
  const blocks = shBlocks(readme)
  assert.ok(blocks.length >= 5, `found ${blocks.length} sh blocks`)
  // Scratch root: the repository's files the commands read, by symlink; what they write stays here.
  const cwd = mkdtempSync(join(tmpdir(), 'tilekiln-readme-'))
  for (const f of ['examples', 'bin', 'dist', 'build', 'scripts', 'node_modules', 'package.json', 'package-lock.json', 'src', 'test', 'bench', 'assembly', 'tsconfig.json', 'asconfig.json']) {
    symlinkSync(join(repoRoot, f), join(cwd, f))
  }
  const services: { registry?: SchemaRegistryService } = {}
  const ports = { serve: await freePort(), metrics: await freePort() }
  const prefix = `readme-${process.pid}`
  const substitute = async (cmd: string): Promise<string> => {
    if (cmd.includes('127.0.0.1:8081')) services.registry ??= await startSchemaRegistry()
    return cmd
      .replace(/^npx tilekiln\b/, `node ${join(repoRoot, 'bin', 'tilekiln.js')}`)
      .replaceAll('redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002', CLUSTER!)
      .replaceAll('redis://127.0.0.1:6379', REDIS!)
      .replaceAll('prefix=examples', `prefix=${prefix}`)
      .replaceAll('127.0.0.1:9092', KAFKA!)
      .replaceAll('http://127.0.0.1:8081', services.registry?.url ?? 'http://127.0.0.1:8081')
      .replaceAll('127.0.0.1:8080', `127.0.0.1:${ports.serve}`)
      .replaceAll('--port 8080', `--port ${ports.serve}`)
      .replaceAll('--metrics-port 9464', `--metrics-port ${ports.metrics}`)
  }
  const notRun: string[] = []
  let ran = 0
  try {
    for (const block of blocks) {
      const background: { child: ChildProcess, done: Promise<Done>, text: string }[] = []
      try {
        for (const line of block.lines) {
          const where = `README.md block at line ${block.at}: ${line.text}`
          const reason = NOT_RUN.find(([re]) => re.test(line.text))
          if (reason !== undefined) { notRun.push(`${line.text} — ${reason[1]}`); continue }
          const kill = /^kill %(\d+)$/.exec(line.text)
          if (kill !== null) {
            const job = background[Number(kill[1]) - 1]
            assert.ok(job !== undefined, `${where}: no background job ${kill[1]}`)
            signalGroup(job.child, 'SIGTERM')
            const r = await job.done
            assert.ok(r.code === 0 || r.signal === 'SIGTERM', `${job.text}: exit ${r.code} ${r.signal}\n${r.stderr}`)
            continue
          }
          const cmd = await substitute(line.text)
          ran++
          if (cmd.endsWith('&')) {
            const job = start(cmd.slice(0, -1).trim(), cwd, COMMAND_TIMEOUT_MS)
            background.push({ ...job, text: line.text })
            assert.equal(line.expect.length, 0, `${where}: no output is checked of a background command`)
            continue
          }
          if (/^npm start\b/.test(cmd)) {
            const t0 = Date.now()
            let live!: () => void
            const firstLive = new Promise<void>(resolve => { live = resolve })
            // Not a terminal: status lines instead of the live view, every second as the view would redraw (a pipe's
            // default is every 30 s).
            let seen = ''
            const job = start(cmd, cwd, COMMAND_TIMEOUT_MS, chunk => { seen += chunk; if (/^tilekiln\s+[\d.]+s \|/m.test(logMessages(seen))) live() }, { TILEKILN_PROGRESS: '1000' })
            await Promise.race([firstLive, job.done])
            t.diagnostic(`npm start: first live line after ${((Date.now() - t0) / 1000).toFixed(1)} s`)
            await new Promise(resolve => setTimeout(resolve, 2000))
            signalGroup(job.child, 'SIGINT')
            const r = await job.done
            const said = logMessages(r.stderr)
            assert.match(said, /^tilekiln\s+[\d.]+s \|/m, `${where}: no live line\n${r.stderr}`)
            // Ctrl-C reaches npm and sh too, which die of it; the engine must have drained and said so.
            assert.ok(r.code === 0 || r.signal === 'SIGINT', `${where}: exit ${r.code} ${r.signal} after Ctrl-C\n${r.stderr.slice(-2000)}`)
            assert.match(said, /^done\. /m, `${where}: the engine did not finish after Ctrl-C\n${r.stderr.slice(-2000)}`)
            continue
          }
          const r = await start(cmd, cwd, COMMAND_TIMEOUT_MS).done
          assert.equal(r.code, 0, `${where}\n(ran: ${cmd})\nexit ${r.code} ${r.signal}\n${r.stderr.slice(-3000)}`)
          for (const e of line.expect) assert.ok(holds(r.stdout, e), `${where}\nstdout does not hold: ${e}\nstdout: ${r.stdout.slice(0, 2000)}`)
        }
      } finally {
        for (const job of background) signalGroup(job.child, 'SIGTERM')
        await Promise.all(background.map(async job => await job.done))
      }
    }
  } finally {
    await services.registry?.stop()
    rmSync(cwd, { recursive: true, force: true })
  }
  t.diagnostic(`ran ${ran} commands; not run: ${notRun.join('; ')}`)
  assert.ok(ran >= 25, `ran only ${ran} commands`)
})
