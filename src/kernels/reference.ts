/**
 * Pure-TypeScript twins of the wasm kernels: the test oracle, and the fallback when
 * WebAssembly SIMD is unavailable. Same contracts, same tie-breaking, same f32 rounding points.
 */
import type { Kernels, TopK } from './types.js';

/** Is (sa, ia) worse than (sb, ib)? Lower score is worse; equal scores: higher index is worse. */
function worse(sa: number, ia: number, sb: number, ib: number): boolean {
  return sa < sb || (sa === sb && ia > ib);
}

/**
 * Top-k by a full sort of the selectable entries: deliberately the simplest correct algorithm,
 * so that it can judge the heap-and-SIMD kernel.
 */
export function topkReference(scores: Float32Array, k: number): TopK {
  const idx: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i] > -Infinity) idx.push(i);
  idx.sort((a, b) => (worse(scores[a], a, scores[b], b) ? 1 : worse(scores[b], b, scores[a], a) ? -1 : 0));
  const n = Math.max(0, Math.min(k, idx.length));
  const indices = new Uint32Array(n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    indices[i] = idx[i];
    out[i] = scores[idx[i]];
  }
  return { indices, scores: out };
}

/** The reference backend. */
export const referenceKernels: Kernels = {
  backend: 'js',
  topk: topkReference,
};
