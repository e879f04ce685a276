// The consumer group protocol (KIP-848, Kafka 4.0+): one request, ConsumerGroupHeartbeat, carries the member's
// subscription and the partitions it owns; the broker computes the assignment and answers with this member's target.
// The member reconciles towards it: it revokes what it must give up (onRevoked), tells the broker by heartbeating its
// smaller owned set, and takes what it is given (onAssigned). A partition that moves is handed to its new member only
// after the old one reported it no longer owns it, so the new owner starts after onRevoked returned. Partitions that
// stay are never revoked. Session timeout and heartbeat interval are the group's (broker) configs, not ours.
import { randomUUID } from 'node:crypto'
import { consumerGroupHeartbeatV0, consumerGroupHeartbeatV1 } from '@platformatic/kafka'
import { deferred, SerialQueue } from '../shared.ts'
import type { PartitionOffsets } from '../types.ts'
import { errorNames, isCoordinatorTrouble, sleep, Waker, type ClusterView, type GroupCoordinator, type MemberOptions, type Membership, type MembershipEvents } from './membership.ts'

const HEARTBEAT = [consumerGroupHeartbeatV1, consumerGroupHeartbeatV0]
type HeartbeatResponse = Awaited<ReturnType<typeof consumerGroupHeartbeatV1.api.async>>

/** Member epochs with a meaning: join, leave, and a static member's temporary leave (it keeps its assignment). */
const JOIN_EPOCH = 0
const LEAVE_EPOCH = -1
const STATIC_LEAVE_EPOCH = -2

/** Errors no retry can fix: the run stops, with this advice. */
const FATAL: Record<string, string> = {
  UNSUPPORTED_VERSION: 'the broker does not speak the consumer group protocol (KIP-848, Kafka 4.0+): use --kafka-group-protocol classic',
  UNSUPPORTED_ASSIGNOR: 'the broker does not know the requested server-side assignor',
  GROUP_MAX_SIZE_REACHED: 'the group is full (the broker\'s group.consumer.max.size)',
  GROUP_ID_NOT_FOUND: 'the group exists with another protocol: stop its classic members, or use --kafka-group-protocol classic',
  INCONSISTENT_GROUP_PROTOCOL: 'the group exists with another protocol: stop its classic members, or use --kafka-group-protocol classic',
  GROUP_AUTHORIZATION_FAILED: 'not authorized to join the group (ACLs)',
  TOPIC_AUTHORIZATION_FAILED: 'not authorized to read the topic (ACLs)',
  INVALID_REQUEST: 'the broker refused the heartbeat as invalid',
  FENCED_INSTANCE_ID: 'a newer member with the same --instance-id took over this one\'s partitions (two daemons with one instance id?)'
}

export class ConsumerGroupMember implements Membership {
  readonly #o: MemberOptions
  readonly #coordinator: GroupCoordinator
  readonly #cluster: ClusterView
  readonly #events: MembershipEvents
  /** revoke/assign calls, one at a time. */
  readonly #queue = new SerialQueue()
  readonly #waker = new Waker()
  readonly #first = deferred()
  /** With v1 the member makes up its id, once per lifetime; with v0 the broker gives it one. */
  #memberId = ''
  #epoch = JOIN_EPOCH
  #topicId = ''
  #owned = new Set<number>()
  /** The broker's heartbeat interval for the group (until it told us: 1 s). */
  #interval = 1000
  /** The next heartbeat must carry everything (after joining or an error), not only what changed. */
  #full = true
  #ownedChanged = false
  /** The newest target assignment not yet reconciled. */
  #target: number[] | null = null
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
    const md = await this.#cluster.metadata({ topics: [this.#o.topic] })
    const t = md.topics.get(this.#o.topic)
    if (t?.id === undefined) throw new Error(`topic ${this.#o.topic} not found`)
    this.#topicId = t.id
    this.#loop = this.#run()
    await this.#first.promise
  }

  async #run (): Promise<void> {
    let backoff = 100
    while (!this.#stopped) {
      let res: HeartbeatResponse
      try {
        res = await this.#heartbeat()
        backoff = 100
      } catch (e) {
        if (this.#stopped) break
        if (!this.#onError(e)) break
        await this.#waker.sleep(backoff)
        backoff = Math.min(backoff * 2, 1000)
        continue
      }
      this.#onResponse(res)
      // Owned partitions changed while the request was out: tell the broker now (that is the acknowledgement).
      if (!this.#ownedChanged && !this.#stopped) await this.#waker.sleep(this.#interval)
    }
  }

  async #heartbeat (epoch = this.#epoch): Promise<HeartbeatResponse> {
    const hb = await this.#coordinator.api(HEARTBEAT)
    if (this.#memberId === '' && hb.api.version >= 1) this.#memberId = randomUUID()
    const full = this.#full || epoch === JOIN_EPOCH
    const sendOwned = full || this.#ownedChanged
    this.#ownedChanged = false
    const owned = [...this.#owned].sort((a, b) => a - b)
    const leaving = epoch < 0
    try {
      return await this.#coordinator.call(async c => await hb.api.async(c,
        this.#o.groupId, this.#memberId, epoch, this.#o.instanceId, null,
        full && !leaving ? this.#o.rebalanceTimeoutMs : -1,
        full && !leaving ? [this.#o.topic] : null,
        null, null,
        // An empty list, not one topic with no partitions: the broker refuses the latter when (re-)joining.
        leaving || (sendOwned && owned.length === 0) ? [] : sendOwned ? [{ topicId: this.#topicId, partitions: owned }] : null as never))
    } catch (e) {
      // Whatever this request carried may not have arrived.
      if (sendOwned) this.#ownedChanged = true
      throw e
    }
  }

  #onResponse (res: HeartbeatResponse): void {
    if (typeof res.memberId === 'string' && res.memberId !== '') this.#memberId = res.memberId
    this.#epoch = res.memberEpoch
    if (res.heartbeatIntervalMs > 0) this.#interval = res.heartbeatIntervalMs
    this.#full = false
    if (res.assignment !== null) {
      const target = new Set<number>()
      for (const tp of res.assignment.topicPartitions) if (tp.topicId === this.#topicId) for (const p of tp.partitions) target.add(p)
      this.#target = [...target].sort((a, b) => a - b)
      this.#reconcile()
    }
  }

  /** Moves the owned set towards the newest target: revoke first (the broker waits for it), then take. */
  #reconcile (): void {
    if (this.#reconciling) return
    this.#reconciling = true
    void this.#queue.run(async () => {
      while (this.#target !== null && !this.#stopped) {
        const target = this.#target
        this.#target = null
        const keep = new Set(target)
        const removed = [...this.#owned].filter(p => !keep.has(p)).sort((a, b) => a - b)
        const added = target.filter(p => !this.#owned.has(p))
        if (removed.length > 0) {
          await this.#events.revoke(removed, 'rebalance')
          for (const p of removed) this.#owned.delete(p)
          this.#changed()
        }
        if (added.length > 0) {
          for (const p of added) this.#owned.add(p)
          this.#changed()
          await this.#events.assign(added)
        }
        this.#first.resolve()
      }
    }).finally(() => {
      this.#reconciling = false
      if (this.#target !== null && !this.#stopped) this.#reconcile()
    })
  }

  #changed (): void {
    this.#ownedChanged = true
    this.#waker.wake()
  }

  /** Everything owned is gone without a handover (fenced, or the broker forgot us): rejoin with a fresh epoch. */
  #lose (): void {
    const lost = [...this.#owned].sort((a, b) => a - b)
    this.#owned.clear()
    this.#target = null
    this.#epoch = JOIN_EPOCH
    this.#full = true
    if (lost.length > 0) void this.#queue.run(async () => { await this.#events.revoke(lost, 'lost') })
  }

  /** Handles a failed heartbeat; false when the member must give up. */
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
    if (names.includes('FENCED_MEMBER_EPOCH') || names.includes('UNKNOWN_MEMBER_ID')) {
      this.#events.error('the group fenced this member (its session expired, or it missed an assignment); its partitions are lost, rejoining', e)
      this.#lose()
      return true
    }
    if (names.includes('UNRELEASED_INSTANCE_ID')) {
      // A crashed static member still holds the instance id until its session expires; keep asking.
      this.#events.error(`instance id ${this.#o.instanceId ?? ''} is still held by a previous member (until its session times out); retrying`, e)
      this.#full = true
      return true
    }
    if (!isCoordinatorTrouble(e)) this.#events.error('group heartbeat failed; retrying', e)
    this.#full = true
    return true
  }

  async commit (offsets: PartitionOffsets): Promise<void> {
    await this.#coordinator.commit(this.#o.topic, offsets, this.#epoch, this.#memberId, this.#o.instanceId)
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
    // A static member leaves only for now (-2): its successor with the same instance id takes its assignment back.
    if (this.#memberId !== '' && this.#epoch > 0) {
      await Promise.race([this.#heartbeat(this.#o.instanceId === null ? LEAVE_EPOCH : STATIC_LEAVE_EPOCH).catch(() => {}), sleep(3000)])
    }
    await this.#coordinator.close()
  }
}
