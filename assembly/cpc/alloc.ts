// A segregated free-list allocator for the CPC module's own linear memory.
//
// The module is built with the stub runtime (no free), but sketches are created and dropped constantly as tiles
// open and close, so it manages its memory itself. Callers always know a block's size (a sketch header, a K-byte
// window, a 2^n-slot pair table), so blocks carry no header: `free(ptr, size)` must get the size `alloc` got.
//
//   size class  0..63   : sizes rounded up to a multiple of 16 bytes, 16..1024
//   size class 64..84   : powers of two, 2 KiB .. 2 GiB
//
// Each class has a LIFO free list threaded through the free blocks' first 4 bytes. Fresh blocks are bumped from the
// top of the heap, growing the memory when needed. Invariant: memory in use never exceeds the peak, per class, of
// the bytes live at once, so creating and dropping sketches forever stays bounded.

const SMALL_CLASSES: i32 = 64
const NUM_CLASSES: i32 = 85

// Free-list heads, one u32 per class, in static memory.
const heads: usize = memory.data(NUM_CLASSES * 4, 16)

let top: usize = 0
let live: usize = 0

@inline function classOf (size: usize): i32 {
  if (size <= 1024) return <i32>((size + 15) >> 4) - 1 + <i32>(size == 0)
  return SMALL_CLASSES + (32 - <i32>clz<u32>(<u32>size - 1)) - 11
}

@inline function classSize (cls: i32): usize {
  if (cls < SMALL_CLASSES) return <usize>(cls + 1) << 4
  return <usize>1 << <usize>(cls - SMALL_CLASSES + 11)
}

function ensureTop (end: usize): void {
  const have = <usize>memory.size() << 16
  if (end <= have) return
  const pages = <i32>((end - have + 0xffff) >> 16)
  // Grow by at least 1/8 of the current size to keep the number of grow calls logarithmic.
  const minPages = <i32>(have >> 19)
  if (memory.grow(max(pages, minPages)) < 0 && memory.grow(pages) < 0) unreachable()
}

/** A block of at least `size` bytes, 16-byte aligned, contents undefined. */
export function alloc (size: usize): usize {
  if (top == 0) top = (__heap_base + 15) & ~<usize>15
  const cls = classOf(size)
  const bytes = classSize(cls)
  live += bytes
  const head = heads + (<usize>cls << 2)
  const first = <usize>load<u32>(head)
  if (first != 0) {
    store<u32>(head, load<u32>(first))
    return first
  }
  const ptr = top
  ensureTop(ptr + bytes)
  top = ptr + bytes
  return ptr
}

/** A zero-filled block of at least `size` bytes. */
export function allocZeroed (size: usize): usize {
  const ptr = alloc(size)
  memory.fill(ptr, 0, size)
  return ptr
}

/** Returns a block from `alloc(size)` / `allocZeroed(size)`; `size` must be the same. */
export function free (ptr: usize, size: usize): void {
  if (ptr == 0) return
  const cls = classOf(size)
  live -= classSize(cls)
  const head = heads + (<usize>cls << 2)
  store<u32>(ptr, load<u32>(head))
  store<u32>(head, <u32>ptr)
}

/** Bytes handed out and not yet freed (rounded to their size classes). */
export function liveBytes (): usize { return live }

/** Bytes between the start of the heap and its top: the most ever in use at once, plus class rounding. */
export function heapBytes (): usize { return top == 0 ? 0 : top - ((__heap_base + 15) & ~<usize>15) }
