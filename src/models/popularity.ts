/**
 * Popularity: every user gets the domain's most popular training items, ranked by the sum of their
 * interaction weights (behaviour weights and time decay included; the number of interactions on
 * unit-weight data). Ties break by the lower item index.
 */
import type { Dataset } from '../data/dataset.js';
import { NotFittedError } from '../errors.js';
import { getKernels } from '../kernels/index.js';
import { type FitOptions, type IndexModel, type RankOptions, RankedLists } from './types.js';

/** Popularity per domain. */
export class Popularity implements IndexModel {
  readonly name = 'popularity' as const;
  private data: Dataset | undefined;
  /** Per domain: items by decreasing popularity, and their scores. */
  private order: Uint32Array[] = [];
  private orderScores: Float32Array[] = [];

  async fit(data: Dataset, _options: FitOptions = {}): Promise<void> {
    const kernels = getKernels();
    this.order = [];
    this.orderScores = [];
    for (let d = 0; d < data.nDomains; d++) {
      const m = data.matrix(d);
      const pop = new Float32Array(m.nCols);
      for (let q = 0; q < m.indices.length; q++) pop[m.indices[q]] += m.data[q];
      const top = kernels.topk(pop, m.nCols);
      this.order.push(top.indices);
      this.orderScores.push(top.scores);
    }
    this.data = data;
  }

  /** Popularity scores of domain `d`'s items, by item index. */
  scores(d: number): Float32Array {
    if (!this.data) throw new NotFittedError('popularity: call fit() first');
    const out = new Float32Array(this.data.nItems(d));
    const o = this.order[d] ?? new Uint32Array(0);
    for (let r = 0; r < o.length; r++) out[o[r]] = this.orderScores[d][r];
    return out;
  }

  async rank(users: Uint32Array, domain: number, k: number, options: RankOptions = {}): Promise<RankedLists> {
    const data = this.data;
    if (!data) throw new NotFittedError('popularity: call fit() first');
    const filterSeen = options.filterSeen ?? true;
    const out = RankedLists.empty(users.length, k);
    const order = this.order[domain] ?? new Uint32Array(0);
    const scores = this.orderScores[domain] ?? new Float32Array(0);
    const m = data.matrix(domain);
    for (let i = 0; i < users.length; i++) {
      const u = users[i];
      const seen = filterSeen && u < m.nRows ? m.indices.subarray(m.indptr[u], m.indptr[u + 1]) : undefined;
      let c = 0;
      // Walk the global order, skipping the user's seen items (a sorted row: binary search).
      for (let r = 0; r < order.length && c < k; r++) {
        if (seen && seen.length > 0 && sortedHas(seen, order[r])) continue;
        out.items[i * k + c] = order[r];
        out.scores[i * k + c] = scores[r];
        c++;
      }
      out.count[i] = c;
    }
    return out;
  }
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
