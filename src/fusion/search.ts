/**
 * The fusion weight search: coordinate ascent on validation NDCG@k over cached candidate lists,
 * bagged over seeded bootstrap resamples. Each validation user's candidates are packed once per
 * search (scores, a bit mask of the components that listed each item, and which items are
 * relevant), so trying a weight vector is a tight loop over typed arrays with no allocation: the
 * same fused scores, ranks and NDCG as `fuseUser` + `ndcg` on each user (tested), many times
 * faster, which matters because a fit tries thousands of weight vectors.
 */
import type { Rng } from '../random.js';
import type { UserCandidates } from './gating.js';

/** Relative weight values coordinate ascent tries for each component. */
const STEPS = [0, 0.1, 0.25, 0.5, 1, 2, 4];

/** Users per bootstrap resample, at most. */
const MAX_RESAMPLE = 1000;

/** Candidates of many users packed for repeated scoring: plain typed arrays, so a pool worker can take them. */
export interface PackedCandidates {
  nUsers: number;
  /** Components. */
  m: number;
  k: number;
  /** Per user: its first candidate row (length nUsers + 1). */
  start: Uint32Array;
  /** Row r, component q at r * m + q. */
  scores: Float32Array;
  /** Bit q set: component q listed the item. */
  mask: Uint32Array;
  relevant: Uint8Array;
  /** Per user: the ideal DCG at k (0: no relevant item). */
  idcg: Float64Array;
}

/**
 * Pack users' candidates, leaving out the rows that can never reach a top k (`reachable`).
 * @param reach the reachable rows of candidates already packed with the same m and k, by object
 * (read and filled in): a user packed for several searches is pruned once.
 */
export function packCandidates(cands: readonly UserCandidates[], relevant: readonly Set<number>[], m: number, k: number, reach?: Map<UserCandidates, Uint32Array>): PackedCandidates {
  if (m > 32) throw new RangeError(`at most 32 components can be fused (got ${m})`);
  const keep = cands.map((c) => {
    let rows = reach?.get(c);
    if (!rows) {
      rows = reachable(c, m, k);
      reach?.set(c, rows);
    }
    return rows;
  });
  const start = new Uint32Array(cands.length + 1);
  let rows = 0;
  keep.forEach((rs, u) => {
    rows += rs.length;
    start[u + 1] = rows;
  });
  const p: PackedCandidates = { nUsers: cands.length, m, k, start, scores: new Float32Array(rows * m), mask: new Uint32Array(rows), relevant: new Uint8Array(rows), idcg: new Float64Array(cands.length) };
  cands.forEach((c, u) => {
    let o = start[u];
    for (const r of keep[u]) {
      let bits = 0;
      for (let q = 0; q < m; q++) {
        p.scores[o * m + q] = c.scores[r * m + q];
        if (c.listed[r * m + q]) bits |= 1 << q;
      }
      p.mask[o] = bits;
      if (relevant[u].has(c.items[r])) p.relevant[o] = 1;
      o++;
    }
    let ideal = 0;
    for (let i = 0; i < Math.min(k, relevant[u].size); i++) ideal += 1 / Math.log2(i + 2);
    p.idcg[u] = ideal;
  });
  return p;
}

/**
 * Per-user NDCG values the evaluator keeps, at most (8 bytes each); past that its memo starts over.
 * A bagged search of 1,500 users tries a few hundred distinct weight vectors (a few MB).
 */
const MEMO_VALUES = 1 << 23;

/**
 * Scores weight vectors on packed candidates (its buffers are reused between calls; exported for
 * tests). A user's
 * NDCG for a weight vector is computed once and kept: bootstrap resamples repeat users, and the
 * searches of a bagged run (and the passes of one search) try many of the same vectors.
 */
export class Evaluator {
  private readonly top: Float32Array;
  private readonly topRel: Uint8Array;
  private readonly discount: Float64Array;
  /** Weight vector (its values joined) -> NDCG@k per packed user, NaN where not computed yet. */
  private readonly memo = new Map<string, Float64Array>();

  /** @param memoValues per-user values kept at most (tests set it low). */
  constructor(
    readonly p: PackedCandidates,
    private readonly memoValues = MEMO_VALUES,
  ) {
    this.top = new Float32Array(p.k);
    this.topRel = new Uint8Array(p.k);
    this.discount = Float64Array.from({ length: p.k }, (_, i) => 1 / Math.log2(i + 2));
  }

  /**
   * Mean NDCG@k over `users` (indices into the packed users) with these weights: per user, items
   * listed by a component of non-zero weight, scored sum_q w_q * score_q in component order and
   * rounded to f32, the best k kept (ties: the earlier, lower item). The users' values are added
   * in the order given, so a remembered value gives the same mean as a fresh one.
   */
  meanNdcg(weights: ArrayLike<number>, users: ArrayLike<number>): number {
    const { m, idcg, nUsers } = this.p;
    let on = 0;
    const nz: number[] = [];
    for (let q = 0; q < m; q++) {
      // The rows `reachable` dropped are out of every top k only for weights >= 0.
      if (!(weights[q] >= 0)) throw new RangeError(`fusion weights must be >= 0 (component ${q}: ${weights[q]})`);
      if (weights[q] !== 0) {
        on |= 1 << q;
        nz.push(q);
      }
    }
    const key = Array.prototype.join.call(weights, ',');
    let per = this.memo.get(key);
    if (!per) {
      if ((this.memo.size + 1) * nUsers > this.memoValues) this.memo.clear();
      per = new Float64Array(nUsers).fill(NaN);
      this.memo.set(key, per);
    }
    const w = Float64Array.from(nz, (q) => weights[q]);
    const cols = Int32Array.from(nz);
    let total = 0;
    for (let x = 0; x < users.length; x++) {
      const u = users[x];
      if (idcg[u] === 0) continue;
      let v = per[u];
      if (v !== v) v = per[u] = this.userNdcg(u, on, w, cols);
      total += v;
    }
    return users.length > 0 ? total / users.length : 0;
  }

  /** NDCG@k of packed user u with the non-zero weights `w` of components `cols` (bit mask `on`). */
  private userNdcg(u: number, on: number, w: Float64Array, cols: Int32Array): number {
    const { top, topRel, discount } = this;
    const { m, k, scores, mask, relevant, start, idcg } = this.p;
    const nw = w.length;
    let size = 0;
    for (let r = start[u]; r < start[u + 1]; r++) {
      if ((mask[r] & on) === 0) continue;
      const o = r * m;
      let s = 0;
      for (let j = 0; j < nw; j++) s += w[j] * scores[o + cols[j]];
      const f = Math.fround(s);
      if (size === k && !(f > top[k - 1])) continue;
      let pos = size < k ? size++ : k - 1;
      while (pos > 0 && f > top[pos - 1]) {
        top[pos] = top[pos - 1];
        topRel[pos] = topRel[pos - 1];
        pos--;
      }
      top[pos] = f;
      topRel[pos] = relevant[r];
    }
    let dcg = 0;
    for (let i = 0; i < size; i++) if (topRel[i]) dcg += discount[i];
    return dcg / idcg[u];
  }
}

/**
 * The rows of a user's candidates that can be among the best k for some non-negative weights.
 * A row listed by one component q only scores w_q * s_q. Another row r' listed by q scores at
 * least as much for every weight vector when s'_q >= s_q (the other terms are >= 0, and float
 * addition and f32 rounding are monotone), and is a candidate whenever r is; it ranks ahead of r
 * when its item is lower (ties go to the lower item), or when s'_q exceeds s_q by more than f32
 * rounding can hide (`clearlyAbove`). A row with k such rows ahead can never be in the top k and
 * is dropped. Rows listed by several components are kept; so is every row of a user with a
 * negative score.
 */
function reachable(c: UserCandidates, m: number, k: number): Uint32Array {
  const n = c.items.length;
  for (let t = 0; t < c.scores.length; t++) if (!(c.scores[t] >= 0)) return Uint32Array.from({ length: n }, (_, i) => i);
  const drop = new Uint8Array(n);
  // Fenwick trees over rows (rows are in ascending item order): rows at least as good, rows clearly better.
  const atLeast = new Uint32Array(n + 1);
  const above = new Uint32Array(n + 1);
  const add = (tree: Uint32Array, r: number) => {
    for (let i = r + 1; i <= n; i += i & -i) tree[i]++;
  };
  const lower = (tree: Uint32Array, r: number) => {
    let x = 0;
    for (let i = r; i > 0; i -= i & -i) x += tree[i];
    return x;
  };
  for (let q = 0; q < m; q++) {
    const listed: number[] = [];
    for (let r = 0; r < n; r++) if (c.listed[r * m + q]) listed.push(r);
    if (listed.length <= k) continue;
    const score = (r: number) => c.scores[r * m + q];
    listed.sort((a, b) => score(b) - score(a) || a - b);
    atLeast.fill(0);
    above.fill(0);
    let nAbove = 0;
    // Sweep from the best score down; rows with an equal score are inserted before any is counted.
    for (let g = 0; g < listed.length; ) {
      let e = g;
      const s = score(listed[g]);
      while (e < listed.length && score(listed[e]) === s) e++;
      for (let x = g; x < e; x++) add(atLeast, listed[x]);
      const bar = clearlyAbove(s);
      while (nAbove < listed.length && score(listed[nAbove]) >= bar) add(above, listed[nAbove++]);
      for (let x = g; x < e; x++) {
        const r = listed[x];
        let single = true;
        for (let p = 0; p < m && single; p++) if (p !== q && c.listed[r * m + p]) single = false;
        if (!single) continue;
        // Lower rows at least as good, plus higher rows clearly better.
        const ahead = lower(atLeast, r) + (nAbove - lower(above, r));
        if (ahead >= k) drop[r] = 1;
      }
      g = e;
    }
  }
  let kept = 0;
  for (let r = 0; r < n; r++) if (!drop[r]) kept++;
  const out = new Uint32Array(kept);
  for (let r = 0, o = 0; r < n; r++) if (!drop[r]) out[o++] = r;
  return out;
}

/**
 * A score whose product with any weight the search uses (>= 1e-6) rounds to f32 strictly above
 * that weight times `s`: a relative gap of 2^-20 is at least eight f32 units in the last place,
 * and an absolute gap of 1e-30 keeps tiny and zero scores apart (1e-36 after the weight, far above
 * the f32 subnormal spacing).
 */
function clearlyAbove(s: number): number {
  return Math.max(s * (1 + 2 ** -20), s + 1e-30);
}

/** Indices 0..n-1. */
function range(n: number): Uint32Array {
  return Uint32Array.from({ length: n }, (_, i) => i);
}

/**
 * Weights maximising validation NDCG@k: start from the best single component, then coordinate
 * ascent over `STEPS` (three passes). Deterministic: ties keep the earlier (smaller) choice.
 */
export function searchWeights(cands: readonly UserCandidates[], relevant: readonly Set<number>[], nComponents: number, k: number): { weights: Float64Array; ndcg: number } {
  return search(new Evaluator(packCandidates(cands, relevant, nComponents, k)), range(cands.length));
}

function search(ev: Evaluator, users: ArrayLike<number>): { weights: Float64Array; ndcg: number } {
  const nComponents = ev.p.m;
  let best = new Float64Array(nComponents);
  let bestScore = -1;
  for (let m = 0; m < nComponents; m++) {
    const w = new Float64Array(nComponents);
    w[m] = 1;
    const s = ev.meanNdcg(w, users);
    if (s > bestScore) {
      bestScore = s;
      best = w;
    }
  }
  for (let pass = 0; pass < 3; pass++) {
    let improved = false;
    for (let m = 0; m < nComponents; m++) {
      for (const v of STEPS) {
        if (v === best[m]) continue;
        const w = best.slice();
        w[m] = v;
        if (w.every((x) => x === 0)) continue;
        const s = ev.meanNdcg(w, users);
        if (s > bestScore + 1e-12) {
          bestScore = s;
          best = w;
          improved = true;
        }
      }
    }
    if (!improved) break;
  }
  return { weights: best, ndcg: bestScore };
}

/** Mean NDCG@k of the users' fused lists with `weights`. */
export function fusedNdcg(cands: readonly UserCandidates[], relevant: readonly Set<number>[], weights: ArrayLike<number>, k: number): number {
  if (cands.length === 0) return 0;
  return new Evaluator(packCandidates(cands, relevant, weights.length, k)).meanNdcg(weights, range(cands.length));
}

/**
 * The bootstrap resamples of a bagged search of `nUsers` users: `rounds` draws of at most 1,000
 * users each (keeping the search time bounded on large validation sets), or undefined for a
 * single search on every user (`rounds` <= 1).
 */
export function drawResamples(nUsers: number, rounds: number, rng: Rng): Uint32Array[] | undefined {
  if (rounds <= 1) return undefined;
  const size = Math.min(nUsers, MAX_RESAMPLE);
  return Array.from({ length: rounds }, () => Uint32Array.from({ length: size }, () => rng.int(nUsers)));
}

/**
 * A bagged search on packed candidates: `searchWeights` on each resample, each weight vector
 * scaled to sum 1, then averaged and rounded to 1e-6 (readable, and exactly reproducible in the
 * model file); without resamples, one search on every user. Reports the NDCG@k of the result on
 * every user. Pure: the pool's workers run it too (`weightSearch`).
 */
export function baggedSearch(p: PackedCandidates, resamples: readonly Uint32Array[] | undefined): { weights: number[]; ndcg: number } {
  const ev = new Evaluator(p);
  const everyone = range(p.nUsers);
  if (!resamples) {
    const r = search(ev, everyone);
    return { weights: Array.from(r.weights), ndcg: r.ndcg };
  }
  const sum = new Float64Array(p.m);
  for (const pick of resamples) {
    const w = search(ev, pick).weights;
    const total = w.reduce((a, b) => a + b, 0);
    for (let m = 0; m < p.m; m++) sum[m] += w[m] / total / resamples.length;
  }
  const weights = Array.from(sum, (x) => Math.round(x * 1e6) / 1e6);
  return { weights, ndcg: ev.meanNdcg(weights, everyone) };
}

/**
 * Bagged weights: `searchWeights` on `rounds` seeded bootstrap resamples of the validation users
 * (each of at most 1,000 users), each weight vector scaled to sum 1, then averaged. With a few
 * hundred validation users a single search chases noise; the average keeps what most resamples
 * agree on. Reports the NDCG@k of the averaged weights on the full validation set.
 */
export function baggedWeights(
  cands: readonly UserCandidates[],
  relevant: readonly Set<number>[],
  nComponents: number,
  k: number,
  rounds: number,
  rng: Rng,
): { weights: number[]; ndcg: number } {
  return baggedSearch(packCandidates(cands, relevant, nComponents, k), drawResamples(cands.length, rounds, rng));
}
