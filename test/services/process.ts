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

/**
 * When a process started, in clock ticks since boot (/proc/<pid>/stat field 22); null when there is no such process
 * (or no /proc). A pid and its start time name one process: with pid_max 32768 and the suite starting thousands of
 * processes, a pid is reused within minutes, so a pid alone may name another process than the one we started.
 */
export function startTimeOf (pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // After the command name, which is in parentheses and may hold spaces: field 3 on.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

/** Start times of the processes this one started (see rememberStart): their pids are checked against them. */
const started = new Map<number, string>()

/**
 * Records the start time of a process this one just started, so that isAlive, waitForExit and terminate never take
 * another process that got its pid later for it (and never signal that one). ownChild does it for its children.
 */
export function rememberStart (pid: number): void {
  const t = startTimeOf(pid)
  if (t !== null) started.set(pid, t)
}

export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  const t = started.get(pid)
  return t === undefined || startTimeOf(pid) === t
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
  rememberStart(pid)
  owned.set(pid, child)
  child.once('exit', () => owned.delete(pid))
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on('exit', () => {
      // Only children that have not exited (an exited child's pid may be another process's by now).
      for (const c of owned.values()) c.kill('SIGKILL')
    })
  }
  // The watchdog compares start times, not just pids: when the child exits and its pid goes to a new process (a test
  // file of the unit stream, once), a pid-only watchdog took that process for the child and SIGKILLed it when this
  // process ended. Without /proc (start time empty) it is pid-only, as before.
  const watchdog = spawn('sh', ['-c', watchdogScript(process.pid, startTimeOf(process.pid) ?? '', pid, startTimeOf(pid) ?? '')], {
    detached: true,
    stdio: 'ignore'
  })
  watchdog.unref()
}

/**
 * The shell loop of ownChild's watchdog: while the parent (pid, start time) and the child are both the processes
 * they were, wait; then SIGKILL the child if it is still that process. An empty start time: by pid alone.
 */
export function watchdogScript (parent: number, parentStart: string, child: number, childStart: string): string {
  const st = 'st () { s=$(cat /proc/$1/stat 2>/dev/null) || { echo gone; return; }; s=${s##*) }; set -- $s; echo "${20}"; }'
  const same = (p: number, t: string): string => (t === '' ? `kill -0 ${p} 2>/dev/null` : `[ "$(st ${p})" = "${t}" ]`)
  return `${st}; while ${same(parent, parentStart)} && ${same(child, childStart)}; do sleep 1; done; if ${same(child, childStart)}; then kill -9 ${child} 2>/dev/null; fi; true`
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
