/**
 * The fused model's scoring core, shared by the pool's `fused` task and the in-thread path: for a
 * range of batch users, each component's candidates (sparse or dense scoring through a kernel,
 * the user bridge's cosine search then sparse scoring, the popularity order, or lists a component
 * scored already), then per user the normalisation and the weighted sum of its bucket's weights,
 * and the top n into output slots. The kernels return each row's entries unsorted (only the set
 * matters here) and, on the callers' own instances, as views on their memory.
 *
 * Allocation: the candidate lists of a range come from one kernel call per component (the user
 * bridge's neighbour rows are built once per range); the fusion itself runs on a `FusionScratch`
 * grown on demand and reused across ranges, so nothing is allocated per user.
 *
 * Kernel inputs: the per-user matrices (the seen rows, and the user rows of the sparse sources)
 * are gathered for the range's users into the scratch and handed to the kernels as one-call
 * arrays, users numbered from 0. Only what every user reads (similarity matrices, item vectors)
 * stays resident in the kernels' memory: a worker copies those once instead of every per-user
 * matrix of the model (the user-kNN neighbour rows alone are 26 MB at 100,000 users).
 *
 * Arithmetic, as `normalisedCandidates` + `fuseUser` in gating.ts: a component's score x becomes
 * fround((x - lo) / span) (span: the target's divisor, or the user's max - lo, lo the minimum when
 * it is negative; 1 when span <= 0); the fused score is the double sum, in component order, of
 * weight x that value over the components with a non-zero weight that listed the item, times the
 * item's long-tail factor, rounded to f32. The best n are kept best first, ties by the lower item
 * index. A component whose weight is 0 for the user's bucket adds nothing and is not read.
 */
import { forOneCall } from '../kernels/per-call.js';
import type { CosineJob, DenseScoreJob, SparseRows, SparseScoreJob, TopKRows } from '../kernels/types.js';

/** Sparse scoring: `userRows` (one row per batch user) x `sim`, the top `k` per user. */
export interface SparseGenerator {
  kind: 'sparse';
  userRows: SparseRows;
  sim: SparseRows;
  k: number;
}

/** Popularity: the domain's items in decreasing popularity, the first `k` allowed and unseen. */
export interface PopularGenerator {
  kind: 'popular';
  order: Uint32Array;
  pop: Float32Array;
  k: number;
}

/** Dense scoring: batch user b's vector (`vectors` row b, width `dim`) against every item of `items`, the top `k`. */
export interface DenseGenerator {
  kind: 'dense';
  vectors: Float32Array;
  items: Float32Array;
  dim: number;
  k: number;
}

/**
 * The user bridge (as `BridgeScorer.scoreWith`): each batch user's top `search` users by cosine of
 * its source row against theirs, the user itself left out, the first `keep` kept, similarities
 * raised to `exponent` and normalised to sum 1, then those users' target rows scored (sparse
 * kernel, the batch's own seen rows).
 */
export interface BridgeUserGenerator {
  kind: 'bridge-user';
  /** Source rows of the batch users in batch order (idf-weighted when the plan is), and their norms. */
  src: SparseRows;
  srcNorms: Float32Array;
  /** Source items x users with target rows, and those users' norms. */
  xsT: SparseRows;
  userNorms: Float32Array;
  search: number;
  keep: number;
  exponent: number;
  shrink: number;
  /** Per batch user, its own user row (left out of its neighbours), or 0xffffffff. */
  self: Uint32Array;
  /** Target rows of every user (the neighbours' rows). */
  target: SparseRows;
  k: number;
}

/** Lists a component scored already, one row per batch user. */
export interface ListsGenerator {
  kind: 'lists';
  lists: TopKRows;
}

/** Where one component's candidates come from (undefined: its weight is 0 for every bucket in the batch). */
export type CandidateSource = SparseGenerator | DenseGenerator | PopularGenerator | BridgeUserGenerator | ListsGenerator;

/**
 * Everything the fusion of a batch reads. Batch user b is row `rowOf[b]` of every sparse
 * source's `userRows` and of `seen`: its training row (when no batch user's rows changed since the
 * fit, the sources read the model's own matrices, which stay resident in the kernels) or b (rows
 * gathered for the batch). Lists and output slots are indexed by b.
 */
export interface FusedBatch {
  sources: ReadonlyArray<CandidateSource | undefined>;
  /** Row of each batch user in the sparse sources' user rows and in `seen`. */
  rowOf: Uint32Array;
  /** Target rows, for excluding seen items (undefined: nothing excluded). */
  seen: SparseRows | undefined;
  /** Per target item, 1 when allowed (undefined: every item). */
  allowed: Uint8Array | undefined;
  /** Bucket index of each batch user (position in BUCKETS). */
  buckets: Uint8Array;
  /** Weights, `bucket * m + component`. */
  weights: Float64Array;
  /** Per component: the divisor of its scores, or 0 to scale per user. */
  scales: Float64Array;
  /** Long-tail factor per item (undefined: none). */
  boost: Float32Array | undefined;
  /** Items per user in the output. */
  n: number;
}

/** Runs a sparse scoring job for rows `users` of its user rows (component c's kernel, so each keeps its own resident inputs). */
export type SparseRunner = (c: number, job: SparseScoreJob, users: Uint32Array) => TopKRows;

/** Runs a dense scoring job for `vectors` (row b: the user whose seen items are row `users[b]` of the job's seen rows), with component c's kernel. */
export type DenseRunner = (c: number, job: DenseScoreJob, users: Uint32Array, vectors: Float32Array) => TopKRows;

/** Runs a cosine job for rows [start, end) of its left rows (sorted rows, as the kernel gives them). */
export type CosineRunner = (c: number, job: CosineJob, start: number, end: number) => TopKRows;

/** The kernels fuseRange calls, each with a kernel position (see SparseRunner). */
export interface Runners {
  sparse: SparseRunner;
  dense: DenseRunner;
  cosine: CosineRunner;
}

const NO_VALUES = new Float32Array(0);

/** Growable buffers for the rows of one matrix gathered for a range of users. */
class GatheredRows {
  private indptr = new Uint32Array(0);
  private indices = new Uint32Array(0);
  private data = new Float32Array(0);

  /**
   * Rows rowOf[start..end) of `m` as a matrix of end - start rows, marked for one kernel call.
   * Values are copied when `values` is set and `m` has them (binary rows may come with an empty
   * value array, which stands for all ones; the copy keeps it empty).
   */
  gather(m: SparseRows, rowOf: Uint32Array, start: number, end: number, values: boolean): SparseRows {
    const rows = end - start;
    let nnz = 0;
    for (let b = start; b < end; b++) nnz += m.indptr[rowOf[b] + 1] - m.indptr[rowOf[b]];
    if (this.indptr.length < rows + 1) this.indptr = new Uint32Array(rows + 1);
    if (this.indices.length < nnz) this.indices = new Uint32Array(Math.max(nnz, 2 * this.indices.length));
    const copyValues = values && m.data.length >= m.indptr[m.nRows];
    if (copyValues && this.data.length < nnz) this.data = new Float32Array(Math.max(nnz, 2 * this.data.length));
    const { indptr, indices, data } = this;
    let q = 0;
    indptr[0] = 0;
    for (let b = start; b < end; b++) {
      const z = rowOf[b];
      const e = m.indptr[z + 1];
      for (let p = m.indptr[z]; p < e; p++, q++) {
        indices[q] = m.indices[p];
        if (copyValues) data[q] = m.data[p];
      }
      indptr[b - start + 1] = q;
    }
    return {
      nRows: rows,
      nCols: m.nCols,
      indptr: forOneCall(indptr.subarray(0, rows + 1)),
      indices: forOneCall(indices.subarray(0, q)),
      data: copyValues ? forOneCall(data.subarray(0, q)) : NO_VALUES,
    };
  }
}

/** Reusable buffers of the fusion, grown on demand (one per worker, or per scorer in this thread). */
export class FusionScratch {
  /** The range's seen rows, and one sparse source's user rows at a time. */
  readonly seenRows = new GatheredRows();
  readonly userRows = new GatheredRows();
  /** 0, 1, 2, ...: the range's users as the gathered rows number them. */
  local = new Uint32Array(0);
  acc = new Float64Array(0);
  mark = new Uint8Array(0);
  touched = new Uint32Array(0);
  bestItems = new Uint32Array(0);
  bestScores = new Float32Array(0);
  /** A range's popularity lists, and the user bridge's neighbour rows of a range (read before the next range). */
  private popCounts = new Uint32Array(0);
  private popIndices = new Uint32Array(0);
  private popScores = new Float32Array(0);
  private nbIndptr = new Uint32Array(0);
  private nbIndices = new Uint32Array(0);
  private nbData = new Float32Array(0);

  /** Slots for `rows` lists of `k` (their contents are left as they were). */
  popularSlots(rows: number, k: number): TopKRows {
    if (this.popCounts.length < rows) this.popCounts = new Uint32Array(rows);
    if (this.popIndices.length < rows * k) {
      this.popIndices = new Uint32Array(rows * k);
      this.popScores = new Float32Array(rows * k);
    }
    return { k, counts: this.popCounts.subarray(0, rows), indices: this.popIndices.subarray(0, rows * k), scores: this.popScores.subarray(0, rows * k) };
  }

  /** Room for neighbour rows of `rows` users with at most `keep` each: indptr (indptr[0] = 0), indices, data. */
  neighbourRows(rows: number, keep: number): { indptr: Uint32Array; indices: Uint32Array; data: Float32Array } {
    if (this.nbIndptr.length < rows + 1) this.nbIndptr = new Uint32Array(rows + 1);
    if (this.nbIndices.length < rows * keep) {
      this.nbIndices = new Uint32Array(rows * keep);
      this.nbData = new Float32Array(rows * keep);
    }
    this.nbIndptr[0] = 0;
    return { indptr: this.nbIndptr.subarray(0, rows + 1), indices: this.nbIndices, data: this.nbData };
  }

  /** Room for `items` target items, `candidates` candidates per user and `n` outputs. */
  ensure(items: number, candidates: number, n: number): void {
    if (this.acc.length < items) {
      this.acc = new Float64Array(items);
      this.mark = new Uint8Array(items);
    }
    if (this.touched.length < candidates) this.touched = new Uint32Array(candidates);
    if (this.bestItems.length < n) {
      this.bestItems = new Uint32Array(n);
      this.bestScores = new Float32Array(n);
    }
  }

  /** 0 .. rows - 1. */
  firstRows(rows: number): Uint32Array {
    if (this.local.length < rows) this.local = Uint32Array.from({ length: rows }, (_, i) => i);
    return this.local.subarray(0, rows);
  }
}

/** One component's lists for batch rows [start, end): the rows and the first row's batch index. */
interface RangeLists {
  lists: TopKRows;
  base: number;
}

/** Popularity lists of batch rows [start, end), as `PopularityScorer.score` makes them (in the scratch's slots). */
function popularLists(g: PopularGenerator, fb: FusedBatch, start: number, end: number, scratch: FusionScratch): TopKRows {
  const k = g.k;
  const out = scratch.popularSlots(end - start, k);
  const { order, pop } = g;
  const allowed = fb.allowed;
  const seen = fb.seen;
  // The user's seen items are marked in the scratch's item marks (all clear between users).
  const mark = scratch.mark;
  for (let b = start; b < end; b++) {
    const z = fb.rowOf[b];
    const zs = seen ? seen.indptr[z] : 0;
    const ze = seen ? seen.indptr[z + 1] : 0;
    for (let e = zs; e < ze; e++) mark[seen!.indices[e]] = 1;
    const o = (b - start) * k;
    let c = 0;
    for (let r = 0; r < order.length && c < k; r++) {
      const it = order[r];
      if (mark[it] !== 0 || (allowed && !allowed[it])) continue;
      out.indices[o + c] = it;
      out.scores[o + c] = pop[it];
      c++;
    }
    for (let e = zs; e < ze; e++) mark[seen!.indices[e]] = 0;
    out.counts[b - start] = c;
  }
  return out;
}

/**
 * The user bridge's lists for batch rows [start, end): the cosine search (kernel position c),
 * then the neighbour rows cut, weighted and normalised exactly as `BridgeScorer.finishUsers`
 * does (truncateRows, powData, normaliseRows), then the sparse scoring (kernel position c2) with
 * the range's gathered `seen` rows (row r: batch row start + r).
 */
function bridgeUserLists(
  g: BridgeUserGenerator, fb: FusedBatch, c: number, c2: number, start: number, end: number, run: Runners, seen: SparseRows | undefined, scratch: FusionScratch,
): TopKRows {
  const job: CosineJob = { left: g.src, right: g.xsT, normsLeft: g.srcNorms, normsRight: g.userNorms, k: g.search, shrink: g.shrink };
  const slots = run.cosine(c, job, start, end);
  // Neighbour rows of the range, row r for batch row start + r.
  const { indptr, indices, data } = scratch.neighbourRows(end - start, g.keep);
  let q = 0;
  for (let b = start; b < end; b++) {
    const o = (b - start) * slots.k;
    const self = g.self[b];
    const from = q;
    for (let t = 0; t < slots.counts[b - start] && q - from < g.keep; t++) {
      const j = slots.indices[o + t];
      if (j === self) continue;
      indices[q] = j;
      data[q] = g.exponent === 1 ? slots.scores[o + t] : Math.pow(slots.scores[o + t], g.exponent);
      q++;
    }
    let sum = 0;
    for (let e = from; e < q; e++) sum += data[e];
    if (sum > 0) for (let e = from; e < q; e++) data[e] = data[e] / sum;
    indptr[b - start + 1] = q;
  }
  const userRows: SparseRows = {
    nRows: end - start,
    nCols: g.target.nRows,
    indptr: forOneCall(indptr),
    indices: forOneCall(indices.subarray(0, q)),
    data: forOneCall(data.subarray(0, q)),
  };
  return run.sparse(c2, { userRows, sim: g.target, seen, allowed: fb.allowed, n: g.k, unordered: true }, scratch.firstRows(end - start));
}

/** Whether bucket q of the batch weights component c (any user of the range in bucket q). */
function used(fb: FusedBatch, c: number, present: number): boolean {
  const m = fb.sources.length;
  for (let q = 0; q < 4; q++) if (present & (1 << q) && fb.weights[q * m + c] !== 0) return true;
  return false;
}

/**
 * Fuse batch rows [start, end) into `out` (slots of width fb.n; rows are batch rows). Runs each
 * weighted component's candidate generation for the range first.
 */
export function fuseRange(fb: FusedBatch, start: number, end: number, run: Runners, scratch: FusionScratch, nItems: number, out: TopKRows): void {
  const m = fb.sources.length;
  const rows = end - start;
  if (rows <= 0) return;
  let present = 0;
  for (let b = start; b < end; b++) present |= 1 << fb.buckets[b];
  // 1. Candidates of every component some user of the range weighs. Their order within a row does
  //    not matter below (sums per item, max and min), so the kernels skip their final sort.
  const lists: Array<RangeLists | undefined> = new Array(m);
  let candidates = 0;
  scratch.ensure(nItems, 0, fb.n);
  // The kernels see the range's users as rows 0 .. rows - 1 of the gathered matrices.
  const local = scratch.firstRows(rows);
  const seen = fb.seen ? scratch.seenRows.gather(fb.seen, fb.rowOf, start, end, false) : undefined;
  for (let c = 0; c < m; c++) {
    const g = fb.sources[c];
    if (!g || !used(fb, c, present)) continue;
    if (g.kind === 'lists') lists[c] = { lists: g.lists, base: 0 };
    else if (g.kind === 'popular') lists[c] = { lists: popularLists(g, fb, start, end, scratch), base: start };
    else if (g.kind === 'bridge-user') lists[c] = { lists: bridgeUserLists(g, fb, c, m + c, start, end, run, seen, scratch), base: start };
    else if (g.kind === 'dense') {
      const job = { items: g.items, dim: g.dim, seen, allowed: fb.allowed, n: g.k, unordered: true };
      lists[c] = { lists: run.dense(c, job, local, g.vectors.subarray(start * g.dim, end * g.dim)), base: start };
    } else {
      const userRows = scratch.userRows.gather(g.userRows, fb.rowOf, start, end, true);
      const job = { userRows, sim: g.sim, seen, allowed: fb.allowed, n: g.k, unordered: true };
      lists[c] = { lists: run.sparse(c, job, local), base: start };
    }
    candidates += lists[c]!.lists.k;
  }
  scratch.ensure(nItems, candidates, fb.n);
  // 2. Per user: normalise, accumulate, select.
  const { acc, mark, touched, bestItems, bestScores } = scratch;
  const n = fb.n;
  for (let b = start; b < end; b++) {
    const w0 = fb.buckets[b] * m;
    let nt = 0;
    for (let c = 0; c < m; c++) {
      const w = fb.weights[w0 + c];
      const rl = lists[c];
      if (w === 0 || !rl) continue;
      const l = rl.lists;
      const s = (b - rl.base) * l.k;
      const cnt = l.counts[b - rl.base];
      const scale = fb.scales[c];
      let lo = 0;
      let span = scale;
      if (!(scale > 0)) {
        let max = -Infinity;
        let min = Infinity;
        for (let t = 0; t < cnt; t++) {
          const x = l.scores[s + t];
          if (x > max) max = x;
          if (x < min) min = x;
        }
        lo = min >= 0 ? 0 : min;
        span = max - lo;
      }
      for (let t = 0; t < cnt; t++) {
        const it = l.indices[s + t];
        const v = span > 0 ? Math.fround((l.scores[s + t] - lo) / span) : 1;
        if (mark[it] === 0) {
          mark[it] = 1;
          acc[it] = 0;
          touched[nt++] = it;
        }
        acc[it] += w * v;
      }
    }
    // Selection: best first, ties by the lower item (touched items come in no particular order).
    let size = 0;
    for (let q = 0; q < nt; q++) {
      const it = touched[q];
      mark[it] = 0;
      const f = Math.fround(fb.boost ? acc[it] * fb.boost[it] : acc[it]);
      if (size === n && !(f > bestScores[n - 1] || (f === bestScores[n - 1] && it < bestItems[n - 1]))) continue;
      let pos = size < n ? size++ : n - 1;
      while (pos > 0 && (f > bestScores[pos - 1] || (f === bestScores[pos - 1] && it < bestItems[pos - 1]))) {
        bestScores[pos] = bestScores[pos - 1];
        bestItems[pos] = bestItems[pos - 1];
        pos--;
      }
      bestScores[pos] = f;
      bestItems[pos] = it;
    }
    const o = b * out.k;
    out.counts[b] = size;
    for (let r = 0; r < size; r++) {
      out.indices[o + r] = bestItems[r];
      out.scores[o + r] = bestScores[r];
    }
  }
}
