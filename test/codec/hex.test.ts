// toHex takes two paths (a table for short inputs, Buffer's encoder for long ones): both must give what the
// definition gives, two lowercase digits a byte, also for a view into the middle of a larger buffer.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fromHex, toHex } from '../../src/codec/bytes.ts'
import { Random } from '../../src/source/generator.ts'

const byDefinition = (b: Uint8Array): string => [...b].map(x => x.toString(16).padStart(2, '0')).join('')

test('toHex: every length up to 400 bytes, whole arrays and views at an offset, equals the definition; fromHex inverts it', () => {
  const rnd = new Random(11)
  const backing = new Uint8Array(1000)
  for (let i = 0; i < backing.length; i++) backing[i] = rnd.int(256)
  backing[0] = 0
  backing[1] = 255
  for (let n = 0; n <= 400; n++) {
    for (const offset of [0, 1, 7, 333]) {
      const view = backing.subarray(offset, offset + n)
      const hex = toHex(view)
      assert.equal(hex, byDefinition(view), `${n} bytes at offset ${offset}`)
      assert.deepEqual(fromHex(hex), new Uint8Array(view))
    }
  }
})
