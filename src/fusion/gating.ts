/**
 * Per-user gating: each component model's candidate list is normalised per user (scores divided by
 * the list's largest score, or min-max scaled when a list has negative scores) and the fused score
 * is a weighted sum whose weights depend on the user's bucket (how much target and source history
 * the user has). Weights are chosen on validation users by coordinate ascent on NDCG@10.
 */
import type { TopKRows } from '../kernels/types.js';
import { ndcg } from '../eval/metrics.js';

/** A user's bucket: target history x source history. */
export type Bucket = 'cold' | 'cold-nosrc' | 'sparse' | 'warm';

/** Buckets in a fixed order. */
export const BUCKETS: readonly Bucket[] = ['cold', 'cold-nosrc', 'sparse', 'warm'];

/** Bucket of a user with `targetRows` rows in the target and `sourceRows` in its sources. */
export function bucketOf(targetRows: number, sourceRows: number): Bucket {
  if (targetRows === 0) return sourceRows > 0 ? 'cold' : 'cold-nosrc';
  return targetRows < 5 ? 'sparse' : 'warm';
}

/** Normalised candidate lists of one user from every component: parallel arrays per component. */
export interface UserCandidates {
  items: Uint32Array[];
  scores: Float32Array[];
}

/** Split component slots into per-user normalised lists (scores scaled into [0, 1]). */
export function normalisedCandidates(lists: readonly TopKRows[], nUsers: number): UserCandidates[] {
  const out: UserCandidates[] = [];
  for (let b = 0; b < nUsers; b++) {
    const items: Uint32Array[] = [];
    const scores: Float32Array[] = [];
    for (const l of lists) {
      const s = b * l.k;
      const n = l.counts[b];
      const it = l.indices.subarray(s, s + n);
      const raw = l.scores.subarray(s, s + n);
      const sc = new Float32Array(n);
      if (n > 0) {
        let max = -Infinity;
        let min = Infinity;
        for (let t = 0; t < n; t++) {
          if (raw[t] > max) max = raw[t];
          if (raw[t] < min) min = raw[t];
        }
        const lo = min >= 0 ? 0 : min;
        const span = max - lo;
        for (let t = 0; t < n; t++) sc[t] = span > 0 ? (raw[t] - lo) / span : 1;
      }
      items.push(it);
      scores.push(sc);
    }
    out.push({ items, scores });
  }
  return out;
}

/**
 * Fuse one user's candidates with `weights` into the top `n` (ties by the lower item index).
 * `scratch` is a zeroed Float32Array of the domain's item count; it is left zeroed.
 */
export function fuseUser(c: UserCandidates, weights: ArrayLike<number>, n: number, scratch: Float32Array, boost?: Float32Array): { items: Uint32Array; scores: Float32Array } {
  const touched: number[] = [];
  for (let m = 0; m < c.items.length; m++) {
    const w = weights[m];
    if (w === 0) continue;
    const it = c.items[m];
    const sc = c.scores[m];
    for (let t = 0; t < it.length; t++) {
      const i = it[t];
      if (scratch[i] === 0) touched.push(i);
      // A tiny floor keeps a zero-score candidate distinguishable from "untouched".
      scratch[i] += w * sc[t] + 1e-12;
    }
  }
  if (boost) for (const i of touched) scratch[i] *= boost[i];
  touched.sort((a, b) => scratch[b] - scratch[a] || a - b);
  const m = Math.min(n, touched.length);
  const items = new Uint32Array(m);
  const scores = new Float32Array(m);
  for (let t = 0; t < m; t++) {
    items[t] = touched[t];
    scores[t] = scratch[touched[t]];
  }
  for (const i of touched) scratch[i] = 0;
  return { items, scores };
}

/** Mean NDCG@k of fused lists for validation users. */
export function fusedNdcg(cands: readonly UserCandidates[], relevant: readonly Set<number>[], weights: ArrayLike<number>, k: number, scratch: Float32Array, boost?: Float32Array): number {
  if (cands.length === 0) return 0;
  let s = 0;
  for (let u = 0; u < cands.length; u++) s += ndcg(fuseUser(cands[u], weights, k, scratch, boost).items, relevant[u], k);
  return s / cands.length;
}

/** Relative weight values coordinate ascent tries for each component. */
const STEPS = [0, 0.1, 0.25, 0.5, 1, 2, 4];

/**
 * Weights maximising validation NDCG@k: start from the best single component, then coordinate
 * ascent over `STEPS` (three passes). Deterministic: ties keep the earlier (smaller) choice.
 */
export function searchWeights(cands: readonly UserCandidates[], relevant: readonly Set<number>[], nComponents: number, k: number, scratch: Float32Array): { weights: Float64Array; ndcg: number } {
  let best = new Float64Array(nComponents);
  let bestScore = -1;
  for (let m = 0; m < nComponents; m++) {
    const w = new Float64Array(nComponents);
    w[m] = 1;
    const s = fusedNdcg(cands, relevant, w, k, scratch);
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
        const s = fusedNdcg(cands, relevant, w, k, scratch);
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
