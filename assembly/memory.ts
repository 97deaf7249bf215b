// Bump allocator over the module's linear memory.
//
// Kernels never allocate: the JavaScript side asks for every buffer a job needs up front
// (`alloc`), fills them, runs kernels over (pointer, length) pairs, and calls `reset` when the
// job is done. The module is built with the stub runtime, so nothing else touches the heap.

let top: usize = 0;

/** Round `n` up to a multiple of 16 so that every buffer is v128-aligned. */
@inline function align16(n: usize): usize {
  return (n + 15) & ~(<usize>15);
}

/** Reserve `bytes` bytes (16-byte aligned, zero-filled on first growth) and return the offset. */
export function alloc(bytes: usize): usize {
  if (top == 0) top = align16(__heap_base);
  const ptr = top;
  const end = align16(ptr + bytes);
  const have = (<usize>memory.size()) << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xffff) >> 16);
    if (memory.grow(pages) < 0) return 0;
  }
  top = end;
  return ptr;
}

/** Release every buffer handed out by `alloc` (the memory stays mapped and is reused). */
export function reset(): void {
  top = align16(__heap_base);
}

/** The current end of the allocated region: pass it to `release` to drop what comes after. */
export function mark(): usize {
  if (top == 0) top = align16(__heap_base);
  return top;
}

/** Release the buffers allocated after `mark` returned `to` (keeps the ones before it). */
export function release(to: usize): void {
  top = to;
}

/** Bytes currently handed out by `alloc`. */
export function used(): usize {
  return top == 0 ? 0 : top - align16(__heap_base);
}
