// The one-request-at-a-time rule of idempotent producers, for both libraries' producers.
import { kafkaError } from './shared.ts'

/**
 * Produce requests of one producer, one at a time when `serial`: both libraries number an idempotent producer's
 * batches per request, and two requests in flight to one partition can reach the broker out of order
 * (OUT_OF_ORDER_SEQUENCE_NUMBER). A failed request does not stop the ones after it.
 */
export class ProduceQueue {
  readonly #serial: boolean
  #tail: Promise<unknown> = Promise.resolve()

  constructor (serial: boolean) {
    this.#serial = serial
  }

  /** Sends one produce request; a failure is reported with the topic, broker and record count. */
  async run (request: () => Promise<unknown>, context: { topic: string, broker: string, records: number }): Promise<void> {
    const send = async (): Promise<void> => {
      try {
        await request()
      } catch (e) {
        throw kafkaError('cannot produce to Kafka', context, e)
      }
    }
    if (!this.#serial) return send()
    const next = this.#tail.then(send, send)
    this.#tail = next.catch(() => {})
    return next
  }

  /** Resolves when every request queued so far has settled. */
  async settled (): Promise<void> {
    await this.#tail
  }
}
