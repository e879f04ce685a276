// Synchronous loading of a sketch WASM module (build/<name>.wasm), one instance per thread.
//
// The engine instantiates kernels per worker thread and on the read side, and aggregator constructors are
// synchronous, so this compiles and instantiates with the synchronous WebAssembly API (fine in Node for modules of
// this size). Module-level state is per thread in Node (each worker has its own module graph), which makes the lazy
// singleton below a per-thread instance.
//
// Every module is built with the `release` target of asconfig.json: it imports a shared memory. Each sketch
// instance gets its own Memory (never shared with another instance): the sketch allocator keeps its state in
// module globals and static data, which are per instance.

import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// The project's lib setting (ES2023, no DOM) has no WebAssembly typings; these are the few members used here.
export interface WasmMemory { readonly buffer: ArrayBufferLike, grow (pages: number): number }
interface WasmApi {
  Module: new (bytes: Uint8Array) => object
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> }
  Memory: new (d: { initial: number, maximum?: number, shared?: boolean }) => WasmMemory
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly

const PAGE = 65536
const MAX_PAGES = 32768 // as asconfig.json's maximumMemory

function findWasm (name: string): string {
  const dir = process.env.TILEKILN_WASM_DIR
  if (dir !== undefined && dir !== '') return join(dir, `${name}.wasm`)
  // src/agg/sketch (tsx) or dist/src/agg/sketch (compiled): walk up to the repository's build/
  let d = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    const p = join(d, 'build', `${name}.wasm`)
    if (existsSync(p)) return p
    d = dirname(d)
  }
  throw new Error(`build/${name}.wasm not found: run \`node scripts/build.mjs\` (or set TILEKILN_WASM_DIR)`)
}

/** A WASM instance with cached typed views over its memory, refreshed after the memory grows. */
export class WasmSketchInstance<E> {
  readonly exports: E
  readonly memory: WasmMemory
  #buffer: ArrayBufferLike
  #u8: Uint8Array
  #u16: Uint16Array
  #u32: Uint32Array
  #f32: Float32Array
  #f64: Float64Array

  constructor (name: string) {
    const module = new WA.Module(readFileSync(findWasm(name)))
    this.memory = new WA.Memory({ initial: 16, maximum: MAX_PAGES, shared: true })
    const instance = new WA.Instance(module, { env: { memory: this.memory } })
    this.exports = instance.exports as unknown as E
    this.#buffer = this.memory.buffer
    this.#u8 = new Uint8Array(this.#buffer)
    this.#u16 = new Uint16Array(this.#buffer)
    this.#u32 = new Uint32Array(this.#buffer)
    this.#f32 = new Float32Array(this.#buffer)
    this.#f64 = new Float64Array(this.#buffer)
  }

  #refresh (): void {
    const b = this.memory.buffer
    if (b.byteLength === this.#buffer.byteLength) return
    this.#buffer = b
    this.#u8 = new Uint8Array(b)
    this.#u16 = new Uint16Array(b)
    this.#u32 = new Uint32Array(b)
    this.#f32 = new Float32Array(b)
    this.#f64 = new Float64Array(b)
  }

  // Views must be taken after any call that may allocate in WASM (the memory may have grown).
  get u8 (): Uint8Array { this.#refresh(); return this.#u8 }
  get u16 (): Uint16Array { this.#refresh(); return this.#u16 }
  get u32 (): Uint32Array { this.#refresh(); return this.#u32 }
  get f32 (): Float32Array { this.#refresh(); return this.#f32 }
  get f64 (): Float64Array { this.#refresh(); return this.#f64 }

  /**
   * Hot-path views: the cached view when it already covers [0, end) bytes, else a fresh one. A shared memory's old
   * buffers stay valid after it grows (they are never detached), they are just shorter, so no buffer access is needed.
   */
  u16Upto (end: number): Uint16Array { if (end > this.#u16.byteLength) this.#refresh(); return this.#u16 }
  f32Upto (end: number): Float32Array { if (end > this.#f32.byteLength) this.#refresh(); return this.#f32 }

  /** Bytes of linear memory currently reserved (grows, never shrinks). */
  get memoryBytes (): number { return this.memory.buffer.byteLength }
}

export const WASM_PAGE = PAGE

/** A growable scratch block inside WASM memory for host ↔ kernel transfers. */
export class Scratch {
  #ptr = 0
  #size = 0
  readonly #alloc: (n: number) => number
  readonly #free: (p: number) => void

  constructor (alloc: (n: number) => number, free: (p: number) => void) {
    this.#alloc = alloc
    this.#free = free
  }

  /** A pointer to at least n bytes (8-aligned); invalidates earlier pointers when it has to grow. */
  get (n: number): number {
    if (n > this.#size) {
      if (this.#ptr !== 0) this.#free(this.#ptr)
      const size = Math.max(1024, 2 ** Math.ceil(Math.log2(n)))
      const p = this.#alloc(size)
      if (p === 0) throw new RangeError(`sketch memory exhausted allocating ${size} bytes`)
      this.#ptr = p
      this.#size = size
    }
    return this.#ptr
  }
}
