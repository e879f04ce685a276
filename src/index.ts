// The library API: what a service that embeds tilekiln needs, and nothing it should not reach into. Everything
// here is covered by the package's declarations (dist/src/index.d.ts, the `exports` map of package.json) and by
// test/tooling/packed-package.test.ts, which installs the packed package into a fresh TypeScript project.
//
//   - the plan compiler: a Chronon GroupBy (parsed JSON) → Plan
//   - stores: the embedded LMDB store, Redis / Redis Cluster, an in-memory store; `openStore` from a spec string
//   - the read side: loadReadSide (the serving info stored beside the tiles) + fetchFeatures (fetchFeaturesMany for
//     several keys in one store request per round), for tiled and untiled
//   - the HTTP read API: as a request handler for the service's own server, or a server of its own
//   - the engine, its sources (file, generator, Kafka; `openSource` from a spec string) and dead-letter sinks
//   - errors: TilekilnError with its TK_ codes

export { compilePlan, type Plan, type PlanOptions, type OutputColumn, type TilePart, type WindowSpec } from './config/plan.ts'
export { bindReadSide, type ReadSide, type ServingInfo } from './config/bind.ts'

export type { TileStore, StoredTile, StoredEvent, StoredCheckpoint, Fence, WriteOutcome, TileRange, KeyRanges } from './sink/store.ts'
export { EmbeddedStore } from './sink/embedded-store.ts'
export { RedisStore, parseRedisSpec, parseRedisClusterSpec, type RedisStoreOptions } from './sink/redis-store.ts'
export { MemoryStore, type MemoryStoreOptions } from './sink/memory-store.ts'
export { openStore, openSource, type SourceSpecOptions, type KafkaSpecOptions } from './cli/specs.ts'

export { loadReadSide, fetchFeatures, fetchFeaturesMany, readKey, type FetchOptions, type HeadTileRule } from './fetch/tiled-read.ts'
export type { FetchResult } from './fetch/result.ts'
export { featureHandler, featureServer, metricsServer, listen, keyFromQuery, type Served } from './fetch/http.ts'
export { Metrics } from './metrics/metrics.ts'

export { Engine, type EngineOptions, type Progress, type PartitionProgress, type RunSummary } from './engine/engine.ts'
export type { Source } from './source/source.ts'
export { openFileSource, type FileSourceOptions } from './source/file.ts'
export { openGeneratorSource, parseGeneratorOptions, type GeneratorOptions } from './source/generator.ts'
export { openKafkaSource, type KafkaSourceOptions } from './source/kafka.ts'
export { FileDeadLetters, MemoryDeadLetters, type DeadLetterRecord, type DeadLetterSink } from './engine/dead-letter.ts'

export { TilekilnError, isTilekilnError, describeError, type ErrorCode, type ErrorContext } from './errors.ts'
