// Avro binary encoding of Chronon values with Chronon's conventions (§5.2, AvroConversions.scala):
//   * every struct field is the union ["null", T] (branch 0 = null, branch 1 = value), list elements and map values
//     are not nullable; short/byte are Avro ints; maps have string keys;
//   * struct values may be given positionally (normalized IRs) or by field name (records); they decode positionally;
//   * arrays and maps are written as one block: count, items, 0 (what avsc and Java's encoder both produce).
// Encoders and decoders are compiled once per type into closures, so the per-value path has no type dispatch.

import type { DataType, StructType } from '../api/data-type.ts'
import { type ByteReader, ByteWriter } from './bytes.ts'

export type Encoder = (w: ByteWriter, v: unknown) => void
export type Decoder = (r: ByteReader) => unknown

export function compileEncoder (t: DataType): Encoder {
  switch (t.kind) {
    case 'boolean': return (w, v) => w.byte(v === true ? 1 : 0)
    case 'byte': case 'short': case 'int': case 'long': case 'date': case 'timestamp':
      return (w, v) => w.zigzag(v as number | bigint)
    case 'float': return (w, v) => w.float(v as number)
    case 'double': return (w, v) => w.double(v as number)
    case 'string': return (w, v) => w.string(v as string)
    case 'binary': return (w, v) => w.bytes(v as Uint8Array)
    case 'list': {
      const elem = compileEncoder(t.elem)
      return (w, v) => {
        const a = v as readonly unknown[]
        if (a.length > 0) {
          w.zigzag(a.length)
          for (let i = 0; i < a.length; i++) elem(w, a[i])
        }
        w.byte(0)
      }
    }
    case 'map': {
      const value = compileEncoder(t.value)
      return (w, v) => {
        const entries = v instanceof Map ? [...(v as Map<unknown, unknown>)] : Object.entries(v as object)
        if (entries.length > 0) {
          w.zigzag(entries.length)
          for (const [k, x] of entries) { w.string(String(k)); value(w, x) }
        }
        w.byte(0)
      }
    }
    case 'struct': return compileStructEncoder(t)
    case 'null': return () => {}
  }
}

/** ["null", T]: what every struct field is. */
export function compileNullableEncoder (t: DataType): Encoder {
  const inner = compileEncoder(t)
  return (w, v) => {
    if (v === null || v === undefined) { w.byte(0); return }
    w.byte(2)
    inner(w, v)
  }
}

function compileStructEncoder (t: StructType): Encoder {
  const fields = t.fields.map(f => compileNullableEncoder(f.type))
  const names = t.fields.map(f => f.name)
  const n = fields.length
  return (w, v) => {
    if (Array.isArray(v)) {
      for (let i = 0; i < n; i++) fields[i]!(w, v[i])
    } else {
      const o = v as Record<string, unknown>
      for (let i = 0; i < n; i++) fields[i]!(w, o[names[i]!])
    }
  }
}

export function compileDecoder (t: DataType): Decoder {
  switch (t.kind) {
    case 'boolean': return r => r.byte() !== 0
    case 'byte': case 'short': case 'int': case 'long': case 'date': case 'timestamp':
      return r => r.zigzag()
    case 'float': return r => r.float()
    case 'double': return r => r.double()
    case 'string': return r => r.string()
    case 'binary': return r => r.bytes()
    case 'list': {
      const elem = compileDecoder(t.elem)
      return r => {
        const out: unknown[] = []
        forEachBlockItem(r, () => out.push(elem(r)))
        return out
      }
    }
    case 'map': {
      const value = compileDecoder(t.value)
      return r => {
        const out = new Map<string, unknown>()
        forEachBlockItem(r, () => { const k = r.string(); out.set(k, value(r)) })
        return out
      }
    }
    case 'struct': {
      const fields = t.fields.map(f => compileNullableDecoder(f.type))
      return r => fields.map(f => f(r))
    }
    case 'null': return () => null
  }
}

export function compileNullableDecoder (t: DataType): Decoder {
  const inner = compileDecoder(t)
  return r => {
    const branch = r.zigzagNumber()
    if (branch === 0) return null
    if (branch !== 1) throw new RangeError(`bad union branch ${branch} at ${r.pos - 1}`)
    return inner(r)
  }
}

/** Avro arrays/maps are a sequence of blocks; a negative count is followed by the block's byte size. */
function forEachBlockItem (r: ByteReader, item: () => void): void {
  for (;;) {
    let count = r.zigzagNumber()
    if (count === 0) return
    if (count < 0) { count = -count; r.zigzagNumber() }
    for (let i = 0; i < count; i++) item()
  }
}

/** One-off encode into a fresh buffer (tests, tooling); hot paths keep their own ByteWriter. */
export function encodeToBytes (enc: Encoder, v: unknown): Uint8Array {
  const w = new ByteWriter(256)
  enc(w, v)
  return w.copy()
}

// ---- schema JSON ---------------------------------------------------------------------------------------------

export type AvroSchemaJson = string | { [k: string]: unknown } | AvroSchemaJson[]

/**
 * The Avro schema Chronon's AvroConversions.fromChrononSchema would generate: records in namespace
 * `ai.chronon.data`, nullable fields, and one shared name set in which a repeated record or field name gets
 * `_REPEATED_NAME_{i}` appended.
 */
export function avroSchemaOf (t: DataType, names: Set<string> = new Set()): AvroSchemaJson {
  const addName = (name: string): string => {
    const clean = name.replace(/[^0-9a-zA-Z_]/g, '_')
    let eligible = clean
    if (names.has(clean)) {
      let i = 0
      while (names.has(`${clean}_REPEATED_NAME_${i}`)) i++
      eligible = `${clean}_REPEATED_NAME_${i}`
    }
    names.add(eligible)
    return eligible
  }
  switch (t.kind) {
    case 'struct': {
      const name = addName(t.name)
      return {
        type: 'record',
        name,
        namespace: 'ai.chronon.data',
        doc: '',
        fields: t.fields.map(f => ({ name: addName(f.name), type: ['null', avroSchemaOf(f.type, names)], doc: '', default: null }))
      }
    }
    case 'list': return { type: 'array', items: avroSchemaOf(t.elem, names) }
    case 'map': return { type: 'map', values: avroSchemaOf(t.value, names) }
    case 'string': return 'string'
    case 'int': return 'int'
    case 'byte': return { type: 'int', logicalType: 'byte' }
    case 'short': return { type: 'int', logicalType: 'short' }
    case 'long': return 'long'
    case 'float': return 'float'
    case 'double': return 'double'
    case 'binary': return 'bytes'
    case 'boolean': return 'boolean'
    default: throw new Error(`cannot convert ${t.kind} to an Avro type; cast it to a string`)
  }
}
