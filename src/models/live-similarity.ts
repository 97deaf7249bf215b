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

/** Ranks (score, column) before (s2, c2): higher score first, then the lower column. */
function before(s: number, c: number, s2: number, c2: number): boolean {
  return s > s2 || (s === s2 && c < c2);
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
  const mapRow = c.mapRow ?? ((r: number) => r);
  const mapCol = c.mapCol ?? ((x: number) => x);
  const changedCol = new Uint8Array(nCols);
  for (const x of c.cols) changedCol[x] = 1;
  const changedRow = new Uint8Array(nRows);
  for (const r of c.rows) changedRow[r] = 1;
  // 1. The changed columns' full lists of rows: every new score of a changed column.
  const tj = c.transposed === 'symmetric' ? job : c.transposed;
  const full = c.cols.length > 0 ? fullRows(tj, c.cols) : undefined;
  // 2. Old rows in the new numbering, and each full old row's bound (its k-th entry): a changed
  // column's new score below the bound cannot enter the row (if the merge comes up short, the row
  // is found again by the kernel), so only scores above it are kept as candidates.
  const oldAt = new Int32Array(nRows).fill(-1);
  for (let r = 0; r < old.nRows; r++) {
    const a = mapRow(r);
    if (a >= 0 && a < nRows) oldAt[a] = r;
  }
  const boundScore = new Float32Array(nRows).fill(-Infinity);
  const boundCol = new Int32Array(nRows).fill(-1);
  for (let a = 0; a < nRows; a++) {
    const r = oldAt[a];
    if (r < 0 || changedRow[a]) continue;
    const e = old.indptr[r + 1];
    if (e - old.indptr[r] < keep) continue;
    const bc = mapCol(old.indices[e - 1]);
    boundCol[a] = bc < 0 ? -1 : bc;
    // Recomputed raw scores are new ones: a changed bound's old score is unknown (the row is found again).
    boundScore[a] = !c.oldScore ? old.data[e - 1] : bc < 0 || changedCol[bc] ? Infinity : c.oldScore(a, bc, e - 1);
  }
  const above = (a: number, s: number, col: number) => boundScore[a] === -Infinity || !before(boundScore[a], boundCol[a], s, col);
  // Candidates per row: (changed column, new score) above the row's bound, from the full lists.
  const candCount = new Uint32Array(nRows + 1);
  if (full) {
    for (let q = 0; q < c.cols.length; q++) {
      for (let t = full.indptr[q]; t < full.indptr[q + 1]; t++) if (above(full.indices[t], full.data[t], c.cols[q])) candCount[full.indices[t] + 1]++;
    }
  }
  for (let r = 0; r < nRows; r++) candCount[r + 1] += candCount[r];
  const candCol = new Uint32Array(candCount[nRows]);
  const candScore = new Float32Array(candCount[nRows]);
  if (full) {
    const fill = candCount.slice(0, nRows);
    for (let q = 0; q < c.cols.length; q++) {
      for (let t = full.indptr[q]; t < full.indptr[q + 1]; t++) {
        const r = full.indices[t];
        if (!above(r, full.data[t], c.cols[q])) continue;
        candCol[fill[r]] = c.cols[q];
        candScore[fill[r]++] = full.data[t];
      }
    }
  }
  // 3. Per row: keep, patch, or recompute.
  const rowsOut: Array<{ idx: Uint32Array; val: Float32Array } | undefined> = new Array(nRows);
  const redo: number[] = [];
  const copied = new Uint8Array(nRows);
  let patched = 0;
  const ci: number[] = [];
  const cs: number[] = [];
  for (let a = 0; a < nRows; a++) {
    const r = oldAt[a];
    if (changedRow[a] || r < 0) {
      redo.push(a);
      continue;
    }
    const s = old.indptr[r];
    const e = old.indptr[r + 1];
    let touched = candCount[a + 1] > candCount[a];
    for (let t = s; t < e && !touched; t++) {
      const x = mapCol(old.indices[t]);
      if (x < 0 || changedCol[x]) touched = true;
    }
    if (!touched) {
      if (c.mapCol) {
        rowsOut[a] = { idx: Uint32Array.from(old.indices.subarray(s, e), mapCol), val: old.data.slice(s, e) };
      } else rowsOut[a] = { idx: old.indices.subarray(s, e), val: old.data.subarray(s, e) };
      copied[a] = 1;
      continue;
    }
    // Merge: unchanged old entries (raw scores) and the changed columns' new scores.
    ci.length = 0;
    cs.length = 0;
    for (let t = s; t < e; t++) {
      const x = mapCol(old.indices[t]);
      if (x < 0 || changedCol[x]) continue;
      ci.push(x);
      cs.push(c.oldScore ? c.oldScore(a, x, t) : old.data[t]);
    }
    for (let q = candCount[a]; q < candCount[a + 1]; q++) {
      if (c.self && candCol[q] === a) continue;
      ci.push(candCol[q]);
      cs.push(candScore[q]);
    }
    const order = Array.from(ci.keys()).sort((p, q) => (before(cs[p], ci[p], cs[q], ci[q]) ? -1 : before(cs[q], ci[q], cs[p], ci[p]) ? 1 : 0));
    const n = Math.min(keep, order.length);
    const oldLen = e - s;
    let ok = oldLen < keep;
    if (!ok && n === keep) {
      const last = order[n - 1];
      // A removed column (bound column -1) ranked at the old bound: anything below it is still below.
      ok = !before(boundScore[a], boundCol[a], cs[last], ci[last]);
    }
    if (!ok) {
      redo.push(a);
      continue;
    }
    patched++;
    rowsOut[a] = { idx: Uint32Array.from(order.slice(0, n), (p) => ci[p]), val: Float32Array.from(order.slice(0, n), (p) => cs[p]) };
  }
  // 4. The kernel for changed rows and untrusted merges.
  if (redo.length > 0) {
    const at = Uint32Array.from(redo);
    const got = await kernelRows(job, at, k, backend, pool);
    for (let q = 0; q < at.length; q++) rowsOut[at[q]] = firstOf(got, q, keep, c.self ? at[q] : -1);
  }
  return { table: assemble(rowsOut, nCols, keep), stats: { recomputed: redo.length, patched }, copied };
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

/** The first `keep` entries of row q of a kernel result, column `self` left out. */
function firstOf(m: Neighbours, q: number, keep: number, self: number): { idx: Uint32Array; val: Float32Array } {
  const idx: number[] = [];
  const val: number[] = [];
  for (let t = m.indptr[q]; t < m.indptr[q + 1] && idx.length < keep; t++) {
    if (m.indices[t] === self) continue;
    idx.push(m.indices[t]);
    val.push(m.data[t]);
  }
  return { idx: Uint32Array.from(idx), val: Float32Array.from(val) };
}

function assemble(rows: Array<{ idx: Uint32Array; val: Float32Array } | undefined>, nCols: number, k: number): Neighbours {
  const n = rows.length;
  const indptr = new Uint32Array(n + 1);
  for (let a = 0; a < n; a++) indptr[a + 1] = indptr[a] + (rows[a]?.idx.length ?? 0);
  const indices = new Uint32Array(indptr[n]);
  const data = new Float32Array(indptr[n]);
  for (let a = 0; a < n; a++) {
    const row = rows[a];
    if (!row) continue;
    indices.set(row.idx, indptr[a]);
    data.set(row.val, indptr[a]);
  }
  return { nRows: n, nCols, k, indptr, indices, data };
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
