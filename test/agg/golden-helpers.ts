// Turning the golden vectors' JSON literals into engine values and back: schemas as `[name, "list<int>"]` pairs,
// maps as JSON objects in which "__NULL_KEY__" stands for a null key, and finalized maps compared as objects.
import { type DataType, type StructField, parseType } from '../../src/api/data-type.ts'
import { type AggregationJson, type GroupByJson, Operation } from '../../src/api/group-by.ts'
import { compilePlan, type Plan } from '../../src/config/plan.ts'

export const NULL_KEY = '__NULL_KEY__'

export function goldenSchema (schema: readonly [string, string][]): StructField[] {
  return schema.map(([name, type]) => ({ name, type: parseType(type) }))
}

/** A golden row → engine row: map-typed columns become JS Maps, `__NULL_KEY__` a null key. */
export function goldenRow (row: readonly unknown[], schema: readonly StructField[]): unknown[] {
  return row.map((v, i) => toValue(v, schema[i]!.type))
}

function toValue (v: unknown, t: DataType): unknown {
  if (v === null || v === undefined) return null
  if (t.kind === 'map') {
    const out = new Map<string | null, unknown>()
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out.set(k === NULL_KEY ? null : k, toValue(x, t.value))
    return out
  }
  if (t.kind === 'list') return (v as unknown[]).map(x => toValue(x, t.elem))
  return v
}

/** An engine output → plain JSON-comparable value (Maps to objects with `__NULL_KEY__`). */
export function plain (v: unknown): unknown {
  if (v instanceof Map) {
    const out: Record<string, unknown> = {}
    for (const [k, x] of v) out[k === null ? NULL_KEY : String(k)] = plain(x)
    return out
  }
  if (Array.isArray(v)) return v.map(plain)
  return v
}

export interface GoldenAggregation {
  op: string
  col: string
  argMap?: Record<string, string> | undefined
  bucket?: string | undefined
  elementWise?: boolean
}

/** An unwindowed airbnb GroupBy with one aggregation per entry, the way RowAggregatorTest builds its parts. */
export function planOf (name: string, aggs: readonly GoldenAggregation[], flavour: 'airbnb' | 'zipline' = 'airbnb'): Plan {
  const aggregations: AggregationJson[] = aggs.map(a => ({
    inputColumn: a.col,
    // fork-specific operations are 10xx / 20xx in our enum, 18..20 in the JSON
    operation: (Operation[a.op as keyof typeof Operation] as number) % 1000,
    argMap: a.argMap ?? {},
    buckets: a.bucket === undefined ? null : [a.bucket],
    elementWise: a.elementWise === true
  }))
  const gb: GroupByJson = {
    metaData: { name },
    sources: [{ events: { table: 't', query: {} } }],
    keyColumns: ['id'],
    aggregations
  }
  return compilePlan(gb, { flavour })
}

/**
 * A GroupBy JSON from the reference folder (the derived-from-scala-tests ones have no sources or keys); the fork
 * is detected from the file, as the engine does.
 */
export function planFromJson (json: GroupByJson, keep: (a: AggregationJson) => boolean = () => true): Plan {
  return compilePlan({
    sources: [{ events: { table: 't', query: {} } }],
    keyColumns: ['id'],
    ...json,
    aggregations: (json.aggregations ?? []).filter(keep)
  })
}

/** Operations that are sketches, owned by the sketch modules and their tests. */
export const SKETCH_OPS = new Set(['APPROX_UNIQUE_COUNT', 'APPROX_PERCENTILE', 'APPROX_HISTOGRAM_K', 'APPROX_FREQUENT_K', 'APPROX_HEAVY_HITTERS_K'])
