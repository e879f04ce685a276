// Producing on kafkajs: idempotent by default, one request at a time (ProduceQueue), murmur2 partitioning as Java's.
import kafkajs from 'kafkajs'
import type { Kafka as KafkaInstance, Producer } from 'kafkajs'
import { ProduceQueue } from '../produce-queue.ts'
import { kafkaError } from '../shared.ts'
import type { KafkaProducer, ProducerOptions, ProducerRecord } from '../types.ts'

const { Partitioners, CompressionTypes } = kafkajs

/**
 * Most records of one kafkajs send. kafkajs groups a send's messages by partition by copying the partition's array
 * once per message (`groupMessagesPerPartition`: `[...current, message]`), so a send costs the square of its messages:
 * 10,000 small records to 4 partitions copied ~12.5 M array slots, and producing 1,000,000 events allocated ~24 GB
 * (V8's sampling heap profiler). 1,000 records a request cost each record ~125 copies, and the extra round trips
 * less than the copies did (README, Kafka).
 */
export const KAFKAJS_RECORDS_PER_REQUEST = 1000

export class KafkajsProducer implements KafkaProducer {
  readonly #producer: Producer
  readonly #brokers: string
  readonly #acks: number
  readonly #compression: number
  readonly #queue: ProduceQueue
  #connected: Promise<void> | null = null

  constructor (kafka: KafkaInstance, brokers: string, options: ProducerOptions) {
    const idempotent = options.idempotent ?? true
    this.#brokers = brokers
    this.#acks = options.acks === 'none' ? 0 : options.acks === 'leader' ? 1 : -1
    if (idempotent && this.#acks !== -1) throw kafkaError('an idempotent producer needs acks=all', { broker: brokers })
    this.#compression = options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None
    this.#queue = new ProduceQueue(idempotent, KAFKAJS_RECORDS_PER_REQUEST)
    this.#producer = kafka.producer({
      idempotent,
      allowAutoTopicCreation: false,
      createPartitioner: Partitioners.DefaultPartitioner,
      ...(idempotent ? { maxInFlightRequests: 1 } : {})
    })
  }

  async connect (): Promise<void> {
    this.#connected ??= this.#producer.connect().catch(e => {
      this.#connected = null
      throw kafkaError('cannot connect the Kafka producer', { broker: this.#brokers }, e)
    })
    await this.#connected
  }

  async send (topic: string, records: readonly ProducerRecord[]): Promise<void> {
    await this.connect()
    await this.#queue.send(records, async chunk => await this.#producer.send({
      topic,
      acks: this.#acks,
      compression: this.#compression,
      messages: chunk.map(r => ({
        key: r.key ?? null,
        value: r.value,
        ...(r.partition !== undefined ? { partition: r.partition } : {}),
        ...(r.headers !== undefined ? { headers: r.headers as Record<string, Buffer | string> } : {}),
        ...(r.timestamp !== undefined ? { timestamp: String(r.timestamp) } : {})
      }))
    }), { topic, broker: this.#brokers })
  }

  async close (): Promise<void> {
    await this.#queue.settled()
    await this.#producer.disconnect()
  }
}

