/**
 * Exact top-k similarity tables after a live change, recomputing only what the change touches.
 *
 * A table row lists the k columns most similar to the row (cosine through a shared middle index,
 * best first, ties by the lower column), as the cosine kernel finds them. After new rows (or a
 * forgotten user), a row whose own vector changed is found again by the kernel. Any other row keeps
 * every score except those of changed columns: its new list is the old list without the changed
 * columns, merged with the changed columns' new scores, which the kernel finds once per changed
 * column (the transposed job: a column's full list of rows). That merge is the exact new list
 * whenever its k-th entry still ranks at or above the old k-th (or the old list held every
 * non-zero column): every column left out scored below the old k-th and did not change. Only the
 * rows where that fails are found again by the kernel.
 *
 * Exactness rests on the kernel computing a pair's score the same way from either side: the dot
 * product adds the same f32 products in the same (middle index) order, and the denominator
 * multiplies the same two norms (test/live.knn.test.ts compares with refits, on both backends).
 */
import type { BackendName, Csr, Neighbours, SparseRows } from '../kernels/types.js';
import type { KernelPool } from '../pool/index.js';
import { cap, cosineTopKAny } from '../engine/exec.js';
import { pickRows } from './sparse.js';
import { before, RowBuffer, selectBest } from './best-rows.js';

/** One cosine job: rows of `left` against columns of `right` (see `CosineJob`). */
export interface SimJob {
  left: SparseRows;
  right: SparseRows;
  normsLeft: Float32Array;
  normsRight: Float32Array;
  shrink: number;
}

/** A live recomputation of one similarity table. */
export interface SimChange {
  /** The job on the new data. */
  job: SimJob;
  /** The columns-as-rows job (rows of right^T against columns of left^T, norms swapped), or 'symmetric' when it is `job` itself. */
  transposed: SimJob | 'symmetric';
  /** The table before the change (raw scores, or use `oldScore`). */
  old: Neighbours;
  /** Neighbours per row (before cutting `self`). */
  k: number;
  /** Rows whose vector or norm changed, and columns whose vector or norm changed (new numbering, sorted). */
  rows: Uint32Array;
  cols: Uint32Array;
  /** Old row / column index -> new (-1: removed). @default identity */
  mapRow?: (r: number) => number;
  mapCol?: (c: number) => number;
  /** A row's own column is left out of its list (user kNN). @default false */
  self?: boolean;
  /** Raw score of old entry `t` of row `r` (new numbering) with column `c`. @default old.data[t] */
  oldScore?: (r: number, c: number, t: number) => number;
  backend: BackendName | 'auto';
  pool: KernelPool | undefined;
}

/** What the recomputation did, for reports and benchmarks. */
export interface SimStats {
  /** Rows found again by the kernel (changed, or where the merge could not be trusted). */
  recomputed: number;
  /** Rows patched by merging changed columns' new scores. */
  patched: number;
}



/** The kernel's lists of rows `at` of a job, `k` each, in chunks that keep the slot tables small. */
export async function kernelRows(j: SimJob, at: Uint32Array, k: number, backend: BackendName | 'auto', pool: KernelPool | undefined): Promise<Neighbours> {
  const kk = cap(k, j.right.nCols);
  const chunk = Math.max(1, Math.floor((1 << 22) / kk));
  const parts: Neighbours[] = [];
  for (let s = 0; s < at.length; s += chunk) {
    const rows = at.subarray(s, Math.min(at.length, s + chunk));
    parts.push(await cosineTopKAny(pool, backend, pickRows(j.left, rows), j.right as Csr, Float32Array.from(rows, (r) => j.normsLeft[r]), j.normsRight, kk, j.shrink));
  }
  return concatRows(parts, at.length, j.right.nCols, kk);
}

function concatRows(parts: Neighbours[], nRows: number, nCols: number, k: number): Neighbours {
  if (parts.length === 1) return parts[0];
  const nnz = parts.reduce((s, p) => s + p.indices.length, 0);
  const indptr = new Uint32Array(nRows + 1);
  const indices = new Uint32Array(nnz);
  const data = new Float32Array(nnz);
  let r = 0;
  let q = 0;
  for (const p of parts) {
    indices.set(p.indices, q);
    data.set(p.data, q);
    for (let i = 0; i < p.nRows; i++) indptr[++r] = q + p.indptr[i + 1];
    q += p.indices.length;
  }
  return { nRows, nCols, k, indptr, indices, data };
}

/** Every row of a job, `k` each (a full recomputation). */
export async function allRows(j: SimJob, k: number, backend: BackendName | 'auto', pool: KernelPool | undefined): Promise<Neighbours> {
  return cosineTopKAny(pool, backend, j.left, j.right as Csr, j.normsLeft, j.normsRight, k, j.shrink);
}

/** Row states of a recomputation. */
const COPY = 1;
const PATCH = 2;
const REDO = 3;

/** An old -> new index function as a lookup table (undefined: identity). */
function lookup(n: number, map: ((x: number) => number) | undefined): Int32Array | undefined {
  if (!map) return undefined;
  const t = new Int32Array(n);
  for (let x = 0; x < n; x++) t[x] = map(x);
  return t;
}

/**
 * The table after the change (rows sorted best first, at most `k` each, `self` left out), found by
 * the kernel only for changed rows and rows whose merge cannot be trusted.
 */
export async function liveTable(c: SimChange): Promise<{ table: Neighbours; stats: SimStats; copied: Uint8Array }> {
  const { job, old, backend, pool } = c;
  const nRows = job.left.nRows;
  const nCols = job.right.nCols;
  const k = cap(c.k, nCols);
  const keep = c.self ? k - 1 : k;
  const colOf = lookup(old.nCols, c.mapCol);
  const changedCol = new Uint8Array(nCols);
  for (const x of c.cols) changedCol[x] = 1;
  // Old columns that leave their rows' lists: removed, or changed (their new scores are candidates).
  const gone = new Uint8Array(old.nCols);
  for (let x = 0; x < old.nCols; x++) {
    const y = colOf ? colOf[x] : x;
    gone[x] = y < 0 || y >= nCols || changedCol[y] ? 1 : 0;
  }
  const changedRow = new Uint8Array(nRows);
  for (const r of c.rows) changedRow[r] = 1;
  // 1. The changed columns' full lists of rows: every new score of a changed column.
  const tj = c.transposed === 'symmetric' ? job : c.transposed;
  const full = c.cols.length > 0 ? fullRows(tj, c.cols) : undefined;
  // 2. Old rows in the new numbering, and each full old row's bound (its k-th entry): a changed
  // column's new score below the bound cannot enter the row (if the merge comes up short, the row
  // is found again), so only scores above it are kept as candidates.
  const oldAt = new Int32Array(nRows).fill(-1);
  for (let r = 0; r < old.nRows; r++) {
    const a = c.mapRow ? c.mapRow(r) : r;
    if (a >= 0 && a < nRows) oldAt[a] = r;
  }
  // Bounds are found on first use (NaN: not yet): a raw score recomputed by `oldScore` costs a pass over two rows.
  const boundScore = new Float32Array(nRows).fill(NaN);
  const boundCol = new Int32Array(nRows).fill(-1);
  const bound = (a: number): number => {
    if (boundScore[a] === boundScore[a]) return boundScore[a];
    const r = oldAt[a];
    const e = r < 0 ? 0 : old.indptr[r + 1];
    if (r < 0 || changedRow[a] || e - old.indptr[r] < keep) return (boundScore[a] = -Infinity);
    const bc = colOf ? colOf[old.indices[e - 1]] : old.indices[e - 1];
    boundCol[a] = bc < 0 ? -1 : bc;
    // Recomputed raw scores are new ones: a changed bound's old score is unknown (the row is found again).
    return (boundScore[a] = !c.oldScore ? old.data[e - 1] : bc < 0 || changedCol[bc] ? Infinity : c.oldScore(a, bc, e - 1));
  };
  if (!c.oldScore) for (let a = 0; a < nRows; a++) bound(a);
  // Candidates per row: (changed column, new score) above the row's bound, from the full lists.
  const candCount = new Uint32Array(nRows + 1);
  const isCand = new Uint8Array(full ? full.indices.length : 0);
  if (full) {
    for (let q = 0; q < c.cols.length; q++) {
      const col = c.cols[q];
      for (let t = full.indptr[q]; t < full.indptr[q + 1]; t++) {
        const r = full.indices[t];
        if (changedRow[r]) continue;
        let b = boundScore[r];
        if (b !== b) b = bound(r);
        if (b !== -Infinity && before(b, boundCol[r], full.data[t], col)) continue;
        isCand[t] = 1;
        candCount[r + 1]++;
      }
    }
  }
  for (let r = 0; r < nRows; r++) candCount[r + 1] += candCount[r];
  const candCol = new Uint32Array(candCount[nRows]);
  const candScore = new Float32Array(candCount[nRows]);
  if (full) {
    const fill = candCount.slice(0, nRows);
    for (let q = 0; q < c.cols.length; q++) {
      for (let t = full.indptr[q]; t < full.indptr[q + 1]; t++) {
        if (!isCand[t]) continue;
        const r = full.indices[t];
        candCol[fill[r]] = c.cols[q];
        candScore[fill[r]++] = full.data[t];
      }
    }
  }
  // 3. Per row: copy, patch (merge), or find again.
  const state = new Uint8Array(nRows);
  const at = new Uint32Array(nRows);
  const len = new Uint32Array(nRows);
  const buf = new RowBuffer();
  const redo: number[] = [];
  let patched = 0;
  let mi = new Uint32Array(256);
  let ms = new Float32Array(256);
  for (let a = 0; a < nRows; a++) {
    const r = oldAt[a];
    if (changedRow[a] || r < 0) {
      // The kernel selects from a long row faster than `selectBest` does from the full list.
      state[a] = REDO;
      redo.push(a);
      continue;
    }
    const s = old.indptr[r];
    const e = old.indptr[r + 1];
    const oldLen = e - s;
    let dropped = 0;
    for (let t = s; t < e; t++) dropped += gone[old.indices[t]];
    let nCand = candCount[a + 1] - candCount[a];
    if (c.self) for (let q = candCount[a]; q < candCount[a + 1]; q++) if (candCol[q] === a) nCand--;
    if (dropped === 0 && nCand === 0) {
      state[a] = COPY;
      at[a] = s;
      len[a] = oldLen;
      continue;
    }
    const n = oldLen - dropped + nCand;
    if (oldLen >= keep && n < keep) {
      // The merge comes up short of a full row: what follows the old k-th is unknown.
      state[a] = REDO;
      redo.push(a);
      continue;
    }
    // Merge: unchanged old entries (already best first) and the candidates, sorted.
    if (mi.length < n) {
      mi = new Uint32Array(n * 2);
      ms = new Float32Array(n * 2);
    }
    let m = 0;
    for (let t = s; t < e; t++) {
      if (gone[old.indices[t]]) continue;
      const x = colOf ? colOf[old.indices[t]] : old.indices[t];
      mi[m] = x;
      ms[m++] = c.oldScore ? c.oldScore(a, x, t) : old.data[t];
    }
    for (let q = candCount[a]; q < candCount[a + 1]; q++) {
      if (c.self && candCol[q] === a) continue;
      mi[m] = candCol[q];
      ms[m++] = candScore[q];
    }
    at[a] = buf.n;
    const got = selectBest(mi, ms, 0, m, keep, -1, buf);
    // A full old row is trusted when its new k-th still ranks at or above the old k-th (a removed
    // bound column, -1, ranks at the old bound: anything below it is still below).
    const last = at[a] + got - 1;
    if (oldLen >= keep && got === keep && before(bound(a), boundCol[a], buf.val[last], buf.idx[last])) {
      buf.n = at[a];
      state[a] = REDO;
      redo.push(a);
      continue;
    }
    len[a] = got;
    state[a] = PATCH;
    patched++;
  }
  // 4. The kernel for the rows left.
  if (redo.length > 0) {
    const rows = Uint32Array.from(redo);
    const got = await kernelRows(job, rows, k, backend, pool);
    for (let q = 0; q < rows.length; q++) {
      const a = rows[q];
      at[a] = buf.n;
      len[a] = selectBest(got.indices, got.data, got.indptr[q], got.indptr[q + 1], keep, c.self ? a : -1, buf);
    }
  }
  // 5. One table.
  const indptr = new Uint32Array(nRows + 1);
  for (let a = 0; a < nRows; a++) indptr[a + 1] = indptr[a] + len[a];
  const indices = new Uint32Array(indptr[nRows]);
  const data = new Float32Array(indptr[nRows]);
  const copied = new Uint8Array(nRows);
  for (let a = 0; a < nRows; ) {
    const o = indptr[a];
    if (state[a] !== COPY) {
      indices.set(buf.idx.subarray(at[a], at[a] + len[a]), o);
      data.set(buf.val.subarray(at[a], at[a] + len[a]), o);
      a++;
      continue;
    }
    // A run of copied rows whose old rows follow each other is one slice of the old table.
    const s = at[a];
    let b = a;
    while (b < nRows && state[b] === COPY && at[b] === s + (indptr[b] - o)) copied[b++] = 1;
    const n = indptr[b] - o;
    if (colOf) for (let t = 0; t < n; t++) indices[o + t] = colOf[old.indices[s + t]];
    else indices.set(old.indices.subarray(s, s + n), o);
    data.set(old.data.subarray(s, s + n), o);
    a = b;
  }
  return { table: { nRows, nCols, k: keep, indptr, indices, data }, stats: { recomputed: redo.length, patched }, copied };
}

/**
 * Every non-zero score of rows `at` of a job (unsorted), computed here as the kernel computes a
 * pair (see `cosineTopKReference`: f32 products added in middle-index order, the shrunk
 * denominator): the candidates of a change need every score of a changed column, not its top k.
 */
export function fullRows(j: SimJob, at: Uint32Array): { indptr: Uint32Array; indices: Uint32Array; data: Float32Array } {
  const { left, right, normsLeft, normsRight } = j;
  const shrink = Math.fround(j.shrink);
  const acc = new Float32Array(right.nCols);
  const mark = new Uint8Array(right.nCols);
  const touched = new Uint32Array(right.nCols);
  const indptr = new Uint32Array(at.length + 1);
  let indices = new Uint32Array(1024);
  let data = new Float32Array(1024);
  let n = 0;
  for (let q = 0; q < at.length; q++) {
    const i = at[q];
    let m = 0;
    for (let e = left.indptr[i]; e < left.indptr[i + 1]; e++) {
      const u = left.indices[e];
      const l = left.data[e];
      for (let f = right.indptr[u]; f < right.indptr[u + 1]; f++) {
        const x = right.indices[f];
        if (!mark[x]) {
          mark[x] = 1;
          touched[m++] = x;
        }
        acc[x] = acc[x] + Math.fround(l * right.data[f]);
      }
    }
    if (n + m > indices.length) {
      const grow = Math.max(indices.length * 2, n + m);
      const ni = new Uint32Array(grow);
      ni.set(indices.subarray(0, n));
      const nd = new Float32Array(grow);
      nd.set(data.subarray(0, n));
      indices = ni;
      data = nd;
    }
    const ni = normsLeft[i];
    for (let t = 0; t < m; t++) {
      const x = touched[t];
      const a = acc[x];
      acc[x] = 0;
      mark[x] = 0;
      if (a === 0) continue;
      const sim = Math.fround(a / Math.fround(Math.fround(ni * normsRight[x]) + shrink));
      if (!(sim > -Infinity)) continue;
      indices[n] = x;
      data[n++] = sim;
    }
    indptr[q + 1] = n;
  }
  return { indptr, indices: indices.subarray(0, n), data: data.subarray(0, n) };
}



/**
 * The raw cosine of row `a` of `left` and column `c` of `right` given as row `c` of `rightT`, as
 * the kernel computes it (f32 products added in middle-index order, then the shrunk denominator).
 */
export function pairScore(j: SimJob, rightT: SparseRows, a: number, c: number): number {
  const L = j.left;
  let p = L.indptr[a];
  const pe = L.indptr[a + 1];
  let q = rightT.indptr[c];
  const qe = rightT.indptr[c + 1];
  let acc = 0;
  while (p < pe && q < qe) {
    const x = L.indices[p];
    const y = rightT.indices[q];
    if (x < y) p++;
    else if (y < x) q++;
    else {
      acc = Math.fround(acc + Math.fround(L.data[p++] * rightT.data[q++]));
    }
  }
  return Math.fround(acc / Math.fround(Math.fround(j.normsLeft[a] * j.normsRight[c]) + Math.fround(j.shrink)));
}
