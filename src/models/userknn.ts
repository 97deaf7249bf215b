/**
 * User-based collaborative filtering (user kNN): r_ui = sum_v s_uv r_vi / sum_v s_uv over the
 * `neighbors` users v most similar to u (cosine on their rows in the domain). Neighbours are found
 * at query time by the cosine kernel (the user's row against the item -> users index), so behaviour
 * folded in after fitting counts at once.
 */
import type { ModelFileContent } from '../io/modelfile.js';
import { rowNorms, transposeCsr } from '../kernels/csr.js';
import type { BackendName, Csr, Neighbours, TopKRows } from '../kernels/types.js';
import { MODEL_SCHEMAS } from '../options/index.js';
import type { KernelPool } from '../pool/index.js';
import { Recommender } from '../engine/facade.js';
import { cosineTopK, cosineTopKPooled, type CosineArgs, sparseTopN, sparseTopNPooled, type ScoreFilter } from '../engine/exec.js';
import type { ModelData, UserBatch } from '../engine/rows.js';
import { reserve, type FitContext, type IndexList, type ModelDefinition, type SavedState, type Scorer, type ScoreParts } from '../engine/scorer.js';
import type { FitReport, ModelOptions } from '../engine/types.js';
import { normaliseRows, truncateRows, valueAt } from './sparse.js';

/** Options of `UserKnn` (schema: MODEL_SCHEMAS.userknn). */
export interface UserKnnOptions extends ModelOptions {
  /** Neighbours per user (more than there are users means every user). @default 50 */
  neighbors?: number;
  /** Shrinkage added to the cosine denominator. @default 0 */
  shrink?: number;
}

/** Per domain: items x users and each user's row norm (derived from the rows; rebuilt on load). */
export class UserKnnScorer implements Scorer {
  private readonly index: Array<{ xt: Csr; norms: Float32Array }>;

  constructor(
    private readonly data: ModelData,
    neighbors: number,
    private readonly shrink: number,
    private readonly backend: BackendName | 'auto',
  ) {
    // More neighbours than there are users means every user: capped before any table is sized by it.
    this.neighbors = Math.max(1, Math.min(neighbors, data.nUsers));
    this.index = data.matrices.map((x) => ({ xt: transposeCsr(x), norms: rowNorms(x) }));
  }

  private readonly neighbors: number;

  /** The cosine job of each batch user's top-k users in domain d (before leaving the user out). */
  private job(batch: UserBatch, d: number, k: number): CosineArgs {
    const rows = batch.rows(d);
    const { xt, norms } = this.index[d];
    return [this.backend, rows, xt, rowNorms(rows), norms, k, this.shrink];
  }

  /** Neighbours normalised to sum 1, the user itself left out. */
  private finish(batch: UserBatch, nb: Neighbours): Neighbours {
    const nUsers = this.data.nUsers;
    return normaliseRows(truncateRows(nb, this.neighbors, (r) => (batch.users[r] < nUsers ? batch.users[r] : -1)));
  }

  private neighboursOf(batch: UserBatch, d: number): Neighbours {
    return this.finish(batch, cosineTopK(...this.job(batch, d, this.neighbors + 1)));
  }

  score(batch: UserBatch, d: number, n: number, filter: ScoreFilter): TopKRows {
    return sparseTopN(this.backend, this.neighboursOf(batch, d), this.data.matrices[d], batch.rows(d), n, filter);
  }

  async scorePooled(batch: UserBatch, d: number, n: number, filter: ScoreFilter, pool: KernelPool): Promise<TopKRows> {
    const nb = this.finish(batch, await cosineTopKPooled(pool, ...this.job(batch, d, this.neighbors + 1)));
    return sparseTopNPooled(pool, this.backend, nb, this.data.matrices[d], batch.rows(d), n, filter);
  }

  explain(batch: UserBatch, d: number, item: number): ScoreParts {
    const nb = this.neighboursOf(batch, d);
    const x = this.data.matrices[d];
    const contributions: ScoreParts['contributions'] = [];
    let score = 0;
    for (let t = nb.indptr[0]; t < nb.indptr[1]; t++) {
      const w = nb.data[t] * valueAt(x, nb.indices[t], item);
      if (w === 0) continue;
      score += w;
      contributions.push({ kind: 'user', id: this.data.vocab.users.id(nb.indices[t]), weight: w });
    }
    return { score, contributions };
  }

  similarUsers(batch: UserBatch, d: number, k: number): IndexList {
    const nb = cosineTopK(...this.job(batch, d, k));
    return { indices: nb.indices.slice(nb.indptr[0], nb.indptr[1]), scores: nb.data.slice(nb.indptr[0], nb.indptr[1]) };
  }

  exportState(): SavedState {
    return { meta: {}, sections: {} };
  }

  report(): Omit<FitReport, 'model'> {
    return { seconds: {}, choices: {}, stats: {} };
  }
}

/** The user-kNN model type. */
export const USERKNN: ModelDefinition<UserKnnScorer> = {
  name: 'userknn',
  schema: MODEL_SCHEMAS.userknn,
  capabilities: { similarItems: false, similarUsers: true, explain: true },
  async fit(ctx, options) {
    reserveIndex(ctx, ctx.data);
    return new UserKnnScorer(ctx.data, options.neighbors as number, options.shrink as number, ctx.backend);
  },
  restore(env, options) {
    return new UserKnnScorer(env.data, options.neighbors as number, options.shrink as number, env.backend);
  },
};

/**
 * Refuse, before building it, an item -> users index over the memory budget: per domain the
 * transpose (indptr, indices and values) and each user's norm.
 * @throws {ModelFitError}
 */
function reserveIndex(ctx: Pick<FitContext, 'memoryBudget' | 'label'>, data: ModelData): void {
  let items = 0;
  let nnz = 0;
  let bytes = 0;
  for (const x of data.matrices) {
    items += x.nCols;
    nnz += x.indices.length;
    bytes += (x.nCols + 1) * 4 + x.indices.length * 8 + x.nRows * 4;
  }
  reserve(ctx, bytes, `the item -> users index and user norms (${items} items, ${data.nUsers} users, ${nnz} interactions)`);
}

/** User kNN over every domain of the data. */
export class UserKnn extends Recommender<UserKnnScorer> {
  /** @throws {OptionTypeError|OptionRangeError} for a bad option. */
  constructor(options: UserKnnOptions = {}) {
    super(USERKNN, options);
  }

  /** Load a user-kNN model file. @throws {ModelFormatError} {StorageError} */
  static async load(path: string, options: ModelOptions = {}, content?: ModelFileContent): Promise<UserKnn> {
    return new UserKnn(options).loadFrom(path, content);
  }
}
