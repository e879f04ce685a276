// A real Redis server for tests: `redis-server` from the system (Debian package redis-server; .ci/run installs it),
// on 127.0.0.1 with a free port, no persistence, in a temp dir, killed on stop() and on process exit.
import { spawn } from 'node:child_process'
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, ownChild, sleep, tailFile, terminate } from './process.ts'

export interface RedisService {
  /** `redis://127.0.0.1:PORT` */
  url: string
  port: number
  pid: number
  logFile: string
  stop: () => Promise<void>
}

export interface StartRedisOptions {
  /** Path of redis-server. Default: $REDIS_SERVER or `redis-server` on PATH. */
  bin?: string
  startTimeoutMs?: number
}

export async function startRedis (opts: StartRedisOptions = {}): Promise<RedisService> {
  const bin = opts.bin ?? process.env.REDIS_SERVER ?? 'redis-server'
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(bin, opts.startTimeoutMs ?? 10_000)
    } catch (e) {
      // The probed port can be taken before redis binds it.
      if (attempt >= 3 || !String((e as Error).message).includes('Address already in use')) throw e
    }
  }
}

async function startOnce (bin: string, timeoutMs: number): Promise<RedisService> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-redis-'))
  const logFile = join(dir, 'redis.log')
  const out = openSync(logFile, 'a')
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir], {
    cwd: dir,
    stdio: ['ignore', out, out]
  })
  closeSync(out)
  const state: { exited: string | null } = { exited: null }
  child.once('exit', (code, sig) => { state.exited = sig !== null ? `signal ${sig}` : `exit code ${String(code)}` })
  child.once('error', e => { state.exited = (e as NodeJS.ErrnoException).code === 'ENOENT' ? `${bin} not found (install the redis-server package)` : e.message })
  // 'error' (ENOENT) arrives on the next tick; give it the chance before reading pid.
  await sleep(0)
  const pid = child.pid
  if (pid !== undefined) ownChild(child)
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (state.exited !== null) {
      const tail = tailFile(logFile)
      if (tail.includes('Address already in use')) rmSync(dir, { recursive: true, force: true })
      throw new Error(`redis-server exited during start-up (${state.exited}); its log is ${logFile}:\n${tail}`)
    }
    if (await pong(port)) break
    if (Date.now() > deadline) {
      if (pid !== undefined) await terminate(pid, 1000)
      throw new Error(`redis-server did not answer PING on 127.0.0.1:${port} within ${timeoutMs} ms; its log is ${logFile}:\n${tailFile(logFile)}`)
    }
    await sleep(50)
  }
  let stopped: Promise<void> | null = null
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: pid ?? 0,
    logFile,
    stop: async () => {
      stopped ??= (async () => {
        if (pid !== undefined) await terminate(pid, 3000)
        rmSync(dir, { recursive: true, force: true })
      })()
      await stopped
    }
  }
}

async function pong (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const s = connect({ host: '127.0.0.1', port })
    let buf = ''
    const done = (ok: boolean): void => { s.destroy(); resolve(ok) }
    s.setTimeout(1000, () => done(false))
    s.once('error', () => done(false))
    s.once('connect', () => s.write('PING\r\n'))
    s.on('data', d => {
      buf += d.toString('latin1')
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'))
    })
  })
}
