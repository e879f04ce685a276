// The V8 flags a tilekiln process runs with: the daemon (bin/tilekiln.js) and the benchmarks that run its engine, so
// that they measure what runs.
//
// Node 24's V8 sizes the young generation from the machine's memory: on a 24 GiB machine the main thread's new space
// grew to 108–128 MB resident (16–32 MB on Node 20), though what it holds at once is a few MB. `--max-semi-space-size`
// is the only knob, and it is process-wide: it also overrides each worker's own young-generation limit
// (worker-pool.ts), so it is a trade — measured on Node 24 (bench engine, 3M events, two interleaved pairs per row),
// 8 MB semi-spaces took peak RSS 510 / 506 → 433 / 423 MB with 2 workers on uniform keys and 425 / 408 → 328 / 334
// with 1 worker, and cost 4–15 MB on the rows whose main thread allocates little (Zipf keys, the buffered trigger),
// with events/s level. On Node 20 the same flag measured no less memory, so it is left alone there.

/** Semi-space size (MB) for Node ≥ 24. */
export const SEMI_SPACE_MB = 8

/**
 * Flags to add to a process of this Node started with `execArgv`: none below Node 24, and none when the semi-space
 * size is given already (in `execArgv` or in NODE_OPTIONS: the user's choice stands). For a child process (a
 * benchmark's engine), `execArgv` is what the child is started with, not this process's: children do not inherit it.
 */
export function heapFlags (execArgv: readonly string[], nodeVersion = process.versions.node, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  if (Number(nodeVersion.split('.')[0]) < 24) return []
  if ([...execArgv, ...nodeOptions.split(/\s+/)].some(a => a.startsWith('--max-semi-space-size'))) return []
  return [`--max-semi-space-size=${SEMI_SPACE_MB}`]
}

/**
 * Replaces this process (same pid, through execve: no parent process left behind) with one started with
 * heapFlags(), when it lacks them; returns when there is nothing to do or the platform has no execve.
 */
export function execWithHeapFlags (script: string, args: readonly string[]): void {
  const extra = heapFlags(process.execArgv)
  const execve = (process as unknown as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never }).execve
  if (extra.length === 0 || typeof execve !== 'function' || process.platform === 'win32') return
  execve(process.execPath, [process.execPath, ...extra, ...process.execArgv, script, ...args], process.env)
}
