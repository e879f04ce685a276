// The request rules of our producers, for both libraries: the one-request-at-a-time rule of idempotent producers, and
// produce requests small enough for the broker.
import { kafkaError } from './shared.ts'
import type { ProducerRecord } from './types.ts'

/**
 * Estimated bytes a request may carry. A broker refuses a record batch larger than the topic's max.message.bytes
 * (default 1,048,588) with MESSAGE_TOO_LARGE, and both libraries put everything a send() has for one partition into
 * one batch: a burst of dead letters (100,000 of them after an outage) would be refused whole, and again on every
 * retry. So a send() is cut into requests of at most this much.
 */
export const MAX_REQUEST_BYTES = 900_000

/** Record size as the v2 record format stores it, roughly: a few varints of framing plus key, value and headers. */
function recordBytes (r: ProducerRecord): number {
  let n = 24 + (r.key == null ? 0 : byteLength(r.key)) + (r.value === null ? 0 : byteLength(r.value))
  if (r.headers !== undefined) for (const name in r.headers) n += 8 + Buffer.byteLength(name) + byteLength(r.headers[name]!)
  return n
}

const byteLength = (v: Buffer | string): number => typeof v === 'string' ? Buffer.byteLength(v) : v.length

/**
 * Consecutive runs of records of at most `maxBytes` each (a record larger than that alone), and of at most
 * `maxRecords` records.
 */
export function requestChunks (records: readonly ProducerRecord[], maxBytes = MAX_REQUEST_BYTES, maxRecords = Infinity): ProducerRecord[][] {
  const out: ProducerRecord[][] = []
  let chunk: ProducerRecord[] = []
  let bytes = 0
  for (const r of records) {
    const n = recordBytes(r)
    if (chunk.length > 0 && (bytes + n > maxBytes || chunk.length >= maxRecords)) { out.push(chunk); chunk = []; bytes = 0 }
    chunk.push(r)
    bytes += n
  }
  if (chunk.length > 0) out.push(chunk)
  return out
}

/**
 * Produce requests of one producer, one at a time when `serial`: both libraries number an idempotent producer's
 * batches per request, and two requests in flight to one partition can reach the broker out of order
 * (OUT_OF_ORDER_SEQUENCE_NUMBER). A failed send does not stop the ones after it.
 */
export class ProduceQueue {
  readonly #serial: boolean
  readonly #maxRecords: number
  #tail: Promise<unknown> = Promise.resolve()

  /** `maxRecords`: most records a request carries (besides the byte limit), for a library that pays per record. */
  constructor (serial: boolean, maxRecords = Infinity) {
    this.#serial = serial
    this.#maxRecords = maxRecords
  }

  /**
   * Sends records as requests of at most MAX_REQUEST_BYTES, in order; the first failed request fails the send (the
   * requests after it are not sent), reported with the topic, broker and record counts.
   */
  async send (records: readonly ProducerRecord[], request: (chunk: readonly ProducerRecord[]) => Promise<unknown>, context: { topic: string, broker: string }): Promise<void> {
    const send = async (): Promise<void> => {
      let sent = 0
      for (const chunk of requestChunks(records, MAX_REQUEST_BYTES, this.#maxRecords)) {
        try {
          await request(chunk)
        } catch (e) {
          throw kafkaError('cannot produce to Kafka', { ...context, records: records.length, sent, request: chunk.length }, e)
        }
        sent += chunk.length
      }
    }
    if (!this.#serial) return send()
    const next = this.#tail.then(send, send)
    this.#tail = next.catch(() => {})
    return next
  }

  /** Resolves when every send queued so far has settled. */
  async settled (): Promise<void> {
    await this.#tail
  }
}
