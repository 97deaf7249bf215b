/**
 * User-based collaborative filtering (user kNN): r_ui = sum_v s_uv r_vi / sum_v s_uv over the
 * `neighbors` users v most similar to u (cosine on their rows in the domain). Each training user's
 * neighbour list is found at fit time by the cosine kernel (pooled) and saved with the model; a
 * user unknown at fit time, or whose rows changed since (folded-in behaviour), is searched at
 * query time by the same kernel against the item -> users index, so folded-in behaviour counts at
 * once. Both give the same list for an unchanged user: the kernel's result for a row depends only
 * on that row and the index.
 */
import { ModelFormatError } from '../errors.js';
import type { ModelFileContent, SectionArray } from '../io/modelfile.js';
import { rowNorms, transposeCsr } from '../kernels/csr.js';
import type { BackendName, Csr, Neighbours, TopKRows } from '../kernels/types.js';
import { MODEL_SCHEMAS } from '../options/index.js';
import type { KernelPool } from '../pool/index.js';
import { Recommender } from '../engine/facade.js';
import { cosineTopK, cosineTopKAny, cosineTopKPooled, type CosineArgs, sparseTopN, sparseTopNPooled, type ScoreFilter } from '../engine/exec.js';
import { validateCsr } from '../engine/envelope.js';
import type { ModelData, UserBatch } from '../engine/rows.js';
import { reserve, type FitContext, type IndexList, type ModelDefinition, type SavedState, type Scorer, type ScoreParts } from '../engine/scorer.js';
import type { FitReport, ModelOptions } from '../engine/types.js';
import { liveUserKnn } from './knn-live.js';
import { normaliseRows, pickRows, truncateRows, valueAt } from './sparse.js';

/** Options of `UserKnn` (schema: MODEL_SCHEMAS.userknn). */
export interface UserKnnOptions extends ModelOptions {
  /** Neighbours per user (more than there are users means every user). @default 50 */
  neighbors?: number;
  /** Shrinkage added to the cosine denominator. @default 0 */
  shrink?: number;
  /**
   * Domains whose training users' neighbour lists are found at fit time and saved; users of the
   * other domains are searched at query time (the same lists, more time per call). @default every domain
   */
  targets?: readonly string[];
}

/** Per domain: the item -> users index and each user's row norm (derived from the rows; rebuilt on load). */
interface DomainIndex {
  xt: Csr;
  norms: Float32Array;
}

/**
 * Per domain: items x users, each user's row norm, and each training user's finished neighbour
 * list (at most `neighbors`, the user left out, weights summing to 1).
 */
export class UserKnnScorer implements Scorer {
  /** Built on first use: a loaded model whose queries are all training users never needs it. */
  private indexCache: DomainIndex[] | undefined;
  private readonly neighbors: number;

  /** Use {@link UserKnnScorer.build} (fit) or a restore; `known` holds one finished table per domain. */
  constructor(
    private readonly data: ModelData,
    neighbors: number,
    private readonly shrink: number,
    private readonly backend: BackendName | 'auto',
    /** Per domain, row u: training user u's finished neighbours (rows sorted best first; users added later have no row). */
    readonly known: readonly Neighbours[],
    index?: DomainIndex[],
  ) {
    this.neighbors = kept(neighbors, data);
    this.indexCache = index;
  }

  /** Per domain, items x users and the users' row norms, for query-time neighbour searches. */
  private get index(): DomainIndex[] {
    return (this.indexCache ??= indexOf(this.data));
  }

  /** A scorer whose training users' neighbours are found now (on the pool when given). */
  static async build(data: ModelData, neighbors: number, shrink: number, backend: BackendName | 'auto', pool: KernelPool | undefined, domains?: ReadonlySet<number>): Promise<UserKnnScorer> {
    const index = indexOf(data);
    const k = kept(neighbors, data);
    const known: Neighbours[] = [];
    for (let d = 0; d < data.matrices.length; d++) {
      const x = data.matrices[d];
      // Domains left out of `domains` keep an empty table: their users are searched at query time.
      if (domains && !domains.has(d)) known.push({ nRows: 0, nCols: data.nUsers, k, indptr: new Uint32Array(1), indices: new Uint32Array(0), data: new Float32Array(0) });
      else known.push(finish(await cosineTopKAny(pool, backend, x, index[d].xt, index[d].norms, index[d].norms, k + 1, shrink), k, data.nUsers, (r) => r));
    }
    return new UserKnnScorer(data, neighbors, shrink, backend, known, index);
  }

  /** `build` in this thread. */
  static buildSync(data: ModelData, neighbors: number, shrink: number, backend: BackendName | 'auto'): UserKnnScorer {
    const index = indexOf(data);
    const k = kept(neighbors, data);
    const known = data.matrices.map((x, d) => finish(cosineTopK(backend, x, index[d].xt, index[d].norms, index[d].norms, k + 1, shrink), k, data.nUsers, (r) => r));
    return new UserKnnScorer(data, neighbors, shrink, backend, known, index);
  }

  /** The cosine job of rows' top-k users in domain d (before leaving the user out). */
  private job(rows: Csr, d: number, k: number): CosineArgs {
    const { xt, norms } = this.index[d];
    return [this.backend, rows, xt, rowNorms(rows), norms, k, this.shrink];
  }

  /**
   * Batch users whose rows in domain d are not their training rows (unknown at fit time, or
   * changed by folded-in behaviour): their positions in the batch, and those rows.
   */
  private changed(batch: UserBatch, d: number): { at: Uint32Array; rows: Csr } | undefined {
    const rows = batch.rows(d);
    const x = this.data.matrices[d];
    const at: number[] = [];
    const table = this.known[d].nRows;
    for (let b = 0; b < batch.users.length; b++) if (batch.users[b] >= table || !sameRow(x, batch.users[b], rows, b)) at.push(b);
    if (at.length === 0) return undefined;
    const pick = Uint32Array.from(at);
    return { at: pick, rows: pickRows(rows, pick) };
  }

  /** Finished neighbours of the batch users: the fit-time list of unchanged users, `searched` rows (for `changed`'s users) otherwise. */
  private assemble(batch: UserBatch, d: number, changed: { at: Uint32Array } | undefined, searched: Neighbours | undefined): Neighbours {
    const m = batch.users.length;
    const table = this.known[d];
    const indptr = new Uint32Array(m + 1);
    let next = 0;
    let total = 0;
    for (let b = 0; b < m; b++) {
      if (changed && next < changed.at.length && changed.at[next] === b) total += searched!.indptr[next + 1] - searched!.indptr[next++];
      else if (batch.users[b] < table.nRows) total += table.indptr[batch.users[b] + 1] - table.indptr[batch.users[b]];
      indptr[b + 1] = total;
    }
    const indices = new Uint32Array(total);
    const data = new Float32Array(total);
    next = 0;
    for (let b = 0; b < m; b++) {
      const [src, r] = changed && next < changed.at.length && changed.at[next] === b ? [searched!, next++] : [table, batch.users[b]];
      if (r >= src.nRows) continue; // a user added after the fit with no rows here: no neighbours
      indices.set(src.indices.subarray(src.indptr[r], src.indptr[r + 1]), indptr[b]);
      data.set(src.data.subarray(src.indptr[r], src.indptr[r + 1]), indptr[b]);
    }
    return { nRows: m, nCols: this.data.nUsers, k: this.neighbors, indptr, indices, data };
  }

  /** Searched rows finished: cut to `neighbors`, the user itself (when known) left out, normalised. */
  private finishSearched(batch: UserBatch, at: Uint32Array, raw: Neighbours): Neighbours {
    const nUsers = this.data.nUsers;
    return finish(raw, this.neighbors, nUsers, (r) => batch.users[at[r]]);
  }

  /** Finished neighbours of every batch user in domain d, in this thread. */
  neighboursOf(batch: UserBatch, d: number): Neighbours {
    const c = this.changed(batch, d);
    const searched = c && this.finishSearched(batch, c.at, cosineTopK(...this.job(c.rows, d, this.neighbors + 1)));
    return this.assemble(batch, d, c, searched);
  }

  /** `neighboursOf`, searching changed users on the pool. */
  async neighboursPooled(batch: UserBatch, d: number, pool: KernelPool): Promise<Neighbours> {
    const c = this.changed(batch, d);
    const searched = c && this.finishSearched(batch, c.at, await cosineTopKPooled(pool, ...this.job(c.rows, d, this.neighbors + 1)));
    return this.assemble(batch, d, c, searched);
  }

  score(batch: UserBatch, d: number, n: number, filter: ScoreFilter): TopKRows {
    return sparseTopN(this.backend, this.neighboursOf(batch, d), this.data.matrices[d], batch.rows(d), n, filter);
  }

  async scorePooled(batch: UserBatch, d: number, n: number, filter: ScoreFilter, pool: KernelPool): Promise<TopKRows> {
    const nb = await this.neighboursPooled(batch, d, pool);
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
    const nb = cosineTopK(...this.job(batch.rows(d), d, k));
    return { indices: nb.indices.slice(nb.indptr[0], nb.indptr[1]), scores: nb.data.slice(nb.indptr[0], nb.indptr[1]) };
  }

  exportState(): SavedState {
    const sections: Record<string, SectionArray> = {};
    this.known.forEach((m, d) => {
      sections[`nb.${d}.indptr`] = m.indptr;
      sections[`nb.${d}.indices`] = m.indices;
      sections[`nb.${d}.data`] = m.data;
    });
    return { meta: { domains: this.known.length }, sections };
  }

  report(): Omit<FitReport, 'model'> {
    return { seconds: {}, choices: {}, stats: {} };
  }
}

/** Neighbours kept: more than there are users means every user (capped before any table is sized by it). */
function kept(neighbors: number, data: ModelData): number {
  return Math.max(1, Math.min(neighbors, data.nUsers));
}

function indexOf(data: ModelData): DomainIndex[] {
  return data.matrices.map((x) => ({ xt: transposeCsr(x), norms: rowNorms(x) }));
}

/** Raw cosine rows cut to k, `self(r)` (the row's own user, or -1) left out, normalised to sum 1. */
function finish(raw: Neighbours, k: number, nUsers: number, self: (r: number) => number): Neighbours {
  return normaliseRows(truncateRows(raw, k, (r) => (self(r) < nUsers ? self(r) : -1)));
}

/** Whether row b of `rows` is training user u's row of `x` (same items and values). */
function sameRow(x: Csr, u: number, rows: Csr, b: number): boolean {
  if (u >= x.nRows) return false;
  const s = x.indptr[u];
  const n = x.indptr[u + 1] - s;
  const r = rows.indptr[b];
  if (rows.indptr[b + 1] - r !== n) return false;
  for (let t = 0; t < n; t++) if (x.indices[s + t] !== rows.indices[r + t] || x.data[s + t] !== rows.data[r + t]) return false;
  return true;
}


/** The user-kNN model type. */
export const USERKNN: ModelDefinition<UserKnnScorer> = {
  name: 'userknn',
  schema: MODEL_SCHEMAS.userknn,
  capabilities: { similarItems: false, similarUsers: true, explain: true },
  async fit(ctx, options) {
    reserveIndex(ctx, ctx.data, options.neighbors as number);
    const targets = options.targets as readonly string[] | undefined;
    const domains = targets && new Set(targets.map((name) => ctx.domainIndex(name)));
    return UserKnnScorer.build(ctx.data, options.neighbors as number, options.shrink as number, ctx.backend, ctx.pool, domains);
  },
  restore(env, options, { meta, sections }, label) {
    const data = env.data;
    const neighbors = options.neighbors as number;
    const shrink = options.shrink as number;
    // Files written before the neighbour lists were saved: find them now, in this thread.
    if (meta.domains === undefined && !Object.keys(sections).some((k) => k.startsWith('nb.'))) return UserKnnScorer.buildSync(data, neighbors, shrink, env.backend);
    if (meta.domains !== data.nItems.length) throw new ModelFormatError(`${label}: user neighbour tables: domain count does not match`);
    const k = kept(neighbors, data);
    const known = data.nItems.map((_, d): Neighbours => {
      const [indptr, indices, values] = ['indptr', 'indices', 'data'].map((f) => sections[`nb.${d}.${f}`]);
      if (!(indptr instanceof Uint32Array) || !(indices instanceof Uint32Array) || !(values instanceof Float32Array)) throw new ModelFormatError(`${label}: user neighbours of domain ${d} are missing`);
      // Users folded in after the fit come after the table's rows (their training rows are empty).
      if (!(indptr.length >= 1 && indptr.length <= data.nUsers + 1)) throw new ModelFormatError(`${label}: user neighbours of domain ${d}: more rows than users`);
      const m = { nRows: indptr.length - 1, nCols: data.nUsers, k, indptr, indices, data: values };
      validateCsr(m, `user neighbours of domain ${d}`, label);
      for (let r = 0; r < m.nRows; r++) if (m.indptr[r + 1] - m.indptr[r] > k) throw new ModelFormatError(`${label}: user neighbours of domain ${d}: row ${r} holds more than ${k}`);
      return m;
    });
    return new UserKnnScorer(data, neighbors, shrink, env.backend, known);
  },
  async live(scorer, change, options) {
    const r = await liveUserKnn(scorer.known, change, options);
    return new UserKnnScorer(change.after, options.neighbors as number, options.shrink as number, change.backend, r.known, r.index);
  },
};

/**
 * Refuse, before building them, tables over the memory budget: per domain the item -> users
 * index (indptr, indices and values) and each user's norm; then every user's neighbour lists.
 * @throws {ModelFitError}
 */
function reserveIndex(ctx: Pick<FitContext, 'memoryBudget' | 'label'>, data: ModelData, neighbors: number): void {
  let items = 0;
  let nnz = 0;
  let bytes = 0;
  for (const x of data.matrices) {
    items += x.nCols;
    nnz += x.indices.length;
    bytes += (x.nCols + 1) * 4 + x.indices.length * 8 + x.nRows * 4;
  }
  reserve(ctx, bytes, `the item -> users index and user norms (${items} items, ${data.nUsers} users, ${nnz} interactions)`);
  // The kernel's slots per domain (index and score of k + 1 users per user), and the finished copy.
  const k = kept(neighbors, data) + 1;
  reserve(ctx, data.matrices.length * data.nUsers * k * 16, `the user neighbour lists (${data.matrices.length} domains x ${data.nUsers} users x ${k} neighbours)`);
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
