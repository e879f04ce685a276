// The shape of a compiled Chronon GroupBy as found in Chronon's Thrift simple-JSON files (both the airbnb/chronon
// and the Zipline flavour). Only the fields tilekiln reads are typed; everything else is ignored on purpose.

export enum Operation {
  MIN = 0, MAX = 1, FIRST = 2, LAST = 3, UNIQUE_COUNT = 4, APPROX_UNIQUE_COUNT = 5, COUNT = 6, SUM = 7, AVERAGE = 8,
  VARIANCE = 9, SKEW = 10, KURTOSIS = 11, APPROX_PERCENTILE = 12, LAST_K = 13, FIRST_K = 14, TOP_K = 15, BOTTOM_K = 16,
  HISTOGRAM = 17,
  // 18..20 mean different things per fork; the flavour resolves the raw number (see `resolveOperation`).
  APPROX_HISTOGRAM_K = 1018, BOUNDED_UNIQUE_COUNT = 1019, // airbnb: 18, 19
  APPROX_FREQUENT_K = 2018, APPROX_HEAVY_HITTERS_K = 2019, UNIQUE_TOP_K = 2020 // zipline: 18, 19, 20
}

export type Flavour = 'airbnb' | 'zipline'

export function resolveOperation (raw: number, flavour: Flavour): Operation | undefined {
  if (raw >= 0 && raw <= 17) return raw as Operation
  if (flavour === 'airbnb') {
    if (raw === 18) return Operation.APPROX_HISTOGRAM_K
    if (raw === 19) return Operation.BOUNDED_UNIQUE_COUNT
  } else {
    if (raw === 18) return Operation.APPROX_FREQUENT_K
    if (raw === 19) return Operation.APPROX_HEAVY_HITTERS_K
    if (raw === 20) return Operation.UNIQUE_TOP_K
  }
  return undefined
}

/** Lower-case name used in output columns (§1.3): `sum`, `last_k` is rendered by `opSuffix` instead. */
export function operationName (op: Operation): string {
  return Operation[op]!.toLowerCase()
}

export enum TimeUnit { HOURS = 0, DAYS = 1, MINUTES = 2 }

export const TIME_UNIT_MILLIS: Record<TimeUnit, number> = {
  [TimeUnit.HOURS]: 3_600_000,
  [TimeUnit.DAYS]: 86_400_000,
  [TimeUnit.MINUTES]: 60_000
}

export const TIME_UNIT_SUFFIX: Record<TimeUnit, string> = {
  [TimeUnit.HOURS]: 'h',
  [TimeUnit.DAYS]: 'd',
  [TimeUnit.MINUTES]: 'm'
}

export interface WindowJson { length: number, timeUnit: number }

export interface AggregationJson {
  inputColumn: string
  operation: number
  argMap?: Record<string, string> | null
  windows?: WindowJson[] | null
  buckets?: string[] | null
  elementWise?: boolean | null
}

export interface QueryJson {
  selects?: Record<string, string> | null
  wheres?: string[] | null
  timeColumn?: string | null
  startPartition?: string | null
  endPartition?: string | null
  setups?: string[] | null
  mutationTimeColumn?: string | null
  reversalColumn?: string | null
}

export interface EventSourceJson { table?: string, topic?: string | null, query?: QueryJson, isCumulative?: boolean }
export interface EntitySourceJson { snapshotTable?: string, mutationTable?: string, mutationTopic?: string | null, query?: QueryJson }
export interface JoinSourceJson { join?: unknown, query?: QueryJson }

export interface SourceJson {
  events?: EventSourceJson
  entities?: EntitySourceJson
  joinSource?: JoinSourceJson
}

export interface MetaDataJson {
  name?: string
  team?: string
  online?: number | boolean
  customJson?: string
  outputNamespace?: string
  version?: string
  executionInfo?: unknown
  columnHashes?: unknown
  sourceFile?: string
}

export interface GroupByJson {
  metaData?: MetaDataJson
  sources?: SourceJson[]
  keyColumns?: string[]
  aggregations?: AggregationJson[] | null
  accuracy?: number
  derivations?: unknown[]
}

/**
 * Which fork wrote the file. Zipline's compiler adds `version`, `executionInfo`, `columnHashes` or `sourceFile` to the
 * metadata and uses `kafka://` topics; airbnb's does not. The difference matters for operations 18..20.
 */
export function detectFlavour (gb: GroupByJson): Flavour {
  const md = gb.metaData ?? {}
  if (md.version !== undefined || md.executionInfo !== undefined || md.columnHashes !== undefined || md.sourceFile !== undefined) return 'zipline'
  for (const s of gb.sources ?? []) {
    const topic = s.events?.topic ?? s.entities?.mutationTopic
    if (typeof topic === 'string' && topic.startsWith('kafka://')) return 'zipline'
  }
  return 'airbnb'
}
