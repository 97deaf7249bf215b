// migrec kernels: one module, free functions over (pointer, length) pairs.
// Each file documents its algorithm and cost in its header (W = sum over users of n_u^2).

export { alloc, reset, used, mark, release } from './memory';
export { topk, topkScratchBytes } from './topk';
export { cosineTopK } from './cosine';
export { scoreSparse } from './score';
export { scoreDense, scoreDenseWorkBytes } from './dense';
export { quantItems, quantItemsBytes } from './dense-quant';
export { alsGram, alsSolve } from './als';
export { denseLayer } from './mlp';
