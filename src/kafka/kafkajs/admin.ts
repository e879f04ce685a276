// Topic administration and offset queries on kafkajs's admin client.
import type { Admin } from 'kafkajs'
import { kafkaError } from '../shared.ts'
import type { KafkaAdmin, TopicSpec } from '../types.ts'

/** Each partition's end (`high`) or start (`low`) offset, in partition order. Also used by the consumer. */
export async function topicOffsetsOf (admin: Admin, topic: string, which: 'high' | 'low', brokers: string): Promise<Map<number, number>> {
  try {
    const res = await admin.fetchTopicOffsets(topic)
    return new Map(res.map(r => [r.partition, Number(r[which])] as [number, number]).sort((a, b) => a[0] - b[0]))
  } catch (e) {
    throw kafkaError('cannot read topic offsets', { topic, broker: brokers }, e)
  }
}

/** The group's committed next-offsets for a topic (partitions without one are absent). Also used by the consumer. */
export async function committedOf (admin: Admin, groupId: string, topic: string, brokers: string): Promise<Map<number, number>> {
  try {
    const res = await admin.fetchOffsets({ groupId, topics: [topic] })
    const out = new Map<number, number>()
    for (const t of res) {
      for (const { partition, offset } of t.partitions) {
        const o = Number(offset)
        if (o >= 0) out.set(partition, o)
      }
    }
    return out
  } catch (e) {
    throw kafkaError('cannot read committed offsets', { topic, groupId, broker: brokers }, e)
  }
}

export class KafkajsAdmin implements KafkaAdmin {
  readonly #admin: Admin
  readonly #brokers: string

  constructor (admin: Admin, brokers: string) {
    this.#admin = admin
    this.#brokers = brokers
  }

  async createTopic (name: string, spec: TopicSpec): Promise<boolean> {
    let created: boolean
    try {
      created = await this.#admin.createTopics({
        waitForLeaders: false,
        topics: [{
          topic: name,
          numPartitions: spec.partitions,
          replicationFactor: spec.replicationFactor ?? 1,
          configEntries: Object.entries(spec.config ?? {}).map(([n, value]) => ({ name: n, value }))
        }]
      })
    } catch (e) {
      throw kafkaError('cannot create topic', { topic: name, partitions: spec.partitions, broker: this.#brokers }, e)
    }
    // CreateTopics returns before the partitions have leaders. kafkajs's own wait for them (waitForLeaders) retries
    // LEADER_NOT_AVAILABLE only and gives up on UNKNOWN_TOPIC_OR_PARTITION, which a busy KRaft broker answers for a
    // moment after creating the topic (seen with two test files creating topics at once): wait here, as the
    // platformatic admin does.
    const deadline = Date.now() + 30_000
    for (;;) {
      try {
        const md = await this.#admin.fetchTopicMetadata({ topics: [name] })
        const t = md.topics.find(x => x.name === name)
        if (t !== undefined && t.partitions.length > 0 && t.partitions.every(p => p.leader >= 0)) return created
      } catch {}
      if (Date.now() > deadline) throw kafkaError('topic has no partition leaders 30 s after creation', { topic: name, broker: this.#brokers })
      await new Promise(resolve => setTimeout(resolve, 100))
    }
  }

  async deleteTopic (name: string): Promise<void> {
    try {
      await this.#admin.deleteTopics({ topics: [name] })
    } catch (e) {
      throw kafkaError('cannot delete topic', { topic: name, broker: this.#brokers }, e)
    }
  }

  async partitionCount (topic: string): Promise<number> {
    try {
      const md = await this.#admin.fetchTopicMetadata({ topics: [topic] })
      return md.topics[0]?.partitions.length ?? 0
    } catch (e) {
      throw kafkaError('cannot read topic metadata', { topic, broker: this.#brokers }, e)
    }
  }

  async endOffsets (topic: string): Promise<Map<number, number>> {
    return await this.#offsets(topic, 'high')
  }

  async startOffsets (topic: string): Promise<Map<number, number>> {
    return await this.#offsets(topic, 'low')
  }

  async #offsets (topic: string, which: 'high' | 'low'): Promise<Map<number, number>> {
    return await topicOffsetsOf(this.#admin, topic, which, this.#brokers)
  }

  async committedOffsets (groupId: string, topic: string): Promise<Map<number, number>> {
    return await committedOf(this.#admin, groupId, topic, this.#brokers)
  }

  async close (): Promise<void> {
    await this.#admin.disconnect()
  }
}
