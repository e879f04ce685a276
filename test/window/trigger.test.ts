// Which open tiles have a write pending (window/trigger.ts TriggerState), by entry number: the always trigger lists
// a touched entry once until taken, the buffered one fires each entry's first touch + delay once; an entry freed in
// between is neither listed nor fired, even when its number is in use again.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isFinal, TriggerState } from '../../src/window/trigger.ts'

test('always: a touched entry is listed once per take, in touch order; an entry freed since is skipped', () => {
  const t = new TriggerState({ kind: 'always' })
  t.grow(8)
  for (const e of [3, 1, 3, 5, 1, 6]) t.touched(e, 0)
  assert.equal(t.dirtyCount, 4)
  t.freed(5)
  const n = t.takeDirty()
  assert.deepEqual([...t.dirty.subarray(0, n)], [3, 1, 6])
  assert.equal(t.dirtyCount, 0)
  assert.equal(t.takeDirty(), 0, 'taken: clean until touched again')
  t.touched(3, 0)
  assert.equal(t.takeDirty(), 1)
  assert.equal(t.nextTimer(), Infinity)
  t.restoreTimer(2, 0)
  assert.equal(t.nextTimer(), Infinity, 'no timers under the always trigger')
})

test('buffered: each entry fires once at its first touch + delay; a timer of a freed (and reused) entry is stale', () => {
  const t = new TriggerState({ kind: 'buffered', millis: 100 })
  t.grow(4)
  t.touched(0, 10)
  t.touched(1, 20)
  t.touched(0, 30) // already pending: no second timer, the first touch's deadline stands
  assert.equal(t.dirtyCount, 0)
  assert.equal(t.nextTimer(), 110)
  assert.equal(t.timerPending(0), true)
  t.freed(1)
  t.reset(1)
  t.touched(1, 50) // entry 1 reused: its old timer (due 120) must not fire for it
  assert.equal(t.takeDue(109), -1)
  assert.equal(t.takeDue(125), 0)
  assert.equal(t.timerPending(0), false)
  assert.equal(t.takeDue(125), -1, 'the old timer of entry 1 is skipped')
  assert.equal(t.takeDue(150), 1)
  assert.equal(t.takeDue(1e9), -1)
  t.restoreTimer(2, 7)
  assert.equal(t.nextTimer(), 7)
  assert.equal(t.takeDue(7), 2)
})

test('grow keeps the pending state of existing entries', () => {
  const t = new TriggerState({ kind: 'buffered', millis: 5 })
  t.grow(2)
  t.touched(1, 0)
  t.grow(1024)
  assert.equal(t.timerPending(1), true)
  t.touched(1000, 1)
  assert.equal(t.takeDue(10), 1)
  assert.equal(t.takeDue(10), 1000)
})

test('a tile is final once its end − 1 + allowed lateness has passed', () => {
  assert.equal(isFinal(0, 300_000, 0, 299_998), false)
  assert.equal(isFinal(0, 300_000, 0, 299_999), true)
  assert.equal(isFinal(0, 300_000, 60_000, 359_998), false)
  assert.equal(isFinal(0, 300_000, 60_000, 359_999), true)
})
