// Chronon's DataType model (api.thrift `DataKind` + `TDataType`), as used for input columns, IRs and outputs.
//
// Runtime values carried through the engine:
//   boolean → boolean; byte/short/int/float/double → number; long → number (bigint only when a decoder met a value
//   outside ±2^53, which only key encoding keeps exact); string → string; binary → Uint8Array; list → unknown[];
//   map → plain object with own string keys (as JSON.parse and avsc produce them); struct → plain object by field
//   name (input rows) or positional array (normalized IRs, as Chronon normalizes them).

export type PrimitiveKind =
  | 'boolean' | 'byte' | 'short' | 'int' | 'long' | 'float' | 'double' | 'string' | 'binary' | 'date' | 'timestamp' | 'null'

export type DataType =
  | { readonly kind: PrimitiveKind }
  | { readonly kind: 'list', readonly elem: DataType }
  | { readonly kind: 'map', readonly key: DataType, readonly value: DataType }
  | { readonly kind: 'struct', readonly name: string, readonly fields: readonly StructField[] }

export interface StructField { readonly name: string, readonly type: DataType }

export type ListType = Extract<DataType, { kind: 'list' }>
export type MapType = Extract<DataType, { kind: 'map' }>
export type StructType = Extract<DataType, { kind: 'struct' }>

export const T = {
  boolean: { kind: 'boolean' } as DataType,
  byte: { kind: 'byte' } as DataType,
  short: { kind: 'short' } as DataType,
  int: { kind: 'int' } as DataType,
  long: { kind: 'long' } as DataType,
  float: { kind: 'float' } as DataType,
  double: { kind: 'double' } as DataType,
  string: { kind: 'string' } as DataType,
  binary: { kind: 'binary' } as DataType,
  date: { kind: 'date' } as DataType,
  timestamp: { kind: 'timestamp' } as DataType,
  null: { kind: 'null' } as DataType,
  list: (elem: DataType): DataType => ({ kind: 'list', elem }),
  map: (key: DataType, value: DataType): DataType => ({ kind: 'map', key, value }),
  struct: (name: string, fields: StructField[]): DataType => ({ kind: 'struct', name, fields })
} as const

export function isIntegral (t: DataType): boolean {
  return t.kind === 'byte' || t.kind === 'short' || t.kind === 'int' || t.kind === 'long'
}

export function isFractional (t: DataType): boolean {
  return t.kind === 'float' || t.kind === 'double'
}

export function isNumeric (t: DataType): boolean {
  return isIntegral(t) || isFractional(t)
}

export function isPrimitive (t: DataType): boolean {
  return t.kind !== 'list' && t.kind !== 'map' && t.kind !== 'struct'
}

/** Spark-like rendering, used in error messages and schema dumps: `list<map<string,int>>`. */
export function typeToString (t: DataType): string {
  switch (t.kind) {
    case 'list': return `list<${typeToString(t.elem)}>`
    case 'map': return `map<${typeToString(t.key)},${typeToString(t.value)}>`
    case 'struct': return `struct<${t.fields.map(f => `${f.name}:${typeToString(f.type)}`).join(',')}>`
    default: return t.kind
  }
}

/** Parses `typeToString` output (and the golden vectors' schema strings, e.g. `list<int>`, `map<string,int>`). */
export function parseType (text: string): DataType {
  let pos = 0
  const src = text.replace(/\s+/g, '')
  function ident (): string {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(pos))
    if (m === null) throw new Error(`bad type '${text}' at ${pos}`)
    pos += m[0].length
    return m[0]
  }
  function expect (c: string): void {
    if (src[pos] !== c) throw new Error(`bad type '${text}': expected '${c}' at ${pos}`)
    pos++
  }
  function parse (): DataType {
    const name = ident().toLowerCase()
    switch (name) {
      case 'list': case 'array': { expect('<'); const elem = parse(); expect('>'); return T.list(elem) }
      case 'map': { expect('<'); const k = parse(); expect(','); const v = parse(); expect('>'); return T.map(k, v) }
      case 'struct': {
        expect('<')
        const fields: StructField[] = []
        while (src[pos] !== '>') {
          const fname = ident(); expect(':'); fields.push({ name: fname, type: parse() })
          if (src[pos] === ',') pos++
        }
        expect('>')
        return T.struct('Struct', fields)
      }
      case 'integer': return T.int
      case 'bigint': return T.long
      case 'smallint': return T.short
      case 'tinyint': return T.byte
      case 'bool': return T.boolean
      case 'bytes': return T.binary
      default:
        if (name in T && typeof (T as Record<string, unknown>)[name] === 'object') return (T as unknown as Record<string, DataType>)[name]!
        throw new Error(`bad type '${text}': unknown type '${name}'`)
    }
  }
  const t = parse()
  if (pos !== src.length) throw new Error(`bad type '${text}': trailing input at ${pos}`)
  return t
}

export function typesEqual (a: DataType, b: DataType): boolean {
  if (a.kind !== b.kind) return false
  switch (a.kind) {
    case 'list': return typesEqual(a.elem, (b as ListType).elem)
    case 'map': return typesEqual(a.key, (b as MapType).key) && typesEqual(a.value, (b as MapType).value)
    case 'struct': {
      const bf = (b as StructType).fields
      return a.fields.length === bf.length && a.fields.every((f, i) => f.name === bf[i]!.name && typesEqual(f.type, bf[i]!.type))
    }
    default: return true
  }
}
