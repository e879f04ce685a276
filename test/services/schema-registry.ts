// A real schema registry for tests: Apicurio Registry (its in-memory distribution, a Quarkus app) from Maven Central,
// fetched once into a cache outside the repository, run on 127.0.0.1 with a free port. It serves the Confluent
// Schema Registry REST API under /apis/ccompat/v7, which is what tilekiln talks to.
//
//   const registry = await startSchemaRegistry()   // ~3 s; killed on stop() and on process exit
//   registry.url                                    // http://127.0.0.1:PORT/apis/ccompat/v7
//   await registry.stop()
//
// Started by the tests that need it (not by scripts/test.mjs for every integration run): it costs a JVM.
//
// Why Apicurio 2.6: Confluent's registry is not on Maven Central and Karapace is not on PyPI here; Apicurio 3.x
// needs Java 21 (this machine has 17). `io.apicurio:apicurio-registry-app:<v>:tar.gz:all` is the whole app (a
// Quarkus legacy-jar runner + lib/); its default storage is in memory (H2), so no database is needed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort, ownChild, sleep, tailFile, terminate } from './process.ts'

export const DEFAULT_APICURIO_VERSION = '2.6.13.Final'

export interface SchemaRegistryService {
  /** Base URL of the Confluent-compatible API. */
  url: string
  port: number
  pid: number
  dir: string
  logFile: string
  /** Milliseconds from spawning the JVM to the API answering. */
  startMillis: number
  stop: () => Promise<void>
}

export interface StartSchemaRegistryOptions {
  /** Apicurio Registry release (Maven Central). Default 2.6.13.Final, or $TILEKILN_APICURIO_VERSION. */
  version?: string
  /** Java heap, MiB. Default 256. */
  heapMb?: number
  startTimeoutMs?: number
  log?: (msg: string) => void
}

function cacheRoot (): string {
  return process.env.TILEKILN_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tilekiln')
}

function defaultLog (msg: string): void { process.stderr.write(msg + '\n') }

/**
 * The unpacked Apicurio Registry app (runner jar + lib/), downloading it with Maven on first use into a private
 * temp dir that is renamed into place at the end, so concurrent first uses never see half a directory.
 */
export function ensureApicurio (version = DEFAULT_APICURIO_VERSION, log: (msg: string) => void = defaultLog): string {
  const home = join(cacheRoot(), `apicurio-registry-${version}`)
  const runner = join(home, `apicurio-registry-app-${version}-runner.jar`)
  if (existsSync(join(home, '.complete'))) return runner
  mkdirSync(cacheRoot(), { recursive: true })
  const work = mkdtempSync(join(cacheRoot(), `.apicurio-${version}-`))
  try {
    log(`tilekiln: fetching Apicurio Registry ${version} from Maven Central into ${home} (once, ~140 MB)…`)
    const t0 = Date.now()
    const r = spawnSync('mvn', ['-B', '-q', 'dependency:copy', `-Dartifact=io.apicurio:apicurio-registry-app:${version}:tar.gz:all`, `-DoutputDirectory=${work}`, '-Dmdep.stripVersion=false'],
      { cwd: work, encoding: 'utf8', maxBuffer: 64 << 20 })
    const archive = readdirSync(work).find(f => f.endsWith('.tar.gz'))
    if (r.error !== undefined || r.status !== 0 || archive === undefined) {
      const why = r.error !== undefined ? r.error.message : `exit ${String(r.status)}`
      throw new Error(`could not fetch Apicurio Registry ${version} with Maven (${why}); is Maven installed (mvn)?\n${(r.stdout ?? '') + (r.stderr ?? '')}`.trimEnd())
    }
    const t = spawnSync('tar', ['-xzf', archive], { cwd: work, encoding: 'utf8' })
    if (t.status !== 0) throw new Error(`could not unpack ${archive}: ${t.stderr}`)
    rmSync(join(work, archive))
    if (!existsSync(join(work, `apicurio-registry-app-${version}-runner.jar`))) throw new Error(`${archive} has no apicurio-registry-app-${version}-runner.jar`)
    writeFileSync(join(work, '.complete'), `${version}\n`)
    try {
      renameSync(work, home)
    } catch (e) {
      // Another process finished first; its copy is as good as ours.
      if (!existsSync(join(home, '.complete'))) throw e
    }
    log(`tilekiln: Apicurio Registry ${version} fetched in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
  return runner
}

function javaBin (): string {
  return process.env.JAVA_HOME !== undefined ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java'
}

export async function startSchemaRegistry (opts: StartSchemaRegistryOptions = {}): Promise<SchemaRegistryService> {
  const version = opts.version ?? process.env.TILEKILN_APICURIO_VERSION ?? DEFAULT_APICURIO_VERSION
  const log = opts.log ?? defaultLog
  const runner = ensureApicurio(version, log)
  // A free port can be taken between the probe and the JVM's bind: that is an early exit; try again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(version, runner, opts, log)
    } catch (e) {
      if (attempt >= 3 || !/Address already in use|BindException|Port.*in use/i.test((e as Error).message)) throw e
    }
  }
}

async function startOnce (version: string, runner: string, opts: StartSchemaRegistryOptions, log: (msg: string) => void): Promise<SchemaRegistryService> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'tilekiln-registry-'))
  const logFile = join(dir, 'registry.log')
  const heap = opts.heapMb ?? 256
  const out = openSync(logFile, 'a')
  let child: ChildProcess
  const t0 = Date.now()
  try {
    // C1 only and the serial collector: it starts faster and stays small; a test registry serves a few requests.
    child = spawn(javaBin(), [
      `-Xmx${heap}m`, '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-XX:+ExitOnOutOfMemoryError', `-Djava.io.tmpdir=${dir}`,
      '-Dquarkus.http.host=127.0.0.1', `-Dquarkus.http.port=${port}`, '-Dquarkus.log.console.color=false',
      '-jar', runner
    ], { cwd: dir, stdio: ['ignore', out, out] })
  } finally {
    closeSync(out)
  }
  const pid = child.pid
  if (pid === undefined) throw new Error(`could not start java (${javaBin()}); is Java 17+ installed?`)
  const state: { exited: string | null } = { exited: null }
  child.once('exit', (code, sig) => { state.exited = sig !== null ? `signal ${sig}` : `exit code ${String(code)}` })
  child.once('error', e => { state.exited = e.message })
  ownChild(child)

  const url = `http://127.0.0.1:${port}/apis/ccompat/v7`
  const timeoutMs = opts.startTimeoutMs ?? 60_000
  try {
    for (;;) {
      if (state.exited !== null) throw new Error(`the schema registry exited during start-up (${state.exited}); its log is ${logFile}:\n${tailFile(logFile)}`)
      if (Date.now() - t0 > timeoutMs) throw new Error(`the schema registry did not answer on ${url} within ${timeoutMs} ms; its log is ${logFile}:\n${tailFile(logFile)}`)
      if (await answers(`${url}/subjects`)) break
      await sleep(100)
    }
  } catch (e) {
    await terminate(pid, 2000)
    rmSync(dir, { recursive: true, force: true })
    throw e
  }
  const startMillis = Date.now() - t0
  log(`tilekiln: Apicurio Registry ${version} ready on ${url} in ${(startMillis / 1000).toFixed(1)} s (pid ${pid}, log ${logFile})`)
  let stopped: Promise<void> | null = null
  const stop = async (): Promise<void> => {
    stopped ??= (async () => {
      await terminate(pid, 5000)
      rmSync(dir, { recursive: true, force: true })
    })()
    await stopped
  }
  return { url, port, pid, dir, logFile, startMillis, stop }
}

async function answers (url: string): Promise<boolean> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(1000) })
    await r.arrayBuffer()
    return r.ok
  } catch {
    return false
  }
}
