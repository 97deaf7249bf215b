// migrec kernels: one module, free functions over (pointer, length) pairs.
// Each file documents its algorithm and cost in its header.

export { alloc, reset, used } from './memory';
export { topk } from './topk';
