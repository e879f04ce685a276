import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fromHex, toHex } from '../../src/codec/bytes.ts'
import { decodeTileKey, encodeTileKey } from '../../src/codec/tile-key.ts'

// §5.4: TileKey("E2E_COUNT_STREAMING", 0206696431, 3 600 000, 1 699 365 600 000)
const DATASET_HEX = Buffer.from('E2E_COUNT_STREAMING').toString('hex')
const WITH_START = `1813${DATASET_HEX}1953020669643116${'80bab703'}16${'80eca9a1f562'}00`
const WITHOUT_START = `1813${DATASET_HEX}1953020669643116${'80bab703'}00`

test('TileKey with a tile start encodes as Zipline does', () => {
  const bytes = encodeTileKey({ dataset: 'E2E_COUNT_STREAMING', keyBytes: fromHex('0206696431'), tileSizeMillis: 3_600_000, tileStartMillis: 1_699_365_600_000 })
  assert.equal(toHex(bytes), WITH_START)
})

test('TileKey without a tile start (read prefix) encodes as Zipline does', () => {
  const bytes = encodeTileKey({ dataset: 'E2E_COUNT_STREAMING', keyBytes: fromHex('0206696431'), tileSizeMillis: 3_600_000 })
  assert.equal(toHex(bytes), WITHOUT_START)
})

test('TileKey round-trips, including keys of 15 bytes and more', () => {
  const keyBytes = new Uint8Array(40).map((_, i) => i * 7)
  const k = { dataset: 'MY_GROUPBY_V1_STREAMING', keyBytes, tileSizeMillis: 36_000_000, tileStartMillis: 1738195200000 }
  const back = decodeTileKey(encodeTileKey(k))
  assert.deepEqual({ ...back, keyBytes: [...back.keyBytes] }, { ...k, keyBytes: [...keyBytes] })
})
