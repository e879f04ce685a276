// Group membership on @platformatic/kafka, written on its protocol functions rather than its Consumer: the library
// rejoins (classic) or acknowledges a new assignment (consumer protocol) by itself, before the application has let go
// of the partitions it loses, so neither onRevoked-before-handover nor incremental assignment could be kept with it.
// This module holds what both protocols share: the member's contract towards the consumer, the connection to the
// group coordinator, and the error names. group-classic.ts and group-consumer.ts are the two protocols.
import {
  ConnectionPool, findCoordinatorV4, findCoordinatorV5, findCoordinatorV6, offsetCommitV8, offsetCommitV9,
  offsetFetchV8, offsetFetchV9
} from '@platformatic/kafka'
import type { Broker, ClusterMetadata, Connection } from '@platformatic/kafka'
import type { PartitionOffsets, RevokeReason } from '../types.ts'
import { protocolErrors, type BaseConfig } from './config.ts'

/** What a member asks of the consumer it works for. Both are awaited; they are never called concurrently. */
export interface MembershipEvents {
  /** Partitions taken away: stop delivering them, let the batch in delivery settle, call onRevoked. */
  revoke: (removed: readonly number[], reason: RevokeReason) => Promise<void>
  /** Partitions added: find their start offsets, call onAssigned, then fetch them. */
  assign: (added: readonly number[]) => Promise<void>
  /** Something went wrong; `fatal` as ConsumeOptions.onError says. */
  error: (message: string, cause?: unknown, fatal?: 'consumer' | 'run') => void
}

export interface Membership {
  /** Joins; resolves once the first assignment has been handled (rejects if joining is impossible). */
  start: () => Promise<void>
  /** Revokes what it owns ('stop'), leaves the group (a static member does not) and closes its connections. */
  stop: () => Promise<void>
  /** Commits with this member's identity (generation or member epoch): only an owner may commit. */
  commit: (offsets: PartitionOffsets) => Promise<void>
}

/** One API's version range on the broker (ApiVersions). */
export interface ApiRange { apiKey: number, minVersion: number, maxVersion: number }

/** The library client calls a member needs besides the coordinator: metadata and the broker's API versions. */
export interface ClusterView {
  metadata: (options: { topics: string[], forceUpdate?: boolean }) => Promise<ClusterMetadata>
  listApis: () => Promise<ApiRange[]>
}

export interface MemberOptions {
  readonly groupId: string
  readonly topic: string
  readonly instanceId: string | null
  readonly sessionTimeoutMs: number
  readonly rebalanceTimeoutMs: number
  readonly heartbeatIntervalMs: number
}

/** Kafka error names in an error from the library (empty for network errors and anything else). */
export function errorNames (e: unknown): string[] {
  return protocolErrors(e).map(x => x.id)
}

const COORDINATOR_MOVED = new Set(['NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS'])

/** The coordinator moved, is loading, or could not be reached: find it again and retry. */
export function isCoordinatorTrouble (e: unknown): boolean {
  const names = errorNames(e)
  return names.length === 0 || names.some(n => COORDINATOR_MOVED.has(n) || n === 'REQUEST_TIMED_OUT' || n === 'NETWORK_EXCEPTION')
}

export const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/** A sleep that wake() ends early (a heartbeat that must go now, or stop()). */
export class Waker {
  #wake: (() => void) | null = null

  async sleep (ms: number): Promise<void> {
    await new Promise<void>(resolve => {
      const t = setTimeout(() => { this.#wake = null; resolve() }, ms)
      this.#wake = () => { clearTimeout(t); this.#wake = null; resolve() }
    })
  }

  wake (): void { this.#wake?.() }
}

/** API versions we can speak, newest first, by Kafka API key. */
const FIND_COORDINATOR = [findCoordinatorV6, findCoordinatorV5, findCoordinatorV4]
const OFFSET_COMMIT = [offsetCommitV9, offsetCommitV8]
const OFFSET_FETCH = [offsetFetchV9, offsetFetchV8]

/**
 * The group coordinator: found once (FindCoordinator) and found again after an error that says it moved or cannot be
 * reached. Group traffic has a connection of its own, so a heartbeat never queues behind a fetch held by the broker.
 */
export class GroupCoordinator {
  readonly groupId: string
  readonly #cluster: ClusterView
  readonly #bootstrap: Broker[]
  /** Requests answered at once (heartbeats, commits…), with the client's request timeout. */
  readonly #pool: ConnectionPool
  /** JoinGroup and SyncGroup, which wait for the rebalance. */
  readonly #rebalancePool: ConnectionPool
  #coordinator: Broker | null = null
  #apis: ApiRange[] | null = null

  /** `rebalanceTimeoutMs`: JoinGroup and SyncGroup are answered only when the rebalance completes. */
  constructor (groupId: string, cluster: ClusterView, cfg: BaseConfig, rebalanceTimeoutMs: number) {
    this.groupId = groupId
    this.#cluster = cluster
    this.#bootstrap = cfg.bootstrapBrokers.map(b => { const i = b.lastIndexOf(':'); return { host: b.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(b.slice(i + 1)) } })
    const options = (requestTimeout: number): ConstructorParameters<typeof ConnectionPool>[1] => ({
      connectTimeout: cfg.connectTimeout,
      requestTimeout,
      ...(cfg.tls === undefined ? {} : { tls: cfg.tls }),
      ...(cfg.sasl === undefined ? {} : { sasl: cfg.sasl })
    } as ConstructorParameters<typeof ConnectionPool>[1])
    this.#pool = new ConnectionPool(`${cfg.clientId}-group`, options(cfg.timeout))
    this.#rebalancePool = new ConnectionPool(`${cfg.clientId}-rebalance`, options(Math.max(cfg.timeout, rebalanceTimeoutMs + 5000)))
  }

  /** The newest version of an API that both we (the modules given, newest first) and the broker speak. */
  async api<A extends { api: { key: number, version: number } }> (modules: readonly A[]): Promise<A> {
    this.#apis ??= await this.#cluster.listApis()
    const key = modules[0]!.api.key
    const range = this.#apis.find(a => a.apiKey === key)
    const m = range === undefined ? undefined : modules.find(x => x.api.version >= range.minVersion && x.api.version <= range.maxVersion)
    if (m === undefined) {
      const err = new Error(`the broker does not speak API ${key} in a version we know (${modules.map(x => x.api.version).join(', ')}; broker: ${range === undefined ? 'none' : `${range.minVersion}–${range.maxVersion}`})`)
      Object.assign(err, { unsupported: true })
      throw err
    }
    return m
  }

  async #connection (pool: ConnectionPool): Promise<Connection> {
    if (this.#coordinator === null) {
      let brokers = this.#bootstrap
      try {
        brokers = [...(await this.#cluster.metadata({ topics: [] })).brokers.values()]
      } catch {}
      const any = await this.#pool.getFirstAvailable(brokers)
      const find = await this.api(FIND_COORDINATOR)
      const res = await find.api.async(any, 0, [this.groupId])
      const c = res.coordinators.find(x => x.key === this.groupId)
      if (c === undefined || c.nodeId < 0) throw new Error(`no coordinator for group ${this.groupId} yet`)
      this.#coordinator = { host: c.host, port: c.port }
    }
    return await pool.get(this.#coordinator)
  }

  /**
   * Runs one group request on the coordinator (`waitsForRebalance`: JoinGroup, SyncGroup); on trouble with the
   * coordinator, the next call looks it up again.
   */
  async call<T> (request: (connection: Connection) => Promise<T>, waitsForRebalance = false): Promise<T> {
    try {
      return await request(await this.#connection(waitsForRebalance ? this.#rebalancePool : this.#pool))
    } catch (e) {
      if (isCoordinatorTrouble(e)) this.#coordinator = null
      throw e
    }
  }

  /** OffsetCommit with a member's identity: generation (classic) or member epoch (consumer protocol). */
  async commit (topic: string, offsets: PartitionOffsets, generationOrEpoch: number, memberId: string, instanceId: string | null): Promise<void> {
    const commit = await this.api(OFFSET_COMMIT)
    await this.call(async c => await commit.api.async(c, this.groupId, generationOrEpoch, memberId, instanceId, [{
      name: topic,
      partitions: [...offsets].map(([partitionIndex, offset]) => ({ partitionIndex, committedOffset: BigInt(offset), committedLeaderEpoch: -1, committedMetadata: null }))
    }]))
  }

  /** The group's committed next-offsets of these partitions (absent: none). Read as an observer (no member epoch). */
  async committed (topic: string, partitions: readonly number[]): Promise<Map<number, number>> {
    const out = new Map<number, number>()
    if (partitions.length === 0) return out
    const fetch = await this.api(OFFSET_FETCH)
    const res = await this.call(async c => await fetch.api.async(c, [{ groupId: this.groupId, memberId: null, memberEpoch: -1, topics: [{ name: topic, partitionIndexes: [...partitions] }] }], false))
    for (const g of res.groups) for (const t of g.topics) for (const p of t.partitions) if (p.committedOffset >= 0n) out.set(p.partitionIndex, Number(p.committedOffset))
    return out
  }

  async close (): Promise<void> {
    await this.#pool.close().catch(() => {})
    await this.#rebalancePool.close().catch(() => {})
  }
}
