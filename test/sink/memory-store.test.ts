// The in-memory store keeps the TileStore contract (the conformance suite), and its fault injection does what the
// writer's tests rely on: requests applied one at a time in call order, failures before or after applying, hangs
// that only resetConnection() ends.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryStore } from '../../src/sink/memory-store.ts'
import { storeConformance, tiles } from './store-conformance.ts'

storeConformance('memory store', { open: async () => new MemoryStore() })
storeConformance('memory store with a 600-byte key limit', { open: async () => new MemoryStore({ maxKeyBytes: 600 }) })

const DS = 'TEST_MEMORY_STREAMING'
const K = new Uint8Array([2, 7])

test('memory store faults: in call order after their latency; before/after/hang; reset drops what is not applied', async () => {
  const store = new MemoryStore({
    faults: {
      latencyMillis: n => n === 1 ? 30 : 1,
      fault: n => ({ 2: 'before', 3: 'after', 5: 'hang' } as const)[n]
    }
  })
  const settled: string[] = []
  const write = (v: string): Promise<void> => store.writeTiles(DS, 300_000, tiles([[K, 0, v]])).then(() => { settled.push(`${v} ok`) }, (e: Error) => { settled.push(`${v} ${/not applied|acknowledgement lost|dropped/.exec(e.message)![0]}`) })
  const all = ['1 slow', '2 fails', '3 lost ack', '4 fine', '5 hangs', '6 behind it'].map(write)
  await Promise.all(all.slice(0, 4))
  assert.deepEqual(settled, ['1 slow ok', '2 fails not applied', '3 lost ack acknowledgement lost', '4 fine ok'], 'in call order, although request 1 was the slowest')
  assert.equal(Buffer.from((await store.readTiles(DS, K, 300_000, 0, 1))[0]!.value).toString(), '4 fine')
  await new Promise(resolve => setTimeout(resolve, 30))
  assert.equal(settled.length, 4, 'request 5 hangs, 6 waits behind it')
  store.resetConnection()
  await Promise.all(all)
  assert.deepEqual(settled.slice(4), ['5 hangs dropped', '6 behind it dropped'])
  assert.equal(store.requests, 6)
  assert.equal(store.applied, 3)
})
