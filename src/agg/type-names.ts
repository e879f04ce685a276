// Chronon's DataType.toString (api/DataType.scala), which names generated IR structs such as `TimePair_string`.

import type { DataType } from '../api/data-type.ts'

export function chrononTypeName (t: DataType): string {
  switch (t.kind) {
    case 'boolean': return 'bool'
    case 'list': return `list_${chrononTypeName(t.elem)}`
    case 'map': return `map_${chrononTypeName(t.key)}_${chrononTypeName(t.value)}`
    case 'struct': return `struct_${t.name}`
    case 'null': return 'unknown_type'
    default: return t.kind
  }
}
