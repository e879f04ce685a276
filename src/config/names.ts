// Derived names of §1.3: clean names, datasets and output columns.

import { Operation, operationName } from '../api/group-by.ts'

/** Every character outside [a-zA-Z0-9_] becomes `_`. */
export function cleanName (name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_')
}

export function streamingDataset (groupByName: string): string {
  return `${cleanName(groupByName).toUpperCase()}_STREAMING`
}

export function batchDataset (groupByName: string): string {
  return `${cleanName(groupByName).toUpperCase()}_BATCH`
}

/** The operation part of an output column: `sum`, `last2`, `top10`, `unique_top3`… */
export function opSuffix (op: Operation, argMap: Readonly<Record<string, string>>): string {
  const k = argMap.k
  switch (op) {
    case Operation.LAST_K: return `last${k}`
    case Operation.FIRST_K: return `first${k}`
    case Operation.TOP_K: return `top${k}`
    case Operation.BOTTOM_K: return `bottom${k}`
    case Operation.UNIQUE_TOP_K: return `unique_top${k}`
    default: return operationName(op)
  }
}

export function outputColumnName (inputColumn: string, op: string, windowSuffix: string, bucket: string | null): string {
  return `${inputColumn}_${op}${windowSuffix}${bucket === null ? '' : `_by_${bucket}`}`
}
