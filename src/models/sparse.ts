/**
 * Sparse-row helpers shared by the kNN models: cut neighbour lists, normalise rows, read a value,
 * keep or stack rows, and test membership in a sorted row.
 */
import type { Csr, Neighbours, SparseRows } from '../kernels/types.js';

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

/** Divide each row by the sum of its values (rows summing to 0, and rows marked in `done`, are left as they are), into a new array or (`inPlace`) `m.data`. */
export function normaliseRows<T extends SparseRows>(m: T, done?: Uint8Array, inPlace = false): T {
  const data = inPlace ? m.data : done ? m.data.slice() : new Float32Array(m.data.length);
  for (let r = 0; r < m.nRows; r++) {
    if (done?.[r]) continue;
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
  // Element loops: two subarray views per row cost more than the copy itself (60 ms at 100,000 rows).
  for (let r = 0; r < m.nRows; r++) {
    if (!keep[r]) continue;
    for (let e = m.indptr[r], q = indptr[r], end = m.indptr[r + 1]; e < end; e++, q++) {
      indices[q] = m.indices[e];
      data[q] = m.data[e];
    }
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

/** Binary search in a sorted Uint32Array. */
export function sortedHas(a: Uint32Array, x: number): boolean {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo < a.length && a[lo] === x;
}

/** Rows `at` of sparse rows, in that order, as a new CSR. */
export function pickRows(m: SparseRows, at: Uint32Array): Csr {
  const indptr = new Uint32Array(at.length + 1);
  for (let q = 0; q < at.length; q++) indptr[q + 1] = indptr[q] + m.indptr[at[q] + 1] - m.indptr[at[q]];
  const indices = new Uint32Array(indptr[at.length]);
  const data = new Float32Array(indptr[at.length]);
  for (let q = 0; q < at.length; q++) {
    indices.set(m.indices.subarray(m.indptr[at[q]], m.indptr[at[q] + 1]), indptr[q]);
    data.set(m.data.subarray(m.indptr[at[q]], m.indptr[at[q] + 1]), indptr[q]);
  }
  return { nRows: at.length, nCols: m.nCols, indptr, indices, data };
}
