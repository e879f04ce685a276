// Choosing a client library: createKafkaClient is the one entry point of the Kafka layer. The chosen library's module
// is loaded only when chosen (each pulls in its whole library); the implementations import only types.ts and the
// shared helpers, never this module, so there is no cycle.
import { TilekilnError } from '../errors.ts'
import { parseBrokers } from './shared.ts'
import { KAFKA_LIBRARIES, type KafkaClient, type KafkaClientOptions } from './types.ts'

export async function createKafkaClient (options: KafkaClientOptions): Promise<KafkaClient> {
  const library = options.library ?? 'platformatic'
  const brokers = parseBrokers(options.brokers)
  switch (library) {
    case 'kafkajs': {
      const { KafkajsClient } = await import('./kafkajs/client.ts')
      return new KafkajsClient(brokers, options)
    }
    case 'platformatic': {
      const { PlatformaticClient } = await import('./platformatic/client.ts')
      return new PlatformaticClient(brokers, options)
    }
    default:
      throw new TilekilnError('TK_USAGE', `unknown Kafka client library "${String(library)}" (expected ${KAFKA_LIBRARIES.join(' or ')})`, { library: String(library) })
  }
}
