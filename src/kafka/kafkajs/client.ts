// The client layer on kafkajs 2.2.4 (pure JS; unmaintained since 2023, so it stays behind src/kafka/types.ts): one
// kafkajs instance per client, and the consumer, producer and admin of this folder on it.
import kafkajs from 'kafkajs'
import type { Kafka as KafkaInstance, KafkaConfig, SASLOptions } from 'kafkajs'
import { DEFAULT_REQUEST_TIMEOUT_MS, kafkaError } from '../shared.ts'
import type { ConsumeOptions, KafkaAdmin, KafkaClient, KafkaClientOptions, KafkaConsumer, KafkaProducer, ProducerOptions } from '../types.ts'
import { KafkajsAdmin } from './admin.ts'
import { installKafkajsCodecs } from './codecs.ts'
import { KafkajsConsumer } from './consumer.ts'
import { KafkajsProducer } from './producer.ts'

const { Kafka, logLevel } = kafkajs

function kafkaLogLevel (): number {
  // Errors reach the caller as exceptions or onError; kafkajs's own log is for debugging the library itself.
  switch (process.env.TILEKILN_KAFKA_LOG) {
    case 'debug': return logLevel.DEBUG
    case 'info': return logLevel.INFO
    case 'warn': return logLevel.WARN
    case 'error': return logLevel.ERROR
    default: return logLevel.NOTHING
  }
}

export class KafkajsClient implements KafkaClient {
  readonly library = 'kafkajs' as const
  readonly brokers: readonly string[]
  readonly #kafka: KafkaInstance

  constructor (brokers: string[], options: KafkaClientOptions) {
    this.brokers = brokers
    const config: KafkaConfig = {
      brokers,
      clientId: options.clientId ?? 'tilekiln',
      logLevel: kafkaLogLevel(),
      connectionTimeout: options.connectionTimeoutMs ?? 3000,
      requestTimeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      // kafkajs's default backs off up to 30 s between attempts: after a broker outage a client could sit that long
      // before trying again. Attempts ≤ 1 s apart resume within a second of the broker's return.
      retry: { initialRetryTime: 100, maxRetryTime: 1000, factor: 0.2, multiplier: 2, retries: 10 }
    }
    if (options.ssl !== undefined) config.ssl = options.ssl
    if (options.sasl !== undefined) config.sasl = { ...options.sasl } as SASLOptions
    installKafkajsCodecs()
    this.#kafka = new Kafka(config)
  }

  consumer (options: ConsumeOptions): KafkaConsumer {
    return new KafkajsConsumer(this.#kafka, this.brokers.join(','), options)
  }

  producer (options: ProducerOptions = {}): KafkaProducer {
    return new KafkajsProducer(this.#kafka, this.brokers.join(','), options)
  }

  async admin (): Promise<KafkaAdmin> {
    const admin = this.#kafka.admin()
    try {
      await admin.connect()
    } catch (e) {
      throw kafkaError('cannot connect to Kafka', { broker: this.brokers.join(',') }, e)
    }
    return new KafkajsAdmin(admin, this.brokers.join(','))
  }

  async endOffsets (topic: string): Promise<Map<number, number>> {
    const admin = await this.admin()
    try { return await admin.endOffsets(topic) } finally { await admin.close() }
  }
}

