/**
 * Random baseline: a seeded random ranking per user. Each (user, domain) stream derives from the
 * seed alone, so results do not depend on batch order or pool size.
 */
import type { ModelFileContent } from '../io/modelfile.js';
import type { TopKRows } from '../kernels/types.js';
import { MODEL_SCHEMAS } from '../options/index.js';
import { Rng } from '../random.js';
import { Recommender } from '../engine/facade.js';
import type { ScoreFilter } from '../engine/exec.js';
import type { UserBatch } from '../engine/rows.js';
import { InThreadScorer, type ModelDefinition, type SavedState } from '../engine/scorer.js';
import type { ModelOptions } from '../engine/types.js';
import { sortedHas } from './sparse.js';

/** Uniformly random ranking over each domain's training items. Random scores are draws, not evidence: nothing to explain. */
export class RandomScorer extends InThreadScorer {
  constructor(
    private readonly nItems: readonly number[],
    private readonly seed: number,
  ) {
    super();
  }

  score(batch: UserBatch, d: number, n: number, filter: ScoreFilter): TopKRows {
    const nItems = this.nItems[d];
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

  exportState(): SavedState {
    return { meta: {}, sections: {} };
  }
}

/** The random baseline type. */
export const RANDOM: ModelDefinition<RandomScorer> = {
  name: 'random',
  schema: MODEL_SCHEMAS.random,
  capabilities: { similarItems: false, similarUsers: false, explain: false },
  async fit(ctx) {
    return new RandomScorer(ctx.data.nItems, ctx.seed);
  },
  restore(env, options) {
    return new RandomScorer(env.data.nItems, options.seed as number);
  },
};

/** Uniformly random ranking over the domain's training items. */
export class RandomModel extends Recommender<RandomScorer> {
  /** @throws {OptionTypeError|OptionRangeError} for a bad option. */
  constructor(options: ModelOptions = {}) {
    super(RANDOM, options);
  }

  /** Load a random-baseline model file. @throws {ModelFormatError} {StorageError} */
  static async load(path: string, options: ModelOptions = {}, content?: ModelFileContent): Promise<RandomModel> {
    return new RandomModel(options).loadFrom(path, content);
  }
}
