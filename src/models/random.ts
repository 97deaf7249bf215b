/**
 * Random baseline: a seeded random ranking per user. Each (user, domain) stream derives from the
 * seed alone, so results do not depend on batch order or pool size.
 */
import type { Dataset } from '../data/dataset.js';
import { NotSupportedError } from '../errors.js';
import type { ModelFileContent, SectionArray } from '../io/modelfile.js';
import type { TopKRows } from '../kernels/types.js';
import { Rng } from '../random.js';
import { Recommender, type Contribution, type ModelOptions, type ScoreFilter, type UserBatch } from './base.js';
import { sortedHas } from './popularity.js';
import type { FitOptions } from './types.js';

/** Uniformly random ranking over the domain's training items. */
export class RandomModel extends Recommender {
  readonly name = 'random' as const;

  constructor(options: ModelOptions = {}) {
    super(options);
  }

  /** Load a random-baseline model file. */
  static async load(path: string, options: ModelOptions = {}, content?: ModelFileContent): Promise<RandomModel> {
    return new RandomModel(options).loadInto(path, content);
  }

  protected async fitModel(_data: Dataset, _options: FitOptions): Promise<void> {}

  protected scoreBatch(batch: UserBatch, d: number, n: number, filter: ScoreFilter): TopKRows {
    const nItems = this.fitted().nItems[d];
    const rows = batch.rows(d);
    const m = batch.users.length;
    const out: TopKRows = { k: n, counts: new Uint32Array(m), indices: new Uint32Array(m * n), scores: new Float32Array(m * n) };
    const perm = new Uint32Array(nItems);
    for (let b = 0; b < m; b++) {
      const rng = Rng.derive(this.seed, `random:${d}:${batch.users[b]}`);
      const seen = filter.filterSeen ? rows.indices.subarray(rows.indptr[b], rows.indptr[b + 1]) : undefined;
      for (let j = 0; j < nItems; j++) perm[j] = j;
      // Partial Fisher-Yates: draw until n admissible items are placed.
      let c = 0;
      for (let j = 0; j < nItems && c < n; j++) {
        const pick = j + rng.int(nItems - j);
        const t = perm[j];
        perm[j] = perm[pick];
        perm[pick] = t;
        const it = perm[j];
        if ((seen && sortedHas(seen, it)) || (filter.allowed && !filter.allowed[it])) continue;
        out.indices[b * n + c] = it;
        out.scores[b * n + c] = 1 - (c + 1) / (n + 1);
        c++;
      }
      out.counts[b] = c;
    }
    return out;
  }

  protected explainScore(): { score: number; contributions: Contribution[] } {
    throw new NotSupportedError('random scores are draws, not evidence: there is nothing to explain');
  }

  protected exportState(): { meta: Record<string, unknown>; sections: Record<string, SectionArray> } {
    return { meta: {}, sections: {} };
  }

  protected importState(): void {}
}
