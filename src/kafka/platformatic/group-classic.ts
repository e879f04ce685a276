// The classic group protocol (JoinGroup / SyncGroup / Heartbeat), cooperative (KIP-429): a rebalance does not revoke
// anything up front. Every member rejoins reporting the partitions it owns; the leader assigns with
// cooperative-assignor.ts, leaving out the partitions that must move; each member then revokes what it lost
// (onRevoked, while it still is the owner) and, if it revoked anything, rejoins at once, so that the next round hands
// those partitions to their new members. The protocol name is "cooperative-sticky", with the standard
// ConsumerProtocolSubscription/Assignment encodings, so Java members of the same group interoperate with it.
import {
  heartbeatV4, joinGroupV6, joinGroupV7, joinGroupV8, joinGroupV9, leaveGroupV4, leaveGroupV5, syncGroupV4, syncGroupV5
} from '@platformatic/kafka'
import { assignCooperative, type MemberSubscription } from '../cooperative-assignor.ts'
import { deferred, SerialQueue } from '../shared.ts'
import type { PartitionOffsets } from '../types.ts'
import { errorNames, isCoordinatorTrouble, sleep, Waker, type ClusterView, type GroupCoordinator, type MemberOptions, type Membership, type MembershipEvents } from './membership.ts'

const JOIN = [joinGroupV9, joinGroupV8, joinGroupV7, joinGroupV6]
const SYNC = [syncGroupV5, syncGroupV4]
const HEARTBEAT = [heartbeatV4]
const LEAVE = [leaveGroupV5, leaveGroupV4]
export const COOPERATIVE_PROTOCOL = 'cooperative-sticky'

const FATAL: Record<string, string> = {
  INCONSISTENT_GROUP_PROTOCOL: `the group's other members use another assignment strategy than ${COOPERATIVE_PROTOCOL} (kafkajs members, or Java consumers with another assignor): one library per group`,
  GROUP_MAX_SIZE_REACHED: 'the group is full (the broker\'s group.max.size)',
  INVALID_SESSION_TIMEOUT: 'the session timeout is outside the broker\'s group.min.session.timeout.ms … group.max.session.timeout.ms',
  GROUP_AUTHORIZATION_FAILED: 'not authorized to join the group (ACLs)',
  FENCED_INSTANCE_ID: 'a newer member with the same --instance-id took over this one\'s partitions (two daemons with one instance id?)',
  UNSUPPORTED_VERSION: 'the broker does not speak a JoinGroup version we know'
}

/**
 * ConsumerProtocolSubscription, version 2: topics, user data (none), owned partitions, generation. Big-endian, int16
 * string lengths, int32 array lengths (the classic encoding, not the flexible one).
 */
export function encodeSubscription (topic: string, owned: readonly number[], generation: number): Buffer {
  const t = Buffer.from(topic)
  const b = Buffer.alloc(2 + 4 + 2 + t.length + 4 + 4 + 2 + t.length + 4 + 4 * owned.length + 4)
  let o = b.writeInt16BE(2, 0)
  o = b.writeInt32BE(1, o); o = b.writeInt16BE(t.length, o); o += t.copy(b, o)
  o = b.writeInt32BE(-1, o)
  o = b.writeInt32BE(1, o); o = b.writeInt16BE(t.length, o); o += t.copy(b, o)
  o = b.writeInt32BE(owned.length, o)
  for (const p of owned) o = b.writeInt32BE(p, o)
  b.writeInt32BE(generation, o)
  return b
}

/** Reads any version (0–3) of a member's subscription: owned partitions of `topic` and the generation. */
export function decodeSubscription (memberId: string, instanceId: string | null, topic: string, meta: Buffer | null): MemberSubscription & { topics: string[] } {
  const out = { memberId, instanceId, owned: [] as number[], generation: -1, topics: [] as string[] }
  if (meta === null || meta.length < 2) return out
  let o = 0
  const str = (): string => { const n = meta.readInt16BE(o); o += 2; const s = meta.toString('utf8', o, o + n); o += Math.max(0, n); return s }
  const version = meta.readInt16BE(o); o += 2
  for (let n = meta.readInt32BE(o), i = (o += 4, 0); i < n; i++) out.topics.push(str())
  const ud = meta.readInt32BE(o); o += 4 + Math.max(0, ud)
  if (version >= 1 && o + 4 <= meta.length) {
    for (let n = meta.readInt32BE(o), i = (o += 4, 0); i < n; i++) {
      const name = str()
      for (let m = meta.readInt32BE(o), j = (o += 4, 0); j < m; j++, o += 4) if (name === topic) out.owned.push(meta.readInt32BE(o))
    }
  }
  if (version >= 2 && o + 4 <= meta.length) out.generation = meta.readInt32BE(o)
  return out
}

/** ConsumerProtocolAssignment (version 1; the layout is version 0's): one topic's partitions, no user data. */
export function encodeAssignment (topic: string, partitions: readonly number[]): Buffer {
  const t = Buffer.from(topic)
  const b = Buffer.alloc(2 + 4 + 2 + t.length + 4 + 4 * partitions.length + 4)
  let o = b.writeInt16BE(1, 0)
  o = b.writeInt32BE(1, o); o = b.writeInt16BE(t.length, o); o += t.copy(b, o)
  o = b.writeInt32BE(partitions.length, o)
  for (const p of partitions) o = b.writeInt32BE(p, o)
  b.writeInt32BE(-1, o)
  return b
}

export function decodeAssignment (topic: string, a: Buffer | null): number[] {
  const out: number[] = []
  if (a === null || a.length < 6) return out
  let o = 2
  for (let n = a.readInt32BE(o), i = (o += 4, 0); i < n; i++) {
    const len = a.readInt16BE(o); o += 2
    const name = a.toString('utf8', o, o + len); o += len
    for (let m = a.readInt32BE(o), j = (o += 4, 0); j < m; j++, o += 4) if (name === topic) out.push(a.readInt32BE(o))
  }
  return out.sort((x, y) => x - y)
}

export class ClassicGroupMember implements Membership {
  readonly #o: MemberOptions
  readonly #coordinator: GroupCoordinator
  readonly #cluster: ClusterView
  readonly #events: MembershipEvents
  readonly #queue = new SerialQueue()
  readonly #waker = new Waker()
  readonly #first = deferred()
  #memberId = ''
  /** Generation of the last successful SyncGroup (-1: none, or lost). */
  #generation = -1
  #owned = new Set<number>()
  #rejoin = true
  /** A revoke/assign for the last SyncGroup is still running: the next JoinGroup waits for it. */
  #reconciling = false
  #loop: Promise<void> | null = null
  #stopped = false

  constructor (o: MemberOptions, coordinator: GroupCoordinator, cluster: ClusterView, events: MembershipEvents) {
    this.#o = o
    this.#coordinator = coordinator
    this.#cluster = cluster
    this.#events = events
  }

  async start (): Promise<void> {
    this.#loop = this.#run()
    await this.#first.promise
  }

  async #run (): Promise<void> {
    let backoff = 100
    while (!this.#stopped) {
      try {
        if (this.#rejoin && !this.#reconciling) {
          await this.#joinAndSync()
        } else {
          // Also while a revocation runs before a rejoin: the session must stay alive meanwhile.
          if (this.#generation >= 0) await this.#heartbeat()
          await this.#waker.sleep(this.#o.heartbeatIntervalMs)
        }
        backoff = 100
      } catch (e) {
        if (this.#stopped) break
        if (!this.#onError(e)) break
        if (this.#rejoin && errorNames(e).some(n => n === 'MEMBER_ID_REQUIRED' || n === 'REBALANCE_IN_PROGRESS')) continue
        await this.#waker.sleep(backoff)
        backoff = Math.min(backoff * 2, 1000)
      }
    }
  }

  async #heartbeat (): Promise<void> {
    const hb = await this.#coordinator.api(HEARTBEAT)
    await this.#coordinator.call(async c => await hb.api.async(c, this.#o.groupId, this.#generation, this.#memberId, this.#o.instanceId))
  }

  async #joinAndSync (): Promise<void> {
    const join = await this.#coordinator.api(JOIN)
    const owned = [...this.#owned].sort((a, b) => a - b)
    const res = await this.#coordinator.call(async c => await join.api.async(c,
      this.#o.groupId, this.#o.sessionTimeoutMs, this.#o.rebalanceTimeoutMs, this.#memberId, this.#o.instanceId, 'consumer',
      [{ name: COOPERATIVE_PROTOCOL, metadata: encodeSubscription(this.#o.topic, owned, this.#generation) }], null), true)
    this.#memberId = res.memberId ?? this.#memberId
    let assignments: Array<{ memberId: string, assignment: Buffer }> = []
    if (res.leader === this.#memberId && !res.skipAssignment) {
      const md = await this.#cluster.metadata({ topics: [this.#o.topic], forceUpdate: true })
      const partitions = md.topics.get(this.#o.topic)?.partitionsCount ?? 0
      const members = res.members.map(m => decodeSubscription(m.memberId, m.groupInstanceId ?? null, this.#o.topic, m.metadata))
      const plan = assignCooperative(members.filter(m => m.topics.includes(this.#o.topic)), partitions)
      assignments = members.map(m => ({ memberId: m.memberId, assignment: encodeAssignment(this.#o.topic, plan.get(m.memberId) ?? []) }))
    }
    const sync = await this.#coordinator.api(SYNC)
    const synced = await this.#coordinator.call(async c => await sync.api.async(c,
      this.#o.groupId, res.generationId, this.#memberId, this.#o.instanceId, 'consumer', res.protocolName ?? COOPERATIVE_PROTOCOL, assignments), true)
    this.#generation = res.generationId
    this.#rejoin = false
    this.#reconcile(decodeAssignment(this.#o.topic, synced.assignment))
  }

  #reconcile (assigned: number[]): void {
    this.#reconciling = true
    void this.#queue.run(async () => {
      const keep = new Set(assigned)
      const removed = [...this.#owned].filter(p => !keep.has(p)).sort((a, b) => a - b)
      const added = assigned.filter(p => !this.#owned.has(p))
      if (removed.length > 0) {
        await this.#events.revoke(removed, 'rebalance')
        for (const p of removed) this.#owned.delete(p)
        // The leader held these back from their new members: rejoin now so that the next round gives them out.
        this.#rejoin = true
      }
      if (added.length > 0) {
        for (const p of added) this.#owned.add(p)
        await this.#events.assign(added)
      }
      this.#first.resolve()
    }).finally(() => {
      this.#reconciling = false
      this.#waker.wake()
    })
  }

  #lose (): void {
    const lost = [...this.#owned].sort((a, b) => a - b)
    this.#owned.clear()
    this.#generation = -1
    this.#rejoin = true
    if (lost.length > 0) void this.#queue.run(async () => { await this.#events.revoke(lost, 'lost') })
  }

  #onError (e: unknown): boolean {
    const names = errorNames(e)
    const fatal = names.find(n => n in FATAL) ?? ((e as { unsupported?: boolean }).unsupported === true ? 'UNSUPPORTED_VERSION' : undefined)
    if (fatal !== undefined) {
      this.#lose()
      this.#stopped = true
      const message = `cannot stay in consumer group ${this.#o.groupId}: ${FATAL[fatal]!}`
      this.#first.reject(new Error(message, { cause: e }))
      this.#events.error(message, e, 'run')
      return false
    }
    if (names.includes('MEMBER_ID_REQUIRED')) {
      // The broker hands out member ids on a first JoinGroup that it answers with this error; join again with it.
      const id = (e as { response?: { memberId?: string | null } }).response?.memberId
      if (typeof id === 'string' && id !== '') this.#memberId = id
      this.#rejoin = true
      return true
    }
    if (names.includes('REBALANCE_IN_PROGRESS')) {
      this.#rejoin = true
      return true
    }
    if (names.includes('UNKNOWN_MEMBER_ID') || names.includes('ILLEGAL_GENERATION')) {
      this.#events.error('the group expelled this member (its session expired, or it missed a rebalance); its partitions are lost, rejoining', e)
      if (names.includes('UNKNOWN_MEMBER_ID')) this.#memberId = ''
      this.#lose()
      return true
    }
    if (!isCoordinatorTrouble(e)) this.#events.error('group request failed; retrying', e)
    return true
  }

  async commit (offsets: PartitionOffsets): Promise<void> {
    await this.#coordinator.commit(this.#o.topic, offsets, this.#generation, this.#memberId, this.#o.instanceId)
  }

  async stop (): Promise<void> {
    if (this.#stopped && this.#loop === null) return
    this.#stopped = true
    this.#waker.wake()
    await this.#loop
    this.#loop = null
    this.#first.reject(new Error('stopped before the first assignment'))
    const owned = [...this.#owned].sort((a, b) => a - b)
    await this.#queue.run(async () => { if (owned.length > 0) await this.#events.revoke(owned, 'stop') })
    this.#owned.clear()
    // A static member does not leave: its successor with the same instance id gets its assignment back at once.
    if (this.#o.instanceId === null && this.#memberId !== '') {
      const leave = await this.#coordinator.api(LEAVE).catch(() => null)
      if (leave !== null) await Promise.race([this.#coordinator.call(async c => await leave.api.async(c, this.#o.groupId, [{ memberId: this.#memberId, groupInstanceId: null }])).catch(() => {}), sleep(3000)])
    }
    await this.#coordinator.close()
  }
}
