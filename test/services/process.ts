// Plumbing shared by the service launchers: free ports, a log tail for error messages, and making sure a server we
// started never outlives the process that started it (also when that process dies without running its handlers).
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs'
import { createServer } from 'node:net'

/** A port that was free a moment ago on 127.0.0.1. The caller must cope with losing the race for it. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })
}

/** The last `maxBytes` of a log file, for error messages. */
export function tailFile (path: string, maxBytes = 4000): string {
  if (!existsSync(path)) return '(no log file)'
  const size = statSync(path).size
  const start = Math.max(0, size - maxBytes)
  const buf = Buffer.alloc(size - start)
  const fd = openSync(path, 'r')
  try { readSync(fd, buf, 0, buf.length, start) } finally { closeSync(fd) }
  return (start > 0 ? '…\n' : '') + buf.toString('utf8')
}

export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function waitForExit (pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false
    await sleep(50)
  }
  return true
}

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** Polls `cond` every 50 ms; throws, saying what it waited for, when `timeoutMs` pass first. */
export async function waitFor (cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`)
    await sleep(50)
  }
}

const owned = new Map<number, ChildProcess>()
let exitHookInstalled = false

/**
 * Ties a child server to this process. The 'exit' hook covers normal exits and uncaught exceptions; the watchdog (a
 * detached shell polling both pids) covers SIGKILL of this process, after which no JS runs here at all.
 */
export function ownChild (child: ChildProcess): void {
  const pid = child.pid
  if (pid === undefined) return
  owned.set(pid, child)
  child.once('exit', () => owned.delete(pid))
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on('exit', () => {
      for (const p of owned.keys()) {
        try { process.kill(p, 'SIGKILL') } catch {}
      }
    })
  }
  const watchdog = spawn('sh', ['-c', `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${pid} 2>/dev/null; do sleep 1; done; kill -9 ${pid} 2>/dev/null; true`], {
    detached: true,
    stdio: 'ignore'
  })
  watchdog.unref()
}

/** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process is gone. */
export async function terminate (pid: number, graceMs: number): Promise<void> {
  if (!isAlive(pid)) return
  try { process.kill(pid, 'SIGTERM') } catch {}
  if (await waitForExit(pid, graceMs)) return
  try { process.kill(pid, 'SIGKILL') } catch {}
  await waitForExit(pid, 5000)
}

/**
 * What each thread of a live process is doing, from /proc (Linux; '' elsewhere): name, state (R running, S sleeping,
 * D in I/O), CPU milliseconds spent over a `sampleMs` window, and the kernel function it waits in. Tells a hung
 * process's busy loop (main thread R, CPU ≈ sampleMs) from one blocked in a call (S/D, no CPU, its wchan).
 */
export async function threadStates (pid: number, sampleMs = 1000): Promise<string> {
  const tasks = (): Map<string, { comm: string, state: string, cpu: number, wchan: string }> => {
    const out = new Map<string, { comm: string, state: string, cpu: number, wchan: string }>()
    let ids: string[] = []
    try { ids = readdirSync(`/proc/${pid}/task`) } catch { return out }
    for (const id of ids) {
      try {
        const stat = readFileSync(`/proc/${pid}/task/${id}/stat`, 'utf8')
        // comm is in parentheses and may hold spaces: the fields after it start at the last ')'.
        const close = stat.lastIndexOf(')')
        const rest = stat.slice(close + 2).split(' ')
        let wchan = ''
        try { wchan = readFileSync(`/proc/${pid}/task/${id}/wchan`, 'utf8') } catch {}
        out.set(id, { comm: stat.slice(stat.indexOf('(') + 1, close), state: rest[0] ?? '?', cpu: Number(rest[11]) + Number(rest[12]), wchan })
      } catch {}
    }
    return out
  }
  const before = tasks()
  await sleep(sampleMs)
  const after = tasks()
  const tick = 10 // ms per clock tick (USER_HZ = 100 on Linux)
  return [...after].map(([id, t]) => `${id === String(pid) ? 'main' : id} ${t.comm} ${t.state} cpu ${(t.cpu - (before.get(id)?.cpu ?? t.cpu)) * tick} ms/${sampleMs} ms${t.wchan !== '' && t.wchan !== '0' ? ` in ${t.wchan}` : ''}`).join('\n')
}
