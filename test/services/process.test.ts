// The test services' process plumbing names a process by its pid *and* its start time. With pid_max 32768 and the
// suite starting thousands of processes, pids come round within minutes: a watchdog that watched a pid alone once
// took a unit-stream test file, which had got a dead server's pid, for that server, and SIGKILLed it when the test
// that started the server ended (the file failed with nothing but "test failed").
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { test } from 'node:test'
import { isAlive, rememberStart, startTimeOf, waitForExit, watchdogScript } from './process.ts'

const proc = existsSync('/proc/self/stat')

function sleeper (seconds: number): ChildProcess {
  return spawn('sleep', [String(seconds)], { stdio: 'ignore' })
}

test('the watchdog kills the child when the parent is gone, and leaves a process that only has the child\'s pid alone', { skip: !proc, timeout: 30_000 }, async () => {
  const parent = sleeper(1)
  const child = sleeper(30)
  const other = sleeper(30)
  try {
    // The child as recorded: killed once the parent ends.
    const dog1 = spawn('sh', ['-c', watchdogScript(parent.pid!, startTimeOf(parent.pid!)!, child.pid!, startTimeOf(child.pid!)!)], { stdio: 'ignore' })
    // `other` with a start time that is not its own: what a reused pid looks like to the watchdog.
    const dog2 = spawn('sh', ['-c', watchdogScript(parent.pid!, startTimeOf(parent.pid!)!, other.pid!, 'not-its-start-time')], { stdio: 'ignore' })
    await Promise.all([dog1, dog2].map(async d => await new Promise(resolve => d.once('exit', resolve))))
    assert.ok(await waitForExit(child.pid!, 3000), 'the child outlived its parent')
    assert.ok(isAlive(other.pid!), 'the watchdog killed a process that was not its child')
  } finally {
    for (const c of [parent, child, other]) c.kill('SIGKILL')
  }
})

test('isAlive: a remembered child is alive until it exits', { skip: !proc, timeout: 10_000 }, async () => {
  const c = sleeper(30)
  try {
    rememberStart(c.pid!)
    assert.equal(isAlive(c.pid!), true)
    c.kill('SIGKILL')
    await new Promise(resolve => c.once('exit', resolve))
    assert.equal(isAlive(c.pid!), false)
  } finally {
    c.kill('SIGKILL')
  }
})
