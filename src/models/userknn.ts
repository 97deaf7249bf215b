/**
 * User-based collaborative filtering (user kNN): r_ui = sum_v s_uv r_vi / sum_v s_uv over the
 * `neighbors` users v most similar to u (cosine on their rows in the domain). Neighbours are found
 * at query time by the cosine kernel (the user's row against the item -> users index), so behaviour
 * folded in after fitting counts at once.
 */
import type { Dataset } from '../data/dataset.js';
import type { ModelFileContent, SectionArray } from '../io/modelfile.js';
import { rowNorms, transposeCsr } from '../kernels/csr.js';
import type { Csr, Neighbours, TopKRows } from '../kernels/types.js';
import type { KernelPool } from '../pool/index.js';
import { checkK, Recommender, type Contribution, type ModelOptions, type ScoreFilter, type UserBatch } from './base.js';
import { cosineTopK, normaliseRows, sparseTopN, andThen, truncateRows, valueAt } from './scoring.js';
import type { FitOptions } from './types.js';

/** Options of `UserKnn`. */
export interface UserKnnOptions extends ModelOptions {
  /** Neighbours per user. @default 50 */
  neighbors?: number;
  /** Shrinkage added to the cosine denominator. @default 0 */
  shrink?: number;
}

/** User kNN over every domain of the data. */
export class UserKnn extends Recommender {
  readonly name = 'userknn' as const;
  private readonly opts: { neighbors: number; shrink: number };
  /** Per domain: items x users, and each user's row norm. Derived from the rows; rebuilt on load. */
  private index: Array<{ xt: Csr; norms: Float32Array }> = [];

  constructor(options: UserKnnOptions = {}) {
    super(options);
    const shrink = options.shrink ?? 0;
    if (typeof shrink !== 'number' || !(shrink >= 0) || !Number.isFinite(shrink)) throw new RangeError(`options.shrink must be a finite number >= 0 (got ${String(shrink)})`);
    this.opts = { neighbors: checkK(options.neighbors ?? 50, 'options.neighbors'), shrink };
  }

  /** Load a user-kNN model file. @throws {ModelFormatError} {StorageError} */
  static async load(path: string, options: ModelOptions = {}, content?: ModelFileContent): Promise<UserKnn> {
    return new UserKnn(options).loadInto(path, content);
  }

  protected async fitModel(_data: Dataset, _options: FitOptions): Promise<void> {
    this.buildIndex();
  }

  private buildIndex(): void {
    this.index = this.fitted().matrices.map((x) => ({ xt: transposeCsr(x), norms: rowNorms(x) }));
  }

  /** Each batch user's neighbours in domain d, normalised to sum 1, the user itself left out. */
  private neighboursOf(batch: UserBatch, d: number, pool: KernelPool | undefined): Neighbours | Promise<Neighbours> {
    const rows = batch.rows(d);
    const { xt, norms } = this.index[d];
    const nUsers = this.fitted().nUsers;
    const k = this.opts.neighbors;
    return andThen(cosineTopK(pool, this.backend, rows, xt, rowNorms(rows), norms, k + 1, this.opts.shrink), (nb) =>
      normaliseRows(truncateRows(nb, k, (r) => (batch.users[r] < nUsers ? batch.users[r] : -1))),
    );
  }

  protected scoreBatch(batch: UserBatch, d: number, n: number, filter: ScoreFilter, pool: KernelPool | undefined): TopKRows | Promise<TopKRows> {
    return andThen(this.neighboursOf(batch, d, pool), (nb) => sparseTopN(pool, this.backend, nb, this.fitted().matrices[d], batch.rows(d), n, filter));
  }

  protected explainScore(batch: UserBatch, d: number, item: number): { score: number; contributions: Contribution[] } {
    const nb = this.neighboursOf(batch, d, undefined) as Neighbours;
    const x = this.fitted().matrices[d];
    const users = this.fitted().vocab.users;
    const contributions: Contribution[] = [];
    let score = 0;
    for (let t = nb.indptr[0]; t < nb.indptr[1]; t++) {
      const w = nb.data[t] * valueAt(x, nb.indices[t], item);
      if (w === 0) continue;
      score += w;
      contributions.push({ kind: 'user', id: users.id(nb.indices[t]), weight: w });
    }
    return { score, contributions };
  }

  protected override similarUsersIndex(batch: UserBatch, d: number, k: number): { indices: Uint32Array; scores: Float32Array } {
    const rows = batch.rows(d);
    const { xt, norms } = this.index[d];
    const nb = cosineTopK(undefined, this.backend, rows, xt, rowNorms(rows), norms, k, this.opts.shrink) as Neighbours;
    return { indices: nb.indices.slice(nb.indptr[0], nb.indptr[1]), scores: nb.data.slice(nb.indptr[0], nb.indptr[1]) };
  }

  protected exportState(): { meta: Record<string, unknown>; sections: Record<string, SectionArray> } {
    return { meta: { options: this.opts }, sections: {} };
  }

  protected importState(meta: Record<string, unknown>): void {
    Object.assign(this.opts, (meta.options ?? {}) as object);
    this.buildIndex();
  }
}
