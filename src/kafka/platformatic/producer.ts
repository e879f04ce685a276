// Producing on @platformatic/kafka: idempotent by default, one request at a time (ProduceQueue).
import { Producer, ProduceAcks } from '@platformatic/kafka'
import { ProduceQueue } from '../produce-queue.ts'
import { kafkaError, toBuffer } from '../shared.ts'
import type { KafkaProducer, ProducerOptions, ProducerRecord } from '../types.ts'
import { withKafkaErrors, type BaseConfig } from './config.ts'

export class PlatformaticProducer implements KafkaProducer {
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>
  readonly #brokers: string
  readonly #queue: ProduceQueue

  constructor (cfg: BaseConfig, options: ProducerOptions) {
    const idempotent = options.idempotent ?? true
    const acks = options.acks === 'none' ? ProduceAcks.NO_RESPONSE : options.acks === 'leader' ? ProduceAcks.LEADER : ProduceAcks.ALL
    if (idempotent && acks !== ProduceAcks.ALL) throw kafkaError('an idempotent producer needs acks=all', { broker: cfg.bootstrapBrokers.join(',') })
    this.#brokers = cfg.bootstrapBrokers.join(',')
    this.#queue = new ProduceQueue(idempotent)
    this.#producer = new Producer<Buffer, Buffer, Buffer, Buffer>({ ...cfg, idempotent, acks, compression: options.compression === 'gzip' ? 'gzip' : 'none', autocreateTopics: false } as ConstructorParameters<typeof Producer<Buffer, Buffer, Buffer, Buffer>>[0])
  }

  async connect (): Promise<void> {
    try {
      await this.#producer.metadata({ topics: [] })
    } catch (e) {
      throw kafkaError('cannot connect the Kafka producer', { broker: this.#brokers }, withKafkaErrors(e))
    }
  }

  async send (topic: string, records: readonly ProducerRecord[]): Promise<void> {
    await this.#queue.send(records, async chunk => await this.#producer.send({
      messages: chunk.map(r => {
        const m: { topic: string, key?: Buffer, value?: Buffer, partition?: number, headers?: Map<Buffer, Buffer>, timestamp?: bigint } = { topic }
        if (r.key !== undefined && r.key !== null) m.key = toBuffer(r.key)
        if (r.value !== null) m.value = toBuffer(r.value)
        if (r.partition !== undefined) m.partition = r.partition
        if (r.headers !== undefined) m.headers = new Map(Object.entries(r.headers).map(([k, v]) => [Buffer.from(k), toBuffer(v)]))
        if (r.timestamp !== undefined) m.timestamp = BigInt(r.timestamp)
        return m
      })
    }).catch(e => { throw withKafkaErrors(e) }), { topic, broker: this.#brokers })
  }

  async close (): Promise<void> {
    await this.#queue.settled()
    await this.#producer.close()
  }
}

