/** Small pure-TypeScript helpers over CSR matrices: transpose, norms, slot compaction. */
import type { Csr, Neighbours, SparseRows, TopKRows } from './types.js';

/**
 * The transpose of `m` (`nCols x nRows`), in O(nnz + nRows + nCols). Rows of the result list their
 * columns in increasing order whatever the order inside the rows of `m`. When every value of `m`
 * is 1, the result shares `m.data` (same length, same values) instead of allocating a copy.
 * `shared`: allocate the new arrays on SharedArrayBuffers (for the pool).
 * @example transposeCsr(usersByItems) // -> itemsByUsers
 */
export function transposeCsr(m: SparseRows, options: { shared?: boolean } = {}): Csr {
  const { nRows, nCols, indptr, indices, data } = m;
  const nnz = indptr[nRows];
  const u32 = (n: number) => (options.shared ? new Uint32Array(new SharedArrayBuffer(n * 4)) : new Uint32Array(n));
  const outPtr = u32(nCols + 1);
  for (let e = 0; e < nnz; e++) outPtr[indices[e] + 1]++;
  for (let c = 0; c < nCols; c++) outPtr[c + 1] += outPtr[c];
  const fill = outPtr.slice(0, nCols);
  const outIdx = u32(nnz);
  if (data.length === nnz && allOnes(data)) {
    for (let r = 0; r < nRows; r++) {
      for (let e = indptr[r], end = indptr[r + 1]; e < end; e++) outIdx[fill[indices[e]]++] = r;
    }
    return { nRows: nCols, nCols: nRows, indptr: outPtr, indices: outIdx, data };
  }
  const outData = options.shared ? new Float32Array(new SharedArrayBuffer(nnz * 4)) : new Float32Array(nnz);
  for (let r = 0; r < nRows; r++) {
    for (let e = indptr[r], end = indptr[r + 1]; e < end; e++) {
      const at = fill[indices[e]]++;
      outIdx[at] = r;
      outData[at] = data[e];
    }
  }
  return { nRows: nCols, nCols: nRows, indptr: outPtr, indices: outIdx, data: outData };
}

/**
 * Euclidean norm of every row, summed in f64 in storage order and rounded once to f32. The
 * norms of the columns of X are `rowNorms(transposeCsr(X))` or, bit for bit the same,
 * {@link columnNorms}`(X)`.
 */
export function rowNorms(m: SparseRows): Float32Array {
  const out = new Float32Array(m.nRows);
  for (let r = 0; r < m.nRows; r++) {
    let s = 0;
    for (let e = m.indptr[r], end = m.indptr[r + 1]; e < end; e++) s += m.data[e] * m.data[e];
    out[r] = Math.sqrt(s);
  }
  return out;
}

/** Euclidean norm of every column (f64 sums over rows in order, rounded once to f32). */
export function columnNorms(m: SparseRows): Float32Array {
  const sums = new Float64Array(m.nCols);
  const nnz = m.indptr[m.nRows];
  for (let e = 0; e < nnz; e++) sums[m.indices[e]] += m.data[e] * m.data[e];
  const out = new Float32Array(m.nCols);
  for (let c = 0; c < m.nCols; c++) out[c] = Math.sqrt(sums[c]);
  return out;
}

/**
 * Work of a cosine job per left row: `cost[i] = sum over the entries (i, u) of left row i of the
 * length of right row u`, the scattered updates row i makes (W = the sum of all, for item-item).
 */
export function rowCosts(left: SparseRows, right: SparseRows): Float64Array {
  const cost = new Float64Array(left.nRows);
  for (let i = 0; i < left.nRows; i++) {
    let c = 0;
    for (let e = left.indptr[i], end = left.indptr[i + 1]; e < end; e++) {
      const u = left.indices[e];
      c += right.indptr[u + 1] - right.indptr[u];
    }
    cost[i] = c;
  }
  return cost;
}

/**
 * Cut `[0, cost.length)` into at most `parts` consecutive ranges of about equal total cost (each
 * row also counts `base`). Returns the range boundaries, first 0 and last `cost.length`.
 */
export function balancedRanges(cost: ArrayLike<number>, parts: number, base = 1): number[] {
  const n = cost.length;
  let total = 0;
  for (let i = 0; i < n; i++) total += cost[i] + base;
  const bounds = [0];
  if (n === 0) return [0, 0];
  const want = total / Math.max(1, parts);
  let acc = 0;
  for (let i = 0; i < n; i++) {
    acc += cost[i] + base;
    if (acc >= want * bounds.length && i + 1 < n && bounds.length < parts) bounds.push(i + 1);
  }
  bounds.push(n);
  return bounds;
}

/** Is every value exactly 1 (binary data)? */
export function allOnes(data: Float32Array): boolean {
  for (let e = 0; e < data.length; e++) if (data[e] !== 1) return false;
  return true;
}

/**
 * Compact fixed top-k slots (rows in order) into a {@link Neighbours} matrix with `nCols` columns,
 * in place: the result's `indices` / `data` are views on the slots' own buffers (entries only
 * move towards the front), so no second copy of the output exists at any time.
 */
export function slotsToNeighbours(slots: TopKRows, nCols: number): Neighbours {
  const { k, counts } = slots;
  const nRows = counts.length;
  const indptr = new Uint32Array(nRows + 1);
  for (let r = 0; r < nRows; r++) indptr[r + 1] = indptr[r] + counts[r];
  for (let r = 0; r < nRows; r++) {
    const c = counts[r];
    const from = r * k;
    const to = indptr[r];
    if (c === 0 || from === to) continue;
    slots.indices.copyWithin(to, from, from + c);
    slots.scores.copyWithin(to, from, from + c);
  }
  const nnz = indptr[nRows];
  return { nRows, nCols, k, indptr, indices: slots.indices.subarray(0, nnz), data: slots.scores.subarray(0, nnz) };
}

/**
 * Relabel the columns of `m` by decreasing number of entries (ties by the lower id), for the
 * cosine kernel's `rightColumnIds`: returns the relabelled matrix (rows keep their entry order,
 * so their column ids are no longer sorted), the norms in the new order, and `ids` (new -> old).
 * `shared`: allocate the new column ids on a SharedArrayBuffer (for the pool).
 */
export function relabelColumns(
  m: SparseRows,
  norms: Float32Array,
  options: { shared?: boolean } = {},
): { m: SparseRows; norms: Float32Array; ids: Uint32Array } {
  const counts = new Uint32Array(m.nCols);
  const nnz = m.indptr[m.nRows];
  for (let e = 0; e < nnz; e++) counts[m.indices[e]]++;
  const ids = Uint32Array.from({ length: m.nCols }, (_, c) => c).sort((a, b) => counts[b] - counts[a] || a - b);
  const newOf = new Uint32Array(m.nCols);
  const outNorms = new Float32Array(m.nCols);
  for (let c = 0; c < m.nCols; c++) {
    newOf[ids[c]] = c;
    outNorms[c] = norms[ids[c]];
  }
  const indices = options.shared ? new Uint32Array(new SharedArrayBuffer(nnz * 4)) : new Uint32Array(nnz);
  for (let e = 0; e < nnz; e++) indices[e] = newOf[m.indices[e]];
  return { m: { nRows: m.nRows, nCols: m.nCols, indptr: m.indptr, indices, data: m.data }, norms: outNorms, ids };
}
