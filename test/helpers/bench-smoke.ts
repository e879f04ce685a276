// Runs benchmark scenarios through the runner at their smoke size (bench/run.ts --smoke: about a second of work on
// tiny input, one round) into a scratch results directory, and checks each wrote a result with rows.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { repoRoot } from './reference.ts'

export interface SmokeResult { scenario: string, rows: Array<Record<string, unknown>>, machine: { node: string, cores: number }, git: { commit: string } }

export function smokeScenario (name: string, extra: string[] = [], timeoutMs = 40_000): SmokeResult {
  const out = mkdtempSync(join(tmpdir(), `tilekiln-bench-smoke-${name}-`))
  try {
    const runner = join(repoRoot, 'dist', 'bench', 'run.js')
    const r = spawnSync(process.execPath, [runner, name, '--smoke', '--out', out, '--timeout', String(Math.floor(timeoutMs / 1000)), ...extra],
      { cwd: repoRoot, encoding: 'utf8', timeout: timeoutMs + 5000, killSignal: 'SIGKILL', maxBuffer: 1 << 24 })
    assert.equal(r.status, 0, `npm run bench -- ${name} --smoke failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr.slice(-3000)}`)
    const file = join(out, `${name}.node${process.versions.node.split('.')[0]}.json`)
    assert.ok(existsSync(file), `${name} wrote no ${file}`)
    const result = JSON.parse(readFileSync(file, 'utf8')) as SmokeResult & { format: string }
    assert.equal(result.format, 'tilekiln-bench/1')
    assert.ok(result.rows.length > 0, `${name} measured no rows`)
    return result
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}
