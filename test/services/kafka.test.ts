// The test broker's start-up pieces that need no broker.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { kraftClusterId } from './kafka.ts'

test('a KRaft cluster id never starts with "-" (the storage tool would read it as an option) and is 16 bytes of base64url', () => {
  for (let first = 0; first < 256; first++) {
    const bytes = Buffer.alloc(16, 0xfb)
    bytes[0] = first
    const id = kraftClusterId(bytes)
    assert.equal(id.length, 22)
    assert.match(id, /^[A-Za-z0-9][A-Za-z0-9_-]{21}$/, `first byte ${first}: ${id}`)
    assert.equal(Buffer.from(id, 'base64url').length, 16)
  }
  const ids = new Set(Array.from({ length: 1000 }, () => kraftClusterId()))
  assert.equal(ids.size, 1000, 'random')
  for (const id of ids) assert.notEqual(id[0], '-')
})
