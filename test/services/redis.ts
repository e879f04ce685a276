// A real Redis server for tests: `redis-server` from the system (Debian package redis-server, installed here with
// apt-get when missing, so `npm test` alone works on a fresh machine), on 127.0.0.1 with a free port, no
// persistence, in a temp dir, killed on stop() and on process exit.
//
// Outage tests restart a server where it was: `startRedis({ port, dir, persist: true })` with the port and dir of
// the stopped one (AOF with appendfsync always, so every acknowledged write survives even a SIGKILL).
import { spawn, spawnSync } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, isAlive, ownChild, sleep, tailFile, terminate, waitForExit } from './process.ts'

export interface RedisService {
  /** `redis://127.0.0.1:PORT` */
  url: string
  port: number
  pid: number
  dir: string
  logFile: string
  /** SIGTERM (SIGKILL after 3 s) by default; `{ signal: 'SIGKILL' }` crashes it. A caller-given dir is kept. */
  stop: (opts?: { signal?: 'SIGTERM' | 'SIGKILL' }) => Promise<void>
}

export interface StartRedisOptions {
  /** Path of redis-server. Default: $REDIS_SERVER or `redis-server` on PATH. */
  bin?: string
  startTimeoutMs?: number
  /** Port to bind (a restart on the same port); absent: a free one. */
  port?: number
  /** Working dir (kept on stop, for a restart); absent: a temp dir, deleted on stop. */
  dir?: string
  /** Append-only file with fsync before every reply, so a restart in the same dir has every acknowledged write. */
  persist?: boolean
  /** More redis-server arguments (e.g. cluster mode). */
  args?: string[]
}

/** Installs Debian's redis-server when it is not on PATH (root, or passwordless sudo). */
export function ensureRedisServer (): void {
  if (spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status === 0) return
  const root = process.getuid?.() === 0
  const sudo = root ? [] : ['sudo', '-n']
  const run = (args: string[]): void => {
    const cmd = [...sudo, ...args]
    const r = spawnSync(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    if (r.status !== 0) throw new Error(`redis-server is not installed and '${cmd.join(' ')}' failed (exit ${String(r.status)}); install the redis-server package`)
  }
  process.stderr.write('services: installing redis-server (apt-get)…\n')
  run(['apt-get', 'update', '-qq'])
  run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'redis-server'])
  // The package may start a system-wide server; the tests run their own on free ports and need none.
  spawnSync(sudo[0] ?? 'service', sudo.length > 0 ? [...sudo.slice(1), 'service', 'redis-server', 'stop'] : ['redis-server', 'stop'], { stdio: 'ignore' })
}

export async function startRedis (opts: StartRedisOptions = {}): Promise<RedisService> {
  const bin = opts.bin ?? process.env.REDIS_SERVER ?? 'redis-server'
  if (bin === 'redis-server') ensureRedisServer()
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(bin, opts)
    } catch (e) {
      // The probed port can be taken before redis binds it.
      if (attempt >= 3 || opts.port !== undefined || !String((e as Error).message).includes('Address already in use')) throw e
    }
  }
}

async function startOnce (bin: string, opts: StartRedisOptions): Promise<RedisService> {
  const timeoutMs = opts.startTimeoutMs ?? 10_000
  const port = opts.port ?? await freePort()
  const temp = opts.dir === undefined
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'tilekiln-redis-'))
  mkdirSync(dir, { recursive: true })
  const logFile = join(dir, 'redis.log')
  const out = openSync(logFile, 'a')
  const persistence = opts.persist === true ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--daemonize', 'no', '--dir', dir, ...(opts.args ?? [])], {
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
      if (tail.includes('Address already in use') && temp) rmSync(dir, { recursive: true, force: true })
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
    dir,
    logFile,
    stop: async (o = {}) => {
      stopped ??= (async () => {
        if (pid !== undefined) {
          if (o.signal === 'SIGKILL') {
            if (isAlive(pid)) try { process.kill(pid, 'SIGKILL') } catch {}
            await waitForExit(pid, 5000)
          } else {
            await terminate(pid, 3000)
          }
        }
        if (temp) rmSync(dir, { recursive: true, force: true })
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
