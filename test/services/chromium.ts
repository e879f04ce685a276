// A headless browser for the status page test: Debian's `chromium`, installed with apt-get when missing (as redis.ts
// installs redis-server), driven by playwright-core with `executablePath` (no browser download).
import { spawnSync } from 'node:child_process'

/** The path of a Chromium to drive, installing Debian's package if possible; null with the reason otherwise. */
export function ensureChromium (): { path: string } | { path: null, reason: string } {
  const found = (): string | null => {
    if (process.env.CHROMIUM_PATH !== undefined && process.env.CHROMIUM_PATH !== '') return process.env.CHROMIUM_PATH
    const r = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' })
    return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim().split('\n')[0]! : null
  }
  const have = found()
  if (have !== null) return { path: have }
  const root = process.getuid?.() === 0
  const sudo = root ? [] : ['sudo', '-n']
  const run = (args: string[]): boolean => {
    const cmd = [...sudo, ...args]
    return spawnSync(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeout: 600_000 }).status === 0
  }
  process.stderr.write('services: installing chromium (apt-get)…\n')
  if (!run(['apt-get', 'update', '-qq']) || !run(['apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'chromium'])) {
    return { path: null, reason: 'chromium is not installed and apt-get could not install it (set CHROMIUM_PATH to a Chromium, or install Debian\'s chromium package)' }
  }
  const now = found()
  return now === null ? { path: null, reason: 'apt-get installed chromium but it is not on PATH' } : { path: now }
}
