// Kafka's Fetch (v13–v17) on @platformatic/kafka's connections, with each partition's records left as the bytes the
// broker sent: the fetch loop reads them itself (../record-batch-reader.ts) instead of through the library's
// per-record objects. Everything else is the library's: its request writers, its response envelope reader, its
// choice of version (the highest both sides speak), its connections and its errors (a partition error fails the
// call with a ResponseError that carries the response, as the library's own Fetch does).
import { createAPI, fetchV13, fetchV14, fetchV15, fetchV16, fetchV17, kGetApi, kGetConnection, ResponseError } from '@platformatic/kafka'
import type { API, Broker, Connection, Consumer, Reader } from '@platformatic/kafka'

export interface RawFetchPartition {
  partitionIndex: number
  errorCode: number
  highWatermark: bigint
  lastStableOffset: bigint
  logStartOffset: bigint
  abortedTransactions: Array<{ producerId: bigint, firstOffset: bigint }>
  preferredReadReplica: number
  /** The partition's record batches as sent (the last one may be cut off by the size limits); null when none. */
  records: Buffer | null
}

export interface RawFetchResponse {
  throttleTimeMs: number
  errorCode: number
  sessionId: number
  responses: Array<{ topicId: string, partitions: RawFetchPartition[] }>
}

export interface RawFetchTopic {
  topicId: string
  partitions: Array<{ partition: number, fetchOffset: bigint, partitionMaxBytes: number, currentLeaderEpoch: number, lastFetchedEpoch: number }>
}

type FetchArgs = [maxWaitMs: number, minBytes: number, maxBytes: number, isolationLevel: number, sessionId: number, sessionEpoch: number, topics: RawFetchTopic[], forgotten: unknown[], rackId: string]

// The response is the same in v13–v17 (v16 and v17 add tagged fields only, which the envelope reader skips).
function parseRawFetch (_correlationId: number, apiKey: number, apiVersion: number, reader: Reader): RawFetchResponse {
  const errors: Array<[string, [number, null]]> = []
  const throttleTimeMs = reader.readInt32()
  const errorCode = reader.readInt16()
  if (errorCode !== 0) errors.push([apiVersion < 15 ? '/' : '', [errorCode, null]])
  const response: RawFetchResponse = {
    throttleTimeMs,
    errorCode,
    sessionId: reader.readInt32(),
    responses: reader.readArray((r, i) => ({
      topicId: r.readUUID(),
      partitions: r.readArray((r, j) => {
        const p: RawFetchPartition = {
          partitionIndex: r.readInt32(),
          errorCode: r.readInt16(),
          highWatermark: r.readInt64(),
          lastStableOffset: r.readInt64(),
          logStartOffset: r.readInt64(),
          abortedTransactions: r.readArray(r => ({ producerId: r.readInt64(), firstOffset: r.readInt64() })) ?? [],
          preferredReadReplica: r.readInt32(),
          records: null
        }
        if (p.errorCode !== 0) errors.push([`/responses/${i}/partitions/${j}`, [p.errorCode, null]])
        // COMPACT_RECORDS: the length is stored plus one (0 = null).
        const size = r.readUnsignedVarInt() - 1
        if (size > 0) {
          // One contiguous buffer (a view when the bytes arrived in one chunk, a copy when they span several).
          p.records = r.buffer.slice(r.position, r.position + size)
          r.skip(size)
        }
        return p
      })
    }))
  }
  if (errors.length > 0) throw new ResponseError(apiKey, apiVersion, Object.fromEntries(errors), response)
  return response
}

const RAW_FETCH = new Map<number, API<FetchArgs, RawFetchResponse>>(
  ([[13, fetchV13], [14, fetchV14], [15, fetchV15], [16, fetchV16], [17, fetchV17]] as const)
    .map(([v, m]) => [v, createAPI<FetchArgs, RawFetchResponse>(1, v, m.createRequest, parseRawFetch)])
)

type LibraryClient = Consumer<Buffer, Buffer, Buffer, Buffer>

/** One Fetch to `broker` (a partition leader) at the highest version both sides speak. */
export async function rawFetch (client: LibraryClient, broker: Broker, maxWaitMs: number, minBytes: number, maxBytes: number, isolationLevel: number, topics: RawFetchTopic[]): Promise<RawFetchResponse> {
  const library = await called<API<unknown[], unknown>>(cb => { client[kGetApi]('Fetch', cb) })
  const api = RAW_FETCH.get(library.version)
  if (api === undefined) throw new Error(`Fetch v${library.version} is not one this client reads (v13–v17; it needs a broker of Kafka 3.1 or later)`)
  const connection = await called<Connection>(cb => { client[kGetConnection](broker, cb) })
  return await api.async(connection, maxWaitMs, minBytes, maxBytes, isolationLevel, 0, 0, topics, [], '')
}

/** The result of a library call that takes a callback. */
async function called<T> (call: (cb: (error: Error | null, result?: T) => void) => void): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    call((error, result) => { if (error !== null && error !== undefined) reject(error); else resolve(result as T) })
  })
}
