// Dead letters to a Kafka topic (default `<topic>.tilekiln-dlq`): the original record bytes as the value, and the
// reason, code, source partition and offset in headers, so an operator can inspect and replay them. Records are
// sent in batches; a checkpoint flushes them before it is written (and skips itself when it cannot), so no dead
// letter of a record a checkpoint covers can be lost (after a crash some may be sent twice: at-least-once).
// A value longer than MAX_VALUE_BYTES is cut to that length (headers `tilekiln.truncated` and `tilekiln.value-bytes`
// say so): the dead-letter topic, created with the broker's default max.message.bytes (1 MiB), would refuse it, and one
// refused dead letter would block every checkpoint after it. The whole record stays in the source topic at the
// partition and offset the headers give.

import { getLogger, Limiter } from '../log/logger.ts'
import { describeError } from '../errors.ts'

/**
 * A produce request carries at most this many dead letters and bytes: a broker refuses a request over its
 * message.max.bytes (1 MiB by default), and one refused request would hold every checkpoint back.
 */
const CHUNK_RECORDS = 500
const CHUNK_BYTES = 512 << 10
import type { KafkaProducer, ProducerRecord } from '../kafka/types.ts'
import type { DeadLetterRecord, DeadLetterSink } from './dead-letter.ts'

/** Longest dead-letter value sent whole. */
export const MAX_VALUE_BYTES = 512 * 1024

export class KafkaDeadLetters implements DeadLetterSink {
  readonly description: string
  readonly #producer: KafkaProducer
  readonly #topic: string
  readonly #limiter = new Limiter()
  readonly #groupBy: string
  #pending: ProducerRecord[] = []
  #sending: Promise<void> = Promise.resolve()
  #timer: NodeJS.Timeout | null = null
  #error: unknown = null

  constructor (producer: KafkaProducer, topic: string, groupBy: string) {
    this.#producer = producer
    this.#topic = topic
    this.#groupBy = groupBy
    this.description = `kafka topic ${topic}`
  }

  write (r: DeadLetterRecord): void {
    const bytes = r.bytes ?? new Uint8Array(0)
    const cut = bytes.length > MAX_VALUE_BYTES
    this.#pending.push({
      key: null,
      value: Buffer.from(cut ? bytes.subarray(0, MAX_VALUE_BYTES) : bytes),
      headers: {
        ...(cut ? { 'tilekiln.truncated': 'true', 'tilekiln.value-bytes': String(bytes.length) } : {}),
        'tilekiln.reason': r.reason,
        'tilekiln.code': r.code,
        'tilekiln.source': r.source,
        'tilekiln.partition': String(r.partition),
        [`tilekiln.${r.positionName}`]: String(r.position),
        'tilekiln.groupBy': this.#groupBy,
        'tilekiln.late': String(r.late)
      }
    })
    this.#timer ??= setTimeout(() => { this.#timer = null; void this.#send() }, 100)
  }

  #send (): Promise<void> {
    const batch = this.#pending
    this.#pending = []
    if (batch.length > 0) {
      this.#sending = this.#sending.then(async () => {
        let sent = 0
        try {
          while (sent < batch.length) {
            let end = sent
            let bytes = 0
            while (end < batch.length && end - sent < CHUNK_RECORDS && (end === sent || bytes + (batch[end]!.value as Buffer).length < CHUNK_BYTES)) {
              bytes += (batch[end]!.value as Buffer).length
              end++
            }
            await this.#producer.send(this.#topic, batch.slice(sent, end))
            sent = end
          }
        } catch (e) {
          // Keep the unsent ones for the next flush; a checkpoint will not commit past them.
          this.#pending.unshift(...batch.slice(sent))
          this.#error = e
          this.#limiter.log(getLogger(), 'warn', `cannot write ${batch.length - sent} dead letter(s) to ${this.#topic}: ${describeError(e)}`, { topic: this.#topic }, 'dead letters not written')
        }
      })
    }
    return this.#sending
  }

  async flush (): Promise<void> {
    if (this.#timer !== null) { clearTimeout(this.#timer); this.#timer = null }
    this.#error = null
    await this.#send()
    if (this.#error !== null) throw this.#error
  }

  async close (): Promise<void> {
    await this.flush()
    await this.#producer.close()
  }
}
