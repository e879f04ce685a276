// Fault injection for the crash tests: when TILEKILN_FAULT names a point (`name` or `name:N` for its N-th
// arrival), the process SIGKILLs itself right there — the harshest crash, at a moment a timer could rarely hit.
// Costs one comparison when unset.

const spec = process.env.TILEKILN_FAULT
const [target, nth] = spec === undefined ? [undefined, 0] : [spec.split(':')[0], Number(spec.split(':')[1] ?? 1)]
let arrivals = 0

export function faultPoint (name: string): void {
  if (target !== name) return
  if (++arrivals >= nth) process.kill(process.pid, 'SIGKILL')
}
