// The client layer on @platformatic/kafka 1.35 (pure TS; 1.35 is the last line whose engines include Node 20): the
// consumer, producer and admin of this folder, each on its own library client.
import { Admin } from '@platformatic/kafka'
import { kafkaError } from '../shared.ts'
import type { ConsumeOptions, KafkaAdmin, KafkaClient, KafkaClientOptions, KafkaConsumer, KafkaProducer, ProducerOptions } from '../types.ts'
import { PlatformaticAdmin } from './admin.ts'
import { baseConfig, withKafkaErrors } from './config.ts'
import { PlatformaticConsumer } from './consumer.ts'
import { PlatformaticProducer } from './producer.ts'

export class PlatformaticClient implements KafkaClient {
  readonly library = 'platformatic' as const
  readonly brokers: readonly string[]
  readonly #opts: KafkaClientOptions

  constructor (brokers: string[], options: KafkaClientOptions) {
    this.brokers = brokers
    this.#opts = options
  }

  consumer (options: ConsumeOptions): KafkaConsumer {
    return new PlatformaticConsumer(baseConfig([...this.brokers], this.#opts, 'consumer'), options)
  }

  producer (options: ProducerOptions = {}): KafkaProducer {
    return new PlatformaticProducer(baseConfig([...this.brokers], this.#opts, 'producer'), options)
  }

  async admin (): Promise<KafkaAdmin> {
    const cfg = baseConfig([...this.brokers], this.#opts, 'admin')
    const admin = new Admin(cfg)
    try {
      await admin.metadata({ topics: [] })
    } catch (e) {
      await admin.close().catch(() => {})
      throw kafkaError('cannot connect to Kafka', { broker: this.brokers.join(',') }, withKafkaErrors(e))
    }
    return new PlatformaticAdmin(admin, this.brokers.join(','))
  }

  async endOffsets (topic: string): Promise<Map<number, number>> {
    const admin = await this.admin()
    try { return await admin.endOffsets(topic) } finally { await admin.close() }
  }
}

