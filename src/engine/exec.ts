/**
 * The kernels a scorer calls, in two typed forms: in this thread (synchronous, for `recommend`
 * and explanations) and on the pool (asynchronous, for batches). Both give identical results.
 */
import { slotsToNeighbours } from '../kernels/csr.js';
import { getKernels } from '../kernels/index.js';
import type { BackendName, Csr, Neighbours, SparseRows, TopKRows } from '../kernels/types.js';
import { cosineKnn, scoreDense, scoreSparse, type KernelPool } from '../pool/index.js';

/** Index-level filter of one scoring call. */
export interface ScoreFilter {
  /** Exclude each user's seen items in the target domain. */
  filterSeen: boolean;
  /** Per item, 1 when allowed (undefined: all). */
  allowed?: Uint8Array;
}

/**
 * A top-k width capped at the number of columns there are (at least 1): a k beyond them asks for
 * every column, and the slot tables (rows x k) are allocated at the capped width.
 */
export function cap(k: number, columns: number): number {
  return Math.max(1, Math.min(k, columns));
}

/** 0..n-1. */
export function iota(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Indices where a mask is 1 (the pool API takes candidate lists). */
export function maskToList(mask: Uint8Array): Uint32Array {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  const out = new Uint32Array(n);
  n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[n++] = i;
  return out;
}

/** Top-n of `userRows x sim` per row of `userRows`, each row's `seen` items excluded when the filter says so; in this thread. */
export function sparseTopN(backend: BackendName | 'auto', userRows: SparseRows, sim: SparseRows, seen: SparseRows, n: number, filter: ScoreFilter): TopKRows {
  return getKernels(backend).scoreSparse({ userRows, sim, seen: filter.filterSeen ? seen : undefined, allowed: filter.allowed, n: cap(n, sim.nCols) }, iota(userRows.nRows));
}

/** `sparseTopN` on the pool. */
export function sparseTopNPooled(pool: KernelPool, backend: BackendName | 'auto', userRows: SparseRows, sim: SparseRows, seen: SparseRows, n: number, filter: ScoreFilter): Promise<TopKRows> {
  return scoreSparse(pool, userRows, sim, { n: cap(n, sim.nCols), seen: filter.filterSeen ? seen : false, candidates: filter.allowed && maskToList(filter.allowed), backend });
}

/** A cosine job: backend, the rows of `left` against the columns of `right`, their norms, k and the shrinkage (see `CosineJob`). */
export type CosineArgs = [backend: BackendName | 'auto', left: SparseRows, right: Csr, normsLeft: Float32Array, normsRight: Float32Array, k: number, shrink: number];

/** Cosine top-k of the rows of `left` against the columns of `right`; in this thread. */
export function cosineTopK(...[backend, left, right, normsLeft, normsRight, k, shrink]: CosineArgs): Neighbours {
  return slotsToNeighbours(getKernels(backend).cosineTopK({ left, right, normsLeft, normsRight, k: cap(k, right.nCols), shrink }, 0, left.nRows), right.nCols);
}

/** `cosineTopK` on the pool. */
export function cosineTopKPooled(pool: KernelPool, ...[backend, left, right, normsLeft, normsRight, k, shrink]: CosineArgs): Promise<Neighbours> {
  return cosineKnn(pool, { left, right, normsLeft, normsRight, k: cap(k, right.nCols), shrink }, backend);
}

/** `cosineTopK` on the pool when there is one, else in this thread (fit-time work). */
export async function cosineTopKAny(pool: KernelPool | undefined, ...args: CosineArgs): Promise<Neighbours> {
  return pool ? cosineTopKPooled(pool, ...args) : cosineTopK(...args);
}

/**
 * Top-n items per user vector by dot product with `items` (row-major, width `dim`), through the
 * dense scoring kernel, in this thread. `seen` has one row per vector.
 */
export function denseTopN(backend: BackendName | 'auto', vectors: Float32Array, items: Float32Array, dim: number, seen: SparseRows, n: number, filter: ScoreFilter): TopKRows {
  return getKernels(backend).scoreDense({ items, dim, seen: filter.filterSeen ? seen : undefined, allowed: filter.allowed, n: cap(n, items.length / dim) }, iota(vectors.length / dim), vectors);
}

/** `denseTopN` on the pool. */
export function denseTopNPooled(
  pool: KernelPool,
  backend: BackendName | 'auto',
  vectors: Float32Array,
  items: Float32Array,
  dim: number,
  seen: SparseRows,
  n: number,
  filter: ScoreFilter,
): Promise<TopKRows> {
  return scoreDense(pool, vectors, items, {
    dim,
    n: cap(n, items.length / dim),
    users: iota(vectors.length / dim),
    seen: filter.filterSeen ? seen : undefined,
    candidates: filter.allowed && maskToList(filter.allowed),
    backend,
  });
}
