/**
 * Ranking and rating metrics as pure functions (their definitions are in the README, "Command line"). A ranked list holds item
 * indices, best first; `relevant` holds the user's test items. Relevant items that cannot be ranked
 * (unknown to training) stay in `relevant` with ids that never occur in a ranking (e.g. negative),
 * so they count in |relevant| and can never be hit.
 */

/** Number of relevant items in the first `k` positions. */
export function hits(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  const n = Math.min(k, ranked.length);
  let h = 0;
  for (let i = 0; i < n; i++) if (relevant.has(ranked[i])) h++;
  return h;
}

/** HR@K: 1 when at least one relevant item is in the top K, else 0. */
export function hitRate(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  return hits(ranked, relevant, k) > 0 ? 1 : 0;
}

/** Recall@K: hits in the top K / |relevant| (0 when nothing is relevant). */
export function recall(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  return relevant.size === 0 ? 0 : hits(ranked, relevant, k) / relevant.size;
}

/** Precision@K: hits in the top K / K. */
export function precision(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  return k <= 0 ? 0 : hits(ranked, relevant, k) / k;
}

/** NDCG@K with binary gains; the ideal DCG places min(K, |relevant|) hits first. */
export function ndcg(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  const n = Math.min(k, ranked.length);
  let dcg = 0;
  for (let i = 0; i < n; i++) if (relevant.has(ranked[i])) dcg += 1 / Math.log2(i + 2);
  const m = Math.min(k, relevant.size);
  let idcg = 0;
  for (let i = 0; i < m; i++) idcg += 1 / Math.log2(i + 2);
  return idcg === 0 ? 0 : dcg / idcg;
}

/** MRR@K: 1 / rank of the first relevant item in the top K, 0 if there is none. */
export function reciprocalRank(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  const n = Math.min(k, ranked.length);
  for (let i = 0; i < n; i++) if (relevant.has(ranked[i])) return 1 / (i + 1);
  return 0;
}

/** AP@K: the mean of precision@i over the positions i <= K that hold a relevant item, divided by min(K, |relevant|). */
export function averagePrecision(ranked: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  const n = Math.min(k, ranked.length);
  let h = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    if (relevant.has(ranked[i])) {
      h++;
      sum += h / (i + 1);
    }
  }
  const denom = Math.min(k, relevant.size);
  return denom === 0 ? 0 : sum / denom;
}

/** Catalogue coverage: distinct items in all lists (first K of each) / catalogue size. */
export function coverage(lists: Iterable<ArrayLike<number>>, nItems: number, k: number): number {
  if (nItems <= 0) return 0;
  const seen = new Uint8Array(nItems);
  let distinct = 0;
  for (const l of lists) {
    const n = Math.min(k, l.length);
    for (let i = 0; i < n; i++) {
      const it = l[i];
      if (it >= 0 && it < nItems && !seen[it]) {
        seen[it] = 1;
        distinct++;
      }
    }
  }
  return distinct / nItems;
}

/** Long-tail share: fraction of recommended slots (first K of each list) holding a long-tail item. */
export function longTailShare(lists: Iterable<ArrayLike<number>>, isLongTail: (item: number) => boolean, k: number): number {
  let slots = 0;
  let tail = 0;
  for (const l of lists) {
    const n = Math.min(k, l.length);
    for (let i = 0; i < n; i++) {
      slots++;
      if (isLongTail(l[i])) tail++;
    }
  }
  return slots === 0 ? 0 : tail / slots;
}

/** Mean absolute error. @throws {RangeError} on length mismatch or empty input. */
export function mae(predicted: ArrayLike<number>, actual: ArrayLike<number>): number {
  checkPairs(predicted, actual);
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += Math.abs(predicted[i] - actual[i]);
  return s / actual.length;
}

/** Root mean squared error. @throws {RangeError} on length mismatch or empty input. */
export function rmse(predicted: ArrayLike<number>, actual: ArrayLike<number>): number {
  checkPairs(predicted, actual);
  let s = 0;
  for (let i = 0; i < actual.length; i++) s += (predicted[i] - actual[i]) ** 2;
  return Math.sqrt(s / actual.length);
}

function checkPairs(p: ArrayLike<number>, a: ArrayLike<number>): void {
  if (p.length !== a.length) throw new RangeError(`predicted and actual differ in length (${p.length} vs ${a.length})`);
  if (a.length === 0) throw new RangeError('no ratings to compare');
}
