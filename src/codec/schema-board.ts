// The Avro writer schemas of Confluent-framed records, by schema id, in shared memory: the main thread (the only
// writer) appends a schema before it hands over the first record that carries its id, and every decoder (worker
// threads, the main thread's key router) reads the entries it has not seen yet when it meets an id it does not
// know. Workers get the board once, in their init data; a schema learned mid-run reaches them through it without a
// message, and since the append precedes the record's dispatch to the worker, a worker never sees an id whose
// schema is not already on the board.
//
// Layout: Int32 [0] = bytes of entries written (published last, with Atomics.store), then the entries, each
// u32 id | u32 byte length | UTF-8 schema JSON, padded to 4 bytes. Append-only; nothing is ever rewritten, so a
// reader needs no lock: it reads up to the published length.

const HEADER = 8

export class SchemaBoard {
  readonly buffer: SharedArrayBuffer
  readonly #used: Int32Array
  readonly #bytes: Uint8Array
  readonly #view: DataView

  constructor (buffer: SharedArrayBuffer) {
    this.buffer = buffer
    this.#used = new Int32Array(buffer, 0, 1)
    this.#bytes = new Uint8Array(buffer)
    this.#view = new DataView(buffer)
  }

  /**
   * A new, empty board. 4 MiB holds hundreds of schema versions; the memory is only committed as it is written.
   */
  static create (capacityBytes = 4 << 20): SchemaBoard {
    return new SchemaBoard(new SharedArrayBuffer(HEADER + capacityBytes))
  }

  get capacity (): number { return this.buffer.byteLength - HEADER }

  /** Adds a schema (its JSON text). False when the board is full. Only one thread may append. */
  append (id: number, schemaJson: string): boolean {
    const text = Buffer.from(schemaJson, 'utf8')
    const used = Atomics.load(this.#used, 0)
    const at = HEADER + used
    const size = 8 + ((text.length + 3) & ~3)
    if (at + size > this.buffer.byteLength) return false
    this.#view.setUint32(at, id >>> 0)
    this.#view.setUint32(at + 4, text.length)
    this.#bytes.set(text, at + 8)
    // Publish after the bytes are in place: a reader that sees the new length sees the whole entry.
    Atomics.store(this.#used, 0, used + size)
    return true
  }

  /**
   * Calls `visit` for each entry after `cursor` (0 = from the start) and returns the cursor to pass next time.
   * Allocates only for the entries it visits.
   */
  readFrom (cursor: number, visit: (id: number, schemaJson: string) => void): number {
    const end = Atomics.load(this.#used, 0)
    let at = cursor
    while (at < end) {
      const p = HEADER + at
      const id = this.#view.getUint32(p)
      const len = this.#view.getUint32(p + 4)
      // TextDecoder refuses views of shared memory: decode a private copy.
      visit(id, Buffer.from(this.#bytes.slice(p + 8, p + 8 + len)).toString('utf8'))
      at += 8 + ((len + 3) & ~3)
    }
    return at
  }
}
