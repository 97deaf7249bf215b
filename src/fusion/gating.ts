/**
 * Per-user gating: each component model's candidate scores are put on a common scale and the fused
 * score is a weighted sum whose weights depend on the user's bucket (how much target and source
 * history the user has). Weights are chosen on validation users by coordinate ascent on NDCG@10.
 *
 * Scales: a component whose validation lists had no negative score is divided by one number per
 * target, the mean top score of those lists (`globalScales`), so a user for whom the component is
 * confident (a high top score) keeps that confidence: such a user's scaled scores can exceed 1,
 * and a negative score met later stays negative (divided like the others). A component whose
 * validation lists had a negative score, or any component when there is no validation data, is
 * scaled per user instead: divided by the list's largest score, or min-max scaled when the list
 * has negative scores.
 */
import type { TopKRows } from '../kernels/types.js';

/** A user's bucket: target history x source history. */
export type Bucket = 'cold' | 'cold-nosrc' | 'sparse' | 'warm';

/** Buckets in a fixed order. */
export const BUCKETS: readonly Bucket[] = ['cold', 'cold-nosrc', 'sparse', 'warm'];

/** Bucket of a user with `targetRows` rows in the target and `sourceRows` in its sources. */
export function bucketOf(targetRows: number, sourceRows: number): Bucket {
  if (targetRows === 0) return sourceRows > 0 ? 'cold' : 'cold-nosrc';
  return targetRows < 5 ? 'sparse' : 'warm';
}

/**
 * One user's candidates from every component, as a union: `items` sorted ascending, and for each
 * item one normalised score per component (`scores[r * m + c]`, 0 where the component did not
 * list it; `listed[r * m + c]` says whether it did).
 */
export interface UserCandidates {
  m: number;
  items: Uint32Array;
  scores: Float32Array;
  listed: Uint8Array;
}

/**
 * Per component: the mean over users of the list's top score when every listed score is >= 0 (and
 * some user has a positive top score), else 0, which means "scale per user".
 */
export function globalScales(lists: readonly TopKRows[], nUsers: number): number[] {
  return lists.map((l) => {
    let sum = 0;
    let users = 0;
    for (let b = 0; b < nUsers; b++) {
      const n = l.counts[b];
      if (n === 0) continue;
      let max = -Infinity;
      for (let t = 0; t < n; t++) {
        const x = l.scores[b * l.k + t];
        if (!(x >= 0)) return 0;
        if (x > max) max = x;
      }
      sum += max;
      users++;
    }
    const mean = users > 0 ? sum / users : 0;
    return mean > 0 && Number.isFinite(mean) ? mean : 0;
  });
}

/** The item -> row scratch of `normalisedCandidates`: all -1 between calls, grown on demand. Owned by one scorer (or fit). */
export class CandidateScratch {
  row = new Int32Array(1024).fill(-1);
}

/**
 * Per-user candidate unions from component slots. Component c's scores are divided by `scales[c]`
 * when it is > 0, else scaled into [0, 1] per user (divided by the list's largest score, or min-max
 * scaled when the list has negative scores). Without `scales` every component is scaled per user.
 */
export function normalisedCandidates(lists: readonly TopKRows[], nUsers: number, scales: ArrayLike<number> | undefined, scratch: CandidateScratch): UserCandidates[] {
  const m = lists.length;
  const out: UserCandidates[] = [];
  // Row of each item in the current user's union: a dense scratch indexed by item (-1: not in the
  // union), reset after each user, so no per-item map is built.
  let row = scratch.row;
  let total = 0;
  for (const l of lists) total += l.k;
  const union = new Uint32Array(total);
  for (let b = 0; b < nUsers; b++) {
    let size = 0;
    for (const l of lists) {
      const s = b * l.k;
      for (let t = 0; t < l.counts[b]; t++) {
        const it = l.indices[s + t];
        if (it >= row.length) {
          const grown = new Int32Array(Math.max(it + 1, row.length * 2)).fill(-1);
          grown.set(row);
          row = scratch.row = grown;
        }
        if (row[it] < 0) {
          row[it] = 0;
          union[size++] = it;
        }
      }
    }
    const items = union.slice(0, size).sort();
    for (let r = 0; r < size; r++) row[items[r]] = r;
    const scores = new Float32Array(size * m);
    const listed = new Uint8Array(size * m);
    for (let c = 0; c < m; c++) {
      const l = lists[c];
      const s = b * l.k;
      const n = l.counts[b];
      const scale = scales?.[c] ?? 0;
      // A positive scale divides every score; otherwise non-negative lists are divided by their
      // maximum and lists with negative scores are min-max scaled, per user.
      let lo = 0;
      let span = scale;
      if (!(scale > 0)) {
        let max = -Infinity;
        let min = Infinity;
        for (let t = 0; t < n; t++) {
          const x = l.scores[s + t];
          if (x > max) max = x;
          if (x < min) min = x;
        }
        lo = min >= 0 ? 0 : min;
        span = max - lo;
      }
      for (let t = 0; t < n; t++) {
        const r = row[l.indices[s + t]];
        scores[r * m + c] = span > 0 ? (l.scores[s + t] - lo) / span : 1;
        listed[r * m + c] = 1;
      }
    }
    for (let r = 0; r < size; r++) row[items[r]] = -1;
    out.push({ m, items, scores, listed });
  }
  return out;
}

/**
 * Fuse one user's candidates with `weights` into the top `n`, best first, ties by the lower item
 * index. An item is a candidate when a component with a non-zero weight listed it.
 */
export function fuseUser(c: UserCandidates, weights: ArrayLike<number>, n: number, boost?: Float32Array): { items: Uint32Array; scores: Float32Array } {
  const { m, items, scores, listed } = c;
  // Bounded selection: keep the best n in arrays sorted best first (items arrive in ascending order,
  // so an equal score never displaces an earlier, lower item).
  const top = Math.min(n, items.length);
  const bestItems = new Uint32Array(top);
  const bestScores = new Float32Array(top);
  let size = 0;
  for (let r = 0; r < items.length; r++) {
    let s = 0;
    let any = false;
    for (let q = 0; q < m; q++) {
      const w = weights[q];
      if (w === 0 || !listed[r * m + q]) continue;
      any = true;
      s += w * scores[r * m + q];
    }
    if (!any) continue;
    if (boost) s *= boost[items[r]];
    const f = Math.fround(s);
    if (size === top && !(f > bestScores[top - 1])) continue;
    let pos = size < top ? size++ : top - 1;
    while (pos > 0 && f > bestScores[pos - 1]) {
      bestScores[pos] = bestScores[pos - 1];
      bestItems[pos] = bestItems[pos - 1];
      pos--;
    }
    bestScores[pos] = f;
    bestItems[pos] = items[r];
  }
  return { items: bestItems.subarray(0, size), scores: bestScores.subarray(0, size) };
}
