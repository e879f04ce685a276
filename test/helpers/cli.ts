// Running the real `tilekiln` command, as a user would.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { repoRoot } from './reference.ts'

export interface CliResult { code: number, stdout: string, stderr: string }

/** stderr with each JSON log line replaced by its message (off a terminal the logger writes JSON lines). */
export function logMessages (stderr: string): string {
  return stderr.split('\n').map(l => {
    if (!l.startsWith('{')) return l
    try { return String((JSON.parse(l) as { msg?: unknown }).msg) } catch { return l }
  }).join('\n')
}

/** Runs `tilekiln` to completion; a run still going after `timeoutMs` is killed and reported (exit code 124). */
export function tilekiln (args: readonly string[], env: Record<string, string> = {}, timeoutMs = 180_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'tilekiln.js'), ...args], { cwd: repoRoot, env: { ...process.env, ...env } })
    let stdout = ''
    let stderr = ''
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutMs)
    child.stdout.on('data', d => { stdout += String(d) })
    child.stderr.on('data', d => { stderr += String(d) })
    child.on('error', reject)
    child.on('exit', code => {
      clearTimeout(timer)
      resolve(timedOut ? { code: 124, stdout, stderr: `${stderr}\n[killed: still running after ${timeoutMs} ms]` } : { code: code ?? 1, stdout, stderr })
    })
  })
}

export interface RunningCli {
  readonly child: import('node:child_process').ChildProcess
  /** Settles when the process exits; a run still going after its timeout is killed and reported (exit code 124). */
  readonly done: Promise<CliResult>
}

/**
 * Starts `tilekiln` and returns at once (for tests that signal or kill it). It cannot outlive `timeoutMs`: then it is
 * SIGKILLed and `done` says so, so no test can hang on a daemon that never ends.
 */
export function startTilekiln (args: readonly string[], env: Record<string, string> = {}, timeoutMs = 180_000): RunningCli {
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'tilekiln.js'), ...args], { cwd: repoRoot, env: { ...process.env, ...env } })
  let stdout = ''
  let stderr = ''
  let timedOut = false
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, timeoutMs)
  child.stdout!.on('data', d => { stdout += String(d) })
  child.stderr!.on('data', d => { stderr += String(d) })
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', e => { clearTimeout(timer); reject(e) })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve(timedOut
        ? { code: 124, stdout, stderr: `${stderr}\n[killed: still running after ${timeoutMs} ms]` }
        : { code: code ?? (signal !== null ? 128 : 1), stdout, stderr })
    })
  })
  return { child, done }
}

/**
 * The base URL (no trailing slash) a started `tilekiln serve` logs once it listens (`… on http://HOST:PORT/`);
 * rejects, with what it logged, if it exits first. Bounded by startTilekiln's own timeout.
 */
export async function listeningUrl (server: RunningCli): Promise<string> {
  return await new Promise<string>((resolve, reject) => {
    let stderr = ''
    server.child.stderr!.on('data', d => {
      stderr += String(d)
      const m = /on (http:\/\/[^ ]+)/.exec(stderr)
      if (m !== null) resolve(m[1]!.replace(/\/$/, ''))
    })
    server.child.once('exit', code => { reject(new Error(`serve exited ${code}: ${stderr}`)) })
  })
}
