/**
 * Pure-TypeScript twins of the wasm kernels: the test oracle, and the fallback when
 * WebAssembly SIMD is unavailable. Same contracts, same tie-breaking, same f32 rounding points
 * (`Math.fround` after every f32 operation of the kernel: a product or sum of two f32 values
 * computed in f64 and rounded once to f32 equals the f32 operation), so scores match bit for bit.
 * Deliberately simple: selection is a full sort of the candidates.
 */
import type { CosineJob, DenseScoreJob, Kernels, SparseScoreJob, TopK, TopKRows } from './types.js';

const fround = Math.fround;

/** Is (sa, ia) worse than (sb, ib)? Lower score is worse; equal scores: higher index is worse. */
function worse(sa: number, ia: number, sb: number, ib: number): boolean {
  return sa < sb || (sa === sb && ia > ib);
}

/** Sort candidate ids best first by `score`, ties by the lower id. */
function sortBest(ids: number[], score: (i: number) => number): number[] {
  const s = new Map<number, number>();
  for (const i of ids) s.set(i, score(i));
  return ids.sort((a, b) => (worse(s.get(a)!, a, s.get(b)!, b) ? 1 : worse(s.get(b)!, b, s.get(a)!, a) ? -1 : 0));
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

/** Fresh slots for `rows` rows of `k`. */
function emptyRows(rows: number, k: number): TopKRows {
  return { k, counts: new Uint32Array(rows), indices: new Uint32Array(rows * k), scores: new Float32Array(rows * k) };
}

/** Write the best `k` of `ids` (already sorted best first) into row `r` of `out`. */
function putRow(out: TopKRows, r: number, ids: number[], score: (i: number) => number): void {
  const m = Math.min(out.k, ids.length);
  out.counts[r] = m;
  for (let t = 0; t < m; t++) {
    out.indices[r * out.k + t] = ids[t];
    out.scores[r * out.k + t] = score(ids[t]);
  }
}

/** Reference of the cosine top-k kernel (see `assembly/cosine.ts`). */
export function cosineTopKReference(job: CosineJob, start: number, end: number): TopKRows {
  const { left, right, normsLeft, normsRight, k } = job;
  const ids = job.rightColumnIds;
  const shrink = fround(job.shrink);
  const acc = new Float32Array(right.nCols);
  const seen = new Uint8Array(right.nCols);
  const out = emptyRows(end - start, k);
  for (let i = start; i < end; i++) {
    const touched: number[] = [];
    for (let e = left.indptr[i]; e < left.indptr[i + 1]; e++) {
      const u = left.indices[e];
      const l = left.data[e];
      for (let f = right.indptr[u]; f < right.indptr[u + 1]; f++) {
        const j = right.indices[f];
        if (!seen[j]) {
          seen[j] = 1;
          touched.push(j);
        }
        acc[j] = acc[j] + fround(l * right.data[f]);
      }
    }
    const ni = normsLeft[i];
    const sim = new Map<number, number>();
    const cands: number[] = [];
    for (const j of touched) {
      const a = acc[j];
      acc[j] = 0;
      seen[j] = 0;
      if (a === 0) continue;
      const s = fround(a / fround(fround(ni * normsRight[j]) + shrink));
      if (!(s > -Infinity)) continue;
      const id = ids ? ids[j] : j;
      sim.set(id, s);
      cands.push(id);
    }
    const get = (j: number) => sim.get(j)!;
    putRow(out, i - start, sortBest(cands, get), get);
  }
  return out;
}

/** Reference of the sparse scoring kernel (see `assembly/score.ts`). */
export function scoreSparseReference(job: SparseScoreJob, users: Uint32Array): TopKRows {
  const { userRows: x, sim: s, seen, allowed, n } = job;
  const acc = new Float32Array(s.nCols);
  const mark = new Uint8Array(s.nCols);
  const out = emptyRows(users.length, n);
  for (let b = 0; b < users.length; b++) {
    const u = users[b];
    const touched: number[] = [];
    for (let e = x.indptr[u]; e < x.indptr[u + 1]; e++) {
      const j = x.indices[e];
      const w = x.data[e];
      for (let t = s.indptr[j]; t < s.indptr[j + 1]; t++) {
        const i = s.indices[t];
        if (!mark[i]) {
          mark[i] = 1;
          touched.push(i);
        }
        acc[i] = acc[i] + fround(w * s.data[t]);
      }
    }
    if (seen) {
      for (let e = seen.indptr[u]; e < seen.indptr[u + 1]; e++) {
        if (mark[seen.indices[e]]) acc[seen.indices[e]] = -Infinity;
      }
    }
    const score = new Map<number, number>();
    const cands: number[] = [];
    for (const i of touched) {
      const a = acc[i];
      acc[i] = 0;
      mark[i] = 0;
      if (!(a > 0)) continue;
      if (allowed && !allowed[i]) continue;
      score.set(i, a);
      cands.push(i);
    }
    const get = (i: number) => score.get(i)!;
    putRow(out, b, sortBest(cands, get), get);
  }
  return out;
}

/** f32 dot product in the kernel's order: four lanes, (l0 + l1) + (l2 + l3), then the tail. */
export function dotF32x4Order(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  const d4 = dim & ~3;
  let l0 = 0;
  let l1 = 0;
  let l2 = 0;
  let l3 = 0;
  for (let t = 0; t < d4; t += 4) {
    l0 = fround(l0 + fround(a[ao + t] * b[bo + t]));
    l1 = fround(l1 + fround(a[ao + t + 1] * b[bo + t + 1]));
    l2 = fround(l2 + fround(a[ao + t + 2] * b[bo + t + 2]));
    l3 = fround(l3 + fround(a[ao + t + 3] * b[bo + t + 3]));
  }
  let s = fround(fround(l0 + l1) + fround(l2 + l3));
  for (let t = d4; t < dim; t++) s = fround(s + fround(a[ao + t] * b[bo + t]));
  return s;
}

/** Reference of the dense scoring kernel (see `assembly/dense.ts`). */
export function scoreDenseReference(job: DenseScoreJob, users: Uint32Array, userVectors: Float32Array): TopKRows {
  const { items, dim, seen, allowed, n } = job;
  const nItems = dim === 0 ? 0 : items.length / dim;
  const out = emptyRows(users.length, n);
  const sc = new Float32Array(nItems);
  for (let b = 0; b < users.length; b++) {
    for (let i = 0; i < nItems; i++) {
      sc[i] = allowed && !allowed[i] ? -Infinity : dotF32x4Order(userVectors, b * dim, items, i * dim, dim);
    }
    if (seen) {
      const u = users[b];
      for (let e = seen.indptr[u]; e < seen.indptr[u + 1]; e++) sc[seen.indices[e]] = -Infinity;
    }
    const top = topkReference(sc, n);
    out.counts[b] = top.indices.length;
    out.indices.set(top.indices, b * n);
    out.scores.set(top.scores, b * n);
  }
  return out;
}

/** The reference backend. */
export const referenceKernels: Kernels = {
  backend: 'js',
  topk: topkReference,
  cosineTopK: cosineTopKReference,
  scoreSparse: scoreSparseReference,
  scoreDense: scoreDenseReference,
};
