// A run must not silently change what a store's entries mean. The serving info stored beside a GroupBy's tiles
// (config/bind.ts) types its entity keys: the same key value is other bytes under another key type (user_id 91 as a
// long vs the string "91"), so if a run changed the key schema — say a CSV whose inferred key type flipped because of
// one odd row — every entry written before could no longer be fetched, and the next run could flip it back. The
// same goes for a tiled store run untiled or the other way. Such a run is refused with both schemas shown, unless the
// operator says to replace them (`run --replace-key-schema`).

import { typeToString } from '../api/data-type.ts'
import type { ServingInfo } from './bind.ts'

/** Why `next` cannot replace `stored`, or null when it reads the stored entries alike. */
export function servingInfoConflict (stored: ServingInfo, next: ServingInfo): string | null {
  const schema = (s: ServingInfo): string => s.keyFields.map(f => `${f.name}: ${typeToString(f.type)}`).join(', ')
  const mode = (s: ServingInfo): string => (s.untiled === true ? 'untiled' : 'tiled')
  if (schema(stored) !== schema(next)) {
    return `the key schema differs from the one the store holds for this GroupBy: the store has (${schema(stored)}), this run has (${schema(next)}); entries written under the stored schema could no longer be fetched. Fix the input's schema (give --schema FILE rather than inferring it from the data), or pass --replace-key-schema to replace it`
  }
  if (mode(stored) !== mode(next)) {
    return `the store holds this GroupBy ${mode(stored)}, this run is ${mode(next)}; entries written before could no longer be fetched. Use another store (or another prefix), or pass --replace-key-schema to replace it`
  }
  return null
}
