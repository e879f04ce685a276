// The WebAssembly JS API as Node provides it (the DOM lib would declare it, but we do not load the DOM lib).
declare namespace WebAssembly {
  interface MemoryDescriptor { initial: number, maximum?: number, shared?: boolean }
  class Memory {
    constructor (descriptor: MemoryDescriptor)
    readonly buffer: ArrayBuffer | SharedArrayBuffer
    grow (delta: number): number
  }
  class Module {
    constructor (bytes: ArrayBufferView | ArrayBuffer)
  }
  type Imports = Record<string, Record<string, unknown>>
  class Instance {
    constructor (module: Module, imports?: Imports)
    readonly exports: Record<string, unknown>
  }
  function instantiate (module: Module, imports?: Imports): Promise<Instance>
  function compile (bytes: ArrayBufferView | ArrayBuffer): Promise<Module>
}
