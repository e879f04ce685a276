// A tiny segregated-fit allocator for the sketch modules.
//
// Why not the AssemblyScript runtime: the project builds every entry with `runtime: "stub"` (a bump allocator whose
// free is a no-op except for the last block), and sketches are created and dropped constantly as tiles open and
// close. So the sketch modules never use `new`; they call `heapAlloc` / `heapFree` below, which recycle blocks.
//
// Layout: each block is a power of two of at least 16 bytes, 8-aligned, and starts with an 8-byte header holding
// its size class; callers get `block + 8`. Freed blocks go on a per-class singly linked free list (the link is
// stored in the first word of the payload) and are reused LIFO by the next request of the same class. Fresh blocks
// come from a bump pointer that grows linear memory on demand.
//
// Bound: the memory held is at most the sum over classes of the peak number of simultaneously live blocks of that
// class. A steady workload (sketches of the same k created and released) therefore runs in constant memory; see
// test/agg/kll.test.ts ("1e6 create/release cycles").
//
// Each module instance owns its memory (the host creates one Memory per instance), so the globals below are the
// whole allocator state.

const HEADER: usize = 8
const MIN_CLASS: u32 = 4 // 16 bytes
const NUM_CLASSES: u32 = 32

// Free-list heads, one per class (index = log2(block size)).
const freeHeads = memory.data(128, 8) // NUM_CLASSES u32 heads
let top: usize = 0
let liveBytes: usize = 0

function classOf (total: usize): u32 {
  // smallest c with (1 << c) >= total, at least MIN_CLASS
  const c = <u32>(32 - clz<u32>(<u32>(total - 1)))
  return c < MIN_CLASS ? MIN_CLASS : c
}

function ensureTop (): void {
  if (top == 0) top = (__heap_base + 15) & ~(<usize>15)
}

/** Returns an 8-aligned pointer to at least `size` bytes (contents undefined), or 0 if memory cannot grow. */
export function heapAlloc (size: usize): usize {
  ensureTop()
  const c = classOf(size + HEADER)
  const head = freeHeads + (<usize>c << 2)
  let block = <usize>load<u32>(head)
  if (block != 0) {
    store<u32>(head, load<u32>(block + HEADER))
  } else {
    const bytes = <usize>1 << c
    block = top
    const end = block + bytes
    const have = <usize>memory.size() << 16
    if (end > have) {
      const need = <i32>((end - have + 0xffff) >> 16)
      // grow by at least 1/8 of the current size to keep the number of grow calls logarithmic
      const cur = memory.size()
      let want = cur >> 3
      if (want < need) want = need
      if (memory.grow(want) < 0 && memory.grow(need) < 0) return 0
    }
    top = end
  }
  store<u32>(block, c)
  liveBytes += <usize>1 << c
  return block + HEADER
}

export function heapFree (ptr: usize): void {
  if (ptr == 0) return
  const block = ptr - HEADER
  const c = load<u32>(block)
  const head = freeHeads + (<usize>c << 2)
  store<u32>(block + HEADER, load<u32>(head))
  store<u32>(head, <u32>block)
  liveBytes -= <usize>1 << c
}

/** Usable bytes of a block returned by heapAlloc. */
export function heapUsable (ptr: usize): usize {
  return (<usize>1 << load<u32>(ptr - HEADER)) - HEADER
}

/** Bytes in live blocks (block sizes, headers included). */
export function heapLiveBytes (): usize { return liveBytes }

/** High-water mark of the heap: everything below was handed out at some point. */
export function heapTop (): usize { ensureTop(); return top }
