// JSON, hashing, and the non-deterministic functions we refuse (rand, uuid…: see compile.ts for why).

import { createHash } from 'node:crypto'
import { T } from '../../api/data-type.ts'
import { getJsonObject, jsonArrayLength, parseJsonPath } from '../runtime/json.ts'
import type { FnSpec } from '../typed.ts'
import { constantString, custom, simple } from './spec.ts'

function digest (algorithm: string, b: Uint8Array): string {
  return createHash(algorithm).update(b).digest('hex')
}

const SHA2: Record<number, string> = { 0: 'sha256', 224: 'sha224', 256: 'sha256', 384: 'sha384', 512: 'sha512' }

let crcTable: Uint32Array | null = null
function crc32 (b: Uint8Array): number {
  if (crcTable === null) {
    crcTable = new Uint32Array(256)
    for (let n = 0; n < 256; n++) {
      let c = n
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
      crcTable[n] = c >>> 0
    }
  }
  let c = 0xffffffff
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

const nondeterministic = (names: string[], min: number, max: number): FnSpec => ({
  names, minArgs: min, maxArgs: max, nondeterministic: true,
  resolve: (_a, ctx) => ctx.call(names[0]!, T.null, [], { impl: () => null, nullable: true })
})

export const miscFunctions: FnSpec[] = [
  custom('get_json_object', 2, 2, (args, ctx) => {
    const json = ctx.coerce(args[0]!, T.string, 0)
    const path = ctx.coerce(args[1]!, T.string, 1)
    const p = constantString(path, ctx, 1, 'the JSON path')
    if (typeof p === 'string') {
      const steps = parseJsonPath(p)
      if (steps === null) return ctx.fail(`'${p}' is not a JSON path that get_json_object understands ($, .name, ['name'], [n], [*])`, 1)
      return ctx.call('get_json_object', T.string, [json], { impl: (s: string) => getJsonObject(s, steps), nullable: true })
    }
    return ctx.call('get_json_object', T.string, [json, path], {
      impl: (s: string, q: string) => { const steps = parseJsonPath(q); return steps === null ? null : getJsonObject(s, steps) },
      nullable: true
    })
  }),
  simple('json_array_length', [T.string], T.int, jsonArrayLength),
  simple('md5', [T.binary], T.string, (b: Uint8Array) => digest('md5', b), { nullable: false }),
  simple(['sha1', 'sha'], [T.binary], T.string, (b: Uint8Array) => digest('sha1', b), { nullable: false }),
  simple('sha2', [T.binary, T.int], T.string, (b: Uint8Array, bits: number) => {
    const alg = SHA2[bits]
    return alg === undefined ? null : digest(alg, b)
  }),
  simple('crc32', [T.binary], T.long, crc32, { nullable: false }),
  nondeterministic(['rand', 'random'], 0, 1),
  nondeterministic(['randn'], 0, 1),
  nondeterministic(['uuid'], 0, 0),
  nondeterministic(['shuffle'], 1, 1),
  nondeterministic(['monotonically_increasing_id'], 0, 0),
  nondeterministic(['spark_partition_id'], 0, 0),
  nondeterministic(['input_file_name'], 0, 0),
  nondeterministic(['current_user', 'user', 'session_user'], 0, 0)
]
