/**
 * Random baseline: a seeded random ranking per user. The stream of each (user, domain) derives from
 * the seed alone, so results do not depend on batch order or pool size.
 */
import type { Dataset } from '../data/dataset.js';
import { NotFittedError } from '../errors.js';
import { Rng } from '../random.js';
import { sortedHas } from './popularity.js';
import { type FitOptions, type IndexModel, type RankOptions, RankedLists } from './types.js';

/** Uniformly random ranking over the domain's training items. */
export class RandomModel implements IndexModel {
  readonly name = 'random' as const;
  private data: Dataset | undefined;
  private seed = 0;

  async fit(data: Dataset, options: FitOptions = {}): Promise<void> {
    this.seed = options.seed ?? 0;
    this.data = data;
  }

  async rank(users: Uint32Array, domain: number, k: number, options: RankOptions = {}): Promise<RankedLists> {
    const data = this.data;
    if (!data) throw new NotFittedError('random: call fit() first');
    const filterSeen = options.filterSeen ?? true;
    const n = data.nItems(domain);
    const m = data.matrix(domain);
    const out = RankedLists.empty(users.length, k);
    const perm = new Uint32Array(n);
    for (let i = 0; i < users.length; i++) {
      const u = users[i];
      const rng = Rng.derive(this.seed, `random:${domain}:${u}`);
      const seen = filterSeen && u < m.nRows ? m.indices.subarray(m.indptr[u], m.indptr[u + 1]) : undefined;
      for (let j = 0; j < n; j++) perm[j] = j;
      // Partial Fisher-Yates: draw until k unseen items are placed.
      let c = 0;
      for (let j = 0; j < n && c < k; j++) {
        const pick = j + rng.int(n - j);
        const t = perm[j];
        perm[j] = perm[pick];
        perm[pick] = t;
        if (seen && sortedHas(seen, perm[j])) continue;
        out.items[i * k + c] = perm[j];
        out.scores[i * k + c] = 1 - (c + 1) / (k + 1);
        c++;
      }
      out.count[i] = c;
    }
    return out;
  }
}
