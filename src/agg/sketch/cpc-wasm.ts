// The CPC sketch kernel (build/cpc.wasm, from assembly/cpc.ts), instantiated synchronously, once per thread.
//
// Each instance gets a memory of its own (the module imports a shared memory, as every tilekiln kernel does, but no
// other instance ever sees this one), so sketch handles are plain pointers that are only meaningful in the thread
// that made them: cross threads with serialized bytes (`serialize` / `deserialize`).
//
// Because the memory is a SharedArrayBuffer, growing it never detaches older views: a view is only refreshed when
// a pointer lands beyond it.

import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

interface CpcExports {
  cpc_scratch (size: number): number
  cpc_new (lgK: number): number
  cpc_free (s: number): void
  cpc_copy (s: number): number
  cpc_update_long (s: number, lo: number, hi: number): void
  cpc_update_int53 (s: number, v: number): void
  cpc_update_double (s: number, v: number): void
  cpc_update_bytes (s: number, ptr: number, len: number): void
  cpc_update_longs (s: number, ptr: number, n: number): void
  cpc_update_doubles (s: number, ptr: number, n: number): void
  cpc_estimate (s: number): number
  cpc_icon (lgK: number, c: number): number
  cpc_coupons (s: number): number
  cpc_lgk (s: number): number
  cpc_merged (s: number): number
  cpc_serialize (s: number): number
  cpc_out (): number
  cpc_deserialize (ptr: number, len: number): number
  cpc_error (): number
  cpc_union_new (lgK: number): number
  cpc_union_update (u: number, s: number): void
  cpc_union_result (u: number): number
  cpc_union_free (u: number): void
  cpc_union_of (lgK: number, s: number): number
  cpc_merge_into (lgK: number, a: number, b: number): void
  mem_live (): number
  mem_heap (): number
}

export class CpcSketchError extends Error {}

// The project's lib settings carry no WebAssembly typings; this is the little of the JS API used here.
interface WasmMemory { readonly buffer: ArrayBufferLike }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { readonly exports: object }
  Memory: new (desc: { initial: number, maximum: number, shared: boolean }) => WasmMemory
}
const Wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly

const DESERIALIZE_ERRORS = ['', 'too short', 'not a CPC sketch (serial version, family, lgK or flags)',
  'made with another hash seed than 9001', 'inconsistent format', 'corrupt bit stream']

function findWasm (): string {
  const env = process.env.TILEKILN_CPC_WASM
  if (env !== undefined && env !== '') return env
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 8; i++) {
    const p = join(dir, 'build', 'cpc.wasm')
    if (existsSync(p)) return p
    dir = dirname(dir)
  }
  throw new CpcSketchError('build/cpc.wasm not found: run `npm run build`')
}

let compiled: object | null = null

/** One instance of the kernel, with its own memory. Handles from one instance are invalid in another. */
export class CpcKernel {
  readonly memory: WasmMemory
  readonly x: CpcExports
  #u8: Uint8Array
  #scratch = 0
  #scratchSize = 0

  constructor () {
    compiled ??= new Wasm.Module(readFileSync(findWasm()))
    this.memory = new Wasm.Memory({ initial: 16, maximum: 32768, shared: true })
    const instance = new Wasm.Instance(compiled, {
      env: {
        memory: this.memory,
        abort: () => { throw new CpcSketchError('cpc kernel aborted') }
      }
    })
    this.x = instance.exports as unknown as CpcExports
    this.#u8 = new Uint8Array(this.memory.buffer)
    this.scratch(4096)
  }

  /** A view of the memory that covers [ptr, ptr + len). */
  bytes (ptr: number, len: number): Uint8Array {
    if (ptr + len > this.#u8.length) this.#u8 = new Uint8Array(this.memory.buffer)
    return this.#u8
  }

  /**
   * The kernel's input buffer, with room for `size` bytes (valid until the next call that needs more). Always go
   * through this method, never `x.cpc_scratch` directly: a larger request moves the buffer.
   */
  scratch (size: number): number {
    if (size > this.#scratchSize) {
      this.#scratch = this.x.cpc_scratch(size) >>> 0
      this.#scratchSize = size
    }
    return this.#scratch
  }

  updateLong (s: number, v: number | bigint): void {
    if (typeof v === 'number') {
      if (Number.isSafeInteger(v)) this.x.cpc_update_int53(s, v)
      else this.x.cpc_update_long(s, v | 0, Math.floor(v / 4294967296) | 0) // an integral double beyond 2^53
    } else {
      this.x.cpc_update_long(s, Number(BigInt.asIntN(32, v)), Number(BigInt.asIntN(32, v >> 32n)))
    }
  }

  updateDouble (s: number, v: number): void { this.x.cpc_update_double(s, v) }

  updateString (s: number, v: string): void {
    if (v.length === 0) return
    const ptr = this.scratch(v.length * 3)
    const n = encodeUtf8Java(v, this.bytes(ptr, v.length * 3), ptr)
    this.x.cpc_update_bytes(s, ptr, n)
  }

  updateBytes (s: number, v: Uint8Array): void {
    if (v.length === 0) return
    const ptr = this.scratch(v.length)
    this.bytes(ptr, v.length).set(v, ptr)
    this.x.cpc_update_bytes(s, ptr, v.length)
  }

  /** toByteArray: a fresh copy of the serialized sketch. */
  serialize (s: number): Uint8Array {
    const n = this.x.cpc_serialize(s) >>> 0
    const ptr = this.x.cpc_out() >>> 0
    return this.bytes(ptr, n).slice(ptr, ptr + n)
  }

  /** heapify: a new sketch handle from serialized bytes (ours or DataSketches'). */
  deserialize (bytes: Uint8Array): number {
    const ptr = this.scratch(bytes.length)
    this.bytes(ptr, bytes.length).set(bytes, ptr)
    const s = this.x.cpc_deserialize(ptr, bytes.length) >>> 0
    if (s === 0) throw new CpcSketchError(`cannot read CPC sketch: ${DESERIALIZE_ERRORS[this.x.cpc_error()] ?? 'error'}`)
    return s
  }

  /** Bytes of the kernel's heap handed out and not yet freed / between heap start and its high-water mark. */
  liveBytes (): number { return this.x.mem_live() >>> 0 }
  heapBytes (): number { return this.x.mem_heap() >>> 0 }
}

let perThread: CpcKernel | null = null

/** The kernel instance of the calling thread (module state is per worker thread, so this is one per thread). */
export function cpcKernel (): CpcKernel {
  perThread ??= new CpcKernel()
  return perThread
}

/**
 * UTF-8 as Java's String.getBytes(UTF_8) makes it, which is what DataSketches hashes: like the WHATWG encoder
 * except that an unpaired surrogate becomes '?' (0x3F), not U+FFFD. Writes at `at`; returns the byte count.
 * `out` needs room for 3 bytes per UTF-16 unit.
 */
export function encodeUtf8Java (s: string, out: Uint8Array, at: number): number {
  let p = at
  const n = s.length
  for (let i = 0; i < n; i++) {
    let c = s.charCodeAt(i)
    if (c < 0x80) {
      out[p++] = c
    } else if (c < 0x800) {
      out[p++] = 0xc0 | (c >> 6)
      out[p++] = 0x80 | (c & 63)
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00)
        i++
        out[p++] = 0xf0 | (c >> 18)
        out[p++] = 0x80 | ((c >> 12) & 63)
        out[p++] = 0x80 | ((c >> 6) & 63)
        out[p++] = 0x80 | (c & 63)
      } else {
        out[p++] = 0x3f
      }
    } else {
      out[p++] = 0xe0 | (c >> 12)
      out[p++] = 0x80 | ((c >> 6) & 63)
      out[p++] = 0x80 | (c & 63)
    }
  }
  return p - at
}
