// Topic administration and offset queries on @platformatic/kafka's Admin client.
import { FetchIsolationLevels } from '@platformatic/kafka'
import type { Admin } from '@platformatic/kafka'
import { kafkaError } from '../shared.ts'
import type { KafkaAdmin, TopicSpec } from '../types.ts'
import { EARLIEST, LATEST, protocolErrors, withKafkaErrors } from './config.ts'

export class PlatformaticAdmin implements KafkaAdmin {
  readonly #admin: Admin
  readonly #brokers: string

  constructor (admin: Admin, brokers: string) {
    this.#admin = admin
    this.#brokers = brokers
  }

  async createTopic (name: string, spec: TopicSpec): Promise<boolean> {
    let created = true
    try {
      await this.#admin.createTopics({
        topics: [name],
        partitions: spec.partitions,
        replicas: spec.replicationFactor ?? 1,
        configs: Object.entries(spec.config ?? {}).map(([n, value]) => ({ name: n, value }))
      })
    } catch (e) {
      if (!protocolErrors(e).some(x => x.id === 'TOPIC_ALREADY_EXISTS')) {
        throw kafkaError('cannot create topic', { topic: name, partitions: spec.partitions, broker: this.#brokers }, withKafkaErrors(e))
      }
      created = false
    }
    // CreateTopics returns before the partitions have leaders; clients would get LEADER_NOT_AVAILABLE until then.
    const deadline = Date.now() + 30_000
    for (;;) {
      try {
        const md = await this.#admin.metadata({ topics: [name], forceUpdate: true })
        const t = md.topics.get(name)
        if (t !== undefined && t.partitions.length > 0 && t.partitions.every(p => p.leader >= 0)) return created
      } catch {}
      if (Date.now() > deadline) throw kafkaError('topic has no partition leaders 30 s after creation', { topic: name, broker: this.#brokers })
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }

  async deleteTopic (name: string): Promise<void> {
    try {
      await this.#admin.deleteTopics({ topics: [name] })
    } catch (e) {
      throw kafkaError('cannot delete topic', { topic: name, broker: this.#brokers }, withKafkaErrors(e))
    }
  }

  async partitionCount (topic: string): Promise<number> {
    try {
      const md = await this.#admin.metadata({ topics: [topic], forceUpdate: true })
      return md.topics.get(topic)?.partitionsCount ?? 0
    } catch (e) {
      throw kafkaError('cannot read topic metadata', { topic, broker: this.#brokers }, withKafkaErrors(e))
    }
  }

  async endOffsets (topic: string): Promise<Map<number, number>> {
    return await this.#offsets(topic, LATEST)
  }

  async startOffsets (topic: string): Promise<Map<number, number>> {
    return await this.#offsets(topic, EARLIEST)
  }

  async #offsets (topic: string, timestamp: bigint): Promise<Map<number, number>> {
    const n = await this.partitionCount(topic)
    try {
      const res = await this.#admin.listOffsets({
        topics: [{ name: topic, partitions: Array.from({ length: n }, (_, partitionIndex) => ({ partitionIndex, timestamp })) }],
        isolationLevel: FetchIsolationLevels.READ_COMMITTED
      })
      const out = new Map<number, number>()
      for (const t of res) for (const p of t.partitions) out.set(p.partitionIndex, Number(p.offset))
      return new Map([...out].sort((a, b) => a[0] - b[0]))
    } catch (e) {
      throw kafkaError('cannot read topic offsets', { topic, broker: this.#brokers }, withKafkaErrors(e))
    }
  }

  async committedOffsets (groupId: string, topic: string): Promise<Map<number, number>> {
    const n = await this.partitionCount(topic)
    try {
      const res = await this.#admin.listConsumerGroupOffsets({ groups: [{ groupId, topics: [{ name: topic, partitionIndexes: Array.from({ length: n }, (_, i) => i) }] }] })
      const out = new Map<number, number>()
      for (const g of res) for (const t of g.topics) for (const p of t.partitions) if (p.committedOffset >= 0n) out.set(p.partitionIndex, Number(p.committedOffset))
      return out
    } catch (e) {
      throw kafkaError('cannot read committed offsets', { topic, groupId, broker: this.#brokers }, withKafkaErrors(e))
    }
  }

  async close (): Promise<void> {
    await this.#admin.close()
  }
}
