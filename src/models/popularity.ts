/**
 * Popularity: every user gets the domain's most popular training items, ranked by the sum of their
 * interaction weights (behaviour weights and time decay included, so on unit-weight data the
 * number of interactions). Ties break by the lower item index.
 */
import { columnSums } from '../data/matrix.js';
import { ModelFormatError } from '../errors.js';
import type { ModelFileContent } from '../io/modelfile.js';
import { getKernels } from '../kernels/index.js';
import type { BackendName, TopKRows } from '../kernels/types.js';
import { MODEL_SCHEMAS } from '../options/index.js';
import { Recommender } from '../engine/facade.js';
import type { ScoreFilter } from '../engine/exec.js';
import type { UserBatch } from '../engine/rows.js';
import { InThreadScorer, type ModelDefinition, type SavedState, type ScoreParts } from '../engine/scorer.js';
import type { ModelOptions } from '../engine/types.js';
import { livePopularity } from './knn-live.js';
import { sortedHas } from './sparse.js';

/** Popularity per domain: scores by item, and items by decreasing popularity. */
export class PopularityScorer extends InThreadScorer {
  private readonly order: Uint32Array[];

  constructor(
    readonly pop: Float32Array[],
    backend: BackendName | 'auto',
  ) {
    super();
    const kernels = getKernels(backend);
    this.order = pop.map((p) => kernels.topk(p, p.length).indices);
  }

  score(batch: UserBatch, d: number, n: number, filter: ScoreFilter): TopKRows {
    const order = this.order[d];
    const pop = this.pop[d];
    const rows = batch.rows(d);
    const m = batch.users.length;
    const out: TopKRows = { k: n, counts: new Uint32Array(m), indices: new Uint32Array(m * n), scores: new Float32Array(m * n) };
    for (let b = 0; b < m; b++) {
      const seen = filter.filterSeen ? rows.indices.subarray(rows.indptr[b], rows.indptr[b + 1]) : undefined;
      let c = 0;
      // Walk the global order, skipping the user's seen items (sorted row: binary search) and filtered ones.
      for (let r = 0; r < order.length && c < n; r++) {
        const it = order[r];
        if (filter.allowed && !filter.allowed[it]) continue;
        if (seen && seen.length > 0 && sortedHas(seen, it)) continue;
        out.indices[b * n + c] = it;
        out.scores[b * n + c] = pop[it];
        c++;
      }
      out.counts[b] = c;
    }
    return out;
  }

  explain(_batch: UserBatch, d: number, item: number): ScoreParts {
    const score = this.pop[d][item];
    return { score, contributions: [{ kind: 'popularity', id: '', weight: score }] };
  }

  exportState(): SavedState {
    const sections: SavedState['sections'] = {};
    this.pop.forEach((p, d) => (sections[`pop.${d}`] = p));
    return { meta: { domains: this.pop.length }, sections };
  }
}

/** The popularity model type. */
export const POPULARITY: ModelDefinition<PopularityScorer> = {
  name: 'popularity',
  schema: MODEL_SCHEMAS.popularity,
  capabilities: { similarItems: false, similarUsers: false, explain: true },
  async fit(ctx) {
    return new PopularityScorer(ctx.data.matrices.map((m) => Float32Array.from(columnSums(m))), ctx.backend);
  },
  restore(env, _options, { meta, sections }, label) {
    const pop: Float32Array[] = [];
    for (let d = 0; d < env.data.nItems.length; d++) {
      const p = sections[`pop.${d}`];
      if (!(p instanceof Float32Array) || p.length !== env.data.nItems[d]) throw new ModelFormatError(`${label}: popularity of domain ${d} is missing or has the wrong size`);
      pop.push(p);
    }
    if (meta.domains !== pop.length) throw new ModelFormatError(`${label}: domain count does not match`);
    return new PopularityScorer(pop, env.backend);
  },
  async live(_scorer, change) {
    return new PopularityScorer(livePopularity(change), change.backend);
  },
};

/** Popularity per domain. */
export class Popularity extends Recommender<PopularityScorer> {
  /** @throws {OptionTypeError|OptionRangeError} for a bad option. */
  constructor(options: ModelOptions = {}) {
    super(POPULARITY, options);
  }

  /** Load a popularity model file. @throws {ModelFormatError} {StorageError} */
  static async load(path: string, options: ModelOptions = {}, content?: ModelFileContent): Promise<Popularity> {
    return new Popularity(options).loadFrom(path, content);
  }

  /** Popularity scores of a domain's items, by item index (a copy). @throws {UnknownIdError} */
  scores(domain?: string): Float32Array {
    return this.scorer().pop[this.domainOf(domain)].slice();
  }
}
