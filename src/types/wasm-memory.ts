// WebAssembly.Memory as the module signatures mention it. The global `WebAssembly` namespace comes from the DOM lib
// or from our own src/types/webassembly.d.ts, neither of which a project using the package's declarations has;
// signatures that name this interface instead need nothing global (a WebAssembly.Memory satisfies it).
export interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer
  grow (delta: number): number
}
