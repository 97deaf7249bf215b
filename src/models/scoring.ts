/**
 * Shared scoring plumbing for the kNN models: run a kernel in this thread (synchronously, for
 * `recommend`) or on the pool (for batches), with identical results either way.
 */
import { slotsToNeighbours } from '../kernels/csr.js';
import { getKernels } from '../kernels/index.js';
import type { BackendName, Csr, Neighbours, SparseRows, TopKRows } from '../kernels/types.js';
import { cosineKnn, scoreSparse, type KernelPool } from '../pool/index.js';
import type { ScoreFilter } from './base.js';

/** 0..n-1. */
export function iota(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Indices where a mask is 1 (the pool API takes candidate lists). */
export function maskToList(mask: Uint8Array): Uint32Array;
export function maskToList(mask: Uint8Array | undefined): Uint32Array | undefined;
export function maskToList(mask: Uint8Array | undefined): Uint32Array | undefined {
  if (!mask) return undefined;
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  const out = new Uint32Array(n);
  n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[n++] = i;
  return out;
}

/**
 * Top-n of `userRows x sim` per row of `userRows`, excluding each row's `seen` items when the
 * filter says so. Synchronous without a pool.
 */
export function sparseTopN(
  pool: KernelPool | undefined,
  backend: BackendName | 'auto',
  userRows: SparseRows,
  sim: SparseRows,
  seen: SparseRows,
  n: number,
  filter: ScoreFilter,
): TopKRows | Promise<TopKRows> {
  if (!pool) {
    return getKernels(backend).scoreSparse(
      { userRows, sim, seen: filter.filterSeen ? seen : undefined, allowed: filter.allowed, n },
      iota(userRows.nRows),
    );
  }
  return scoreSparse(pool, userRows, sim, { n, seen: filter.filterSeen ? seen : false, candidates: maskToList(filter.allowed), backend });
}

/**
 * Cosine top-k of the rows of `left` against the columns of `right` (see `CosineJob`).
 * Synchronous without a pool.
 */
export function cosineTopK(
  pool: KernelPool | undefined,
  backend: BackendName | 'auto',
  left: SparseRows,
  right: Csr,
  normsLeft: Float32Array,
  normsRight: Float32Array,
  k: number,
  shrink: number,
): Neighbours | Promise<Neighbours> {
  const job = { left, right, normsLeft, normsRight, k, shrink };
  if (!pool) return slotsToNeighbours(getKernels(backend).cosineTopK(job, 0, left.nRows), right.nCols);
  return cosineKnn(pool, job, backend);
}

/** Apply `f` to a value or a promise of it, staying synchronous for plain values. */
export function andThen<T, R>(x: T | Promise<T>, f: (v: T) => R | Promise<R>): R | Promise<R> {
  return x instanceof Promise ? x.then(f) : f(x);
}

/** Keep at most `k` entries per row (rows sorted best first), optionally dropping one column per row. */
export function truncateRows(m: Neighbours, k: number, drop?: (row: number) => number): Neighbours {
  const indptr = new Uint32Array(m.nRows + 1);
  const indices = new Uint32Array(Math.min(m.indices.length, m.nRows * k));
  const data = new Float32Array(indices.length);
  let q = 0;
  for (let r = 0; r < m.nRows; r++) {
    const skip = drop ? drop(r) : -1;
    let c = 0;
    for (let t = m.indptr[r]; t < m.indptr[r + 1] && c < k; t++) {
      if (m.indices[t] === skip) continue;
      indices[q] = m.indices[t];
      data[q] = m.data[t];
      q++;
      c++;
    }
    indptr[r + 1] = q;
  }
  return { nRows: m.nRows, nCols: m.nCols, k, indptr, indices: indices.slice(0, q), data: data.slice(0, q) };
}

/** Divide each row by the sum of its values (rows summing to 0 are left as they are). */
export function normaliseRows<T extends SparseRows>(m: T): T {
  const data = new Float32Array(m.data.length);
  for (let r = 0; r < m.nRows; r++) {
    let s = 0;
    for (let t = m.indptr[r]; t < m.indptr[r + 1]; t++) s += m.data[t];
    for (let t = m.indptr[r]; t < m.indptr[r + 1]; t++) data[t] = s > 0 ? m.data[t] / s : m.data[t];
  }
  return { ...m, data };
}

/** The value at (row, col) of sparse rows, 0 when absent (linear scan of the row). */
export function valueAt(m: SparseRows, row: number, col: number): number {
  for (let t = m.indptr[row]; t < m.indptr[row + 1]; t++) if (m.indices[t] === col) return m.data[t];
  return 0;
}

/** Rows with every user outside `keep` emptied (same shape). */
export function keepRows(m: Csr, keep: Uint8Array): Csr {
  const indptr = new Uint32Array(m.nRows + 1);
  let n = 0;
  for (let r = 0; r < m.nRows; r++) {
    if (keep[r]) n += m.indptr[r + 1] - m.indptr[r];
    indptr[r + 1] = n;
  }
  const indices = new Uint32Array(n);
  const data = new Float32Array(n);
  for (let r = 0; r < m.nRows; r++) {
    if (!keep[r]) continue;
    indices.set(m.indices.subarray(m.indptr[r], m.indptr[r + 1]), indptr[r]);
    data.set(m.data.subarray(m.indptr[r], m.indptr[r + 1]), indptr[r]);
  }
  return { nRows: m.nRows, nCols: m.nCols, indptr, indices, data };
}

/** Concatenate matrices with the same rows side by side (columns of the second follow the first's). */
export function hstack(ms: readonly SparseRows[]): Csr {
  if (ms.length === 1) return ms[0] as Csr;
  const nRows = ms[0].nRows;
  const indptr = new Uint32Array(nRows + 1);
  const total = ms.reduce((s, m) => s + m.indices.length, 0);
  const indices = new Uint32Array(total);
  const data = new Float32Array(total);
  let q = 0;
  for (let r = 0; r < nRows; r++) {
    let off = 0;
    for (const m of ms) {
      for (let t = m.indptr[r]; t < m.indptr[r + 1]; t++) {
        indices[q] = m.indices[t] + off;
        data[q++] = m.data[t];
      }
      off += m.nCols;
    }
    indptr[r + 1] = q;
  }
  return { nRows, nCols: ms.reduce((s, m) => s + m.nCols, 0), indptr, indices, data };
}
