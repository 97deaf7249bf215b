/**
 * Cross-domain bridge for users who are cold in a target domain: what they did in the other
 * (source) domains recommends target items.
 *
 * - `user` variant: user kNN where a user's similarity to others is cosine on their **source**
 *   rows, against users who have rows in the target; target items are scored from those
 *   neighbours' target rows, r_ui = sum_v s_uv r_vi / sum_v s_uv.
 * - `item` variant: source item x target item cosine over the users they share (the
 *   cross-matrix kernel); target items are scored by the user's source items,
 *   score_i = sum_j w_uj S_ji.
 *
 * With several source domains their rows are concatenated (one user vector over all source items).
 * With `variant: 'auto'` and validation data, the variant and the neighbour count are chosen per
 * target domain by NDCG@10 on the validation users; test data never takes part.
 */
import type { Dataset } from '../data/dataset.js';
import { meanNdcg, validationTruth } from '../eval/validate.js';
import { DataError, ModelFormatError, UnknownIdError } from '../errors.js';
import type { ModelFileContent, SectionArray } from '../io/modelfile.js';
import { columnNorms, rowNorms, transposeCsr } from '../kernels/csr.js';
import type { Csr, Neighbours, TopKRows } from '../kernels/types.js';
import type { KernelPool } from '../pool/index.js';
import { checkK, Recommender, UserBatch, validateCsr, type Contribution, type ModelOptions, type ScoreFilter } from './base.js';
import { cosineTopK, hstack, keepRows, normaliseRows, sparseTopN, andThen, truncateRows, valueAt } from './scoring.js';
import { type FitOptions, RankedLists } from './types.js';

/** Which bridge. */
export type BridgeVariant = 'user' | 'item';

/** Options of `Bridge`. */
export interface BridgeOptions extends ModelOptions {
  /** `user`, `item`, or `auto` (chosen on validation data per target; `user` without it). @default 'auto' */
  variant?: BridgeVariant | 'auto';
  /** Neighbours (users for `user`, target items per source item for `item`). When not given and there is validation data, chosen from `neighborGrid` / `itemNeighborGrid`. @default 100 */
  neighbors?: number;
  /** Candidates for `neighbors` of the user variant when choosing on validation data. @default [25, 50, 100, 200, 400, 800] */
  neighborGrid?: readonly number[];
  /** Candidates for `neighbors` of the item variant when choosing on validation data. @default [25, 50, 100, 200] */
  itemNeighborGrid?: readonly number[];
  /** Source domains of every target. @default every other domain */
  sources?: readonly string[];
  /** Target domains to fit. @default every domain */
  targets?: readonly string[];
  /** Shrinkage added to the cosine denominator. @default 0 (user variant); item variant: 0, or chosen from [0, 20, 100] on validation data */
  shrink?: number;
  /** Similarities are raised to this power before use (larger: trust the closest neighbours more). @default 1, or chosen from [1, 2] on validation data */
  exponent?: number;
  /**
   * Inverse-frequency weighting, chosen on validation data when not given. User variant: weight
   * source items by log(users / users of the item) before user similarity. Item variant: weight
   * each shared user by log(items / items of the user) before item similarity, so heavy users count
   * less. @default false, or chosen on validation data
   */
  idf?: boolean;
  /** Item variant: asymmetric cosine dot / (|source item|^(2 alpha) |target item|^(2 (1 - alpha)) + shrink); 0.5 is the plain cosine. @default 0.5, or chosen from [0.5, 0.8, 1] on validation data */
  alpha?: number;
}

/** The hyper-parameters of one target's bridge. */
interface PlanParams {
  variant: BridgeVariant;
  neighbors: number;
  idf: boolean;
  exponent: number;
  alpha: number;
  shrink: number;
}

/** What the bridge keeps for one target domain. */
interface TargetPlan extends PlanParams {
  sources: number[];
  /** user variant: source items x users (users with target rows only) and the users' source norms. Derived; rebuilt on load. */
  xsT?: Csr;
  userNorms?: Float32Array;
  /** IDF weight of each (concatenated) source item, with `idf`. Derived; rebuilt on load. */
  idfWeights?: Float32Array;
  /** item variant: source items (concatenated) x target items. */
  sim?: Neighbours;
  /** Validation NDCG@10 of each candidate, for the report. */
  validation?: Record<string, number>;
}

/** Cross-domain bridge kNN. */
export class Bridge extends Recommender {
  readonly name = 'bridge' as const;
  private readonly opts: {
    variant: BridgeVariant | 'auto';
    neighbors: number;
    grid: number[];
    itemGrid: number[];
    sources: string[] | undefined;
    targets: string[] | undefined;
    shrink: number | undefined;
    exponent: number | undefined;
    idf: boolean | undefined;
    alpha: number | undefined;
  };
  private plans: Array<TargetPlan | undefined> = [];

  constructor(options: BridgeOptions = {}) {
    super(options);
    const variant = options.variant ?? 'auto';
    if (!['auto', 'user', 'item'].includes(variant)) throw new RangeError(`options.variant must be auto, user or item (got ${JSON.stringify(variant)})`);
    // A given neighbour count is the only candidate unless a grid is given too.
    const given = options.neighbors !== undefined ? [options.neighbors] : undefined;
    const grid = [...(options.neighborGrid ?? given ?? [25, 50, 100, 200, 400, 800])];
    if (grid.length === 0) throw new RangeError('options.neighborGrid must not be empty');
    grid.forEach((k) => checkK(k, 'options.neighborGrid[]'));
    const itemGrid = [...(options.itemNeighborGrid ?? options.neighborGrid ?? given ?? [25, 50, 100, 200])];
    if (itemGrid.length === 0) throw new RangeError('options.itemNeighborGrid must not be empty');
    itemGrid.forEach((k) => checkK(k, 'options.itemNeighborGrid[]'));
    const shrink = options.shrink;
    if (shrink !== undefined && (typeof shrink !== 'number' || !(shrink >= 0) || !Number.isFinite(shrink))) {
      throw new RangeError(`options.shrink must be a finite number >= 0 (got ${String(shrink)})`);
    }
    if (options.sources !== undefined && (!Array.isArray(options.sources) || options.sources.length === 0)) {
      throw new TypeError('options.sources must be a non-empty array of domain names');
    }
    const { exponent, alpha, idf } = options;
    if (exponent !== undefined && (typeof exponent !== 'number' || !(exponent > 0) || !Number.isFinite(exponent))) {
      throw new RangeError(`options.exponent must be a positive number (got ${String(exponent)})`);
    }
    if (alpha !== undefined && (typeof alpha !== 'number' || !(alpha >= 0 && alpha <= 1))) throw new RangeError(`options.alpha must be a number in [0, 1] (got ${String(alpha)})`);
    if (idf !== undefined && typeof idf !== 'boolean') throw new TypeError(`options.idf must be a boolean (got ${typeof idf})`);
    this.opts = {
      variant,
      neighbors: checkK(options.neighbors ?? 100, 'options.neighbors'),
      grid,
      itemGrid,
      sources: options.sources ? [...options.sources] : undefined,
      targets: options.targets ? [...options.targets] : undefined,
      shrink,
      exponent,
      idf,
      alpha,
    };
  }

  /** Load a bridge model file. @throws {ModelFormatError} {StorageError} */
  static async load(path: string, options: ModelOptions = {}, content?: ModelFileContent): Promise<Bridge> {
    return new Bridge(options).loadInto(path, content);
  }

  /** Per target domain: the chosen variant, neighbours and the validation scores behind the choice. */
  choices(): Record<string, PlanParams & { sources: string[]; validation?: Record<string, number> }> {
    const data = this.fitted();
    const out: ReturnType<Bridge['choices']> = {};
    this.plans.forEach((p, t) => {
      if (!p) return;
      const { variant, neighbors, idf, exponent, alpha, shrink } = p;
      out[data.vocab.domains.id(t)] = { variant, neighbors, idf, exponent, alpha, shrink, sources: p.sources.map((s) => data.vocab.domains.id(s)), validation: p.validation };
    });
    return out;
  }

  protected async fitModel(data: Dataset, options: FitOptions): Promise<void> {
    const nDomains = data.nDomains;
    if (nDomains < 2) throw new DataError({ file: data.events.source }, 'the bridge needs at least two domains (a source and a target)');
    const sourcesByName = this.opts.sources?.map((s) => this.domainIndex(s));
    const targets = this.opts.targets?.map((t) => this.domainIndex(t));
    // Built in a local and assigned at the end: a failed refit leaves the previous plans whole.
    const plans: Array<TargetPlan | undefined> = [];
    for (let t = 0; t < nDomains; t++) {
      const sources = (sourcesByName ?? [...Array(nDomains).keys()]).filter((s) => s !== t && data.nItems(s) > 0);
      if (sources.length === 0 || data.nItems(t) === 0 || (targets && !targets.includes(t))) {
        plans.push(undefined);
        continue;
      }
      const truth = options.valid ? validationTruth(options.valid, t, data.nItems(t)) : undefined;
      const tune = truth !== undefined && truth.users.length > 0;
      const candidates = this.candidatePlans(tune);
      // Shared preparations: user-variant indexes per idf setting, item similarities per alpha (at the largest k).
      const userPrep = new Map<boolean, TargetPlan>();
      const itemSims = new Map<string, Neighbours>();
      const maxK = Math.max(...candidates.map((c) => c.neighbors));
      const maxItemK = Math.max(0, ...candidates.filter((c) => c.variant === 'item').map((c) => c.neighbors));
      const planFor = async (c: PlanParams): Promise<TargetPlan> => {
        if (c.variant === 'user') {
          let prep = userPrep.get(c.idf);
          if (!prep) {
            prep = { ...c, sources };
            this.prepareUser(prep, t);
            userPrep.set(c.idf, prep);
          }
          return { ...prep, ...c };
        }
        const key = `${c.alpha}/${c.shrink}/${c.idf}`;
        let sim = itemSims.get(key);
        if (!sim) itemSims.set(key, (sim = await this.itemSimilarity(sources, t, maxItemK, c.alpha, c.shrink, c.idf)));
        return { ...c, sources, sim: powData(truncateRows(sim, c.neighbors), c.exponent) };
      };
      let best = candidates[0];
      let validation: Record<string, number> | undefined;
      if (tune && candidates.length > 1) {
        validation = {};
        let bestScore = -1;
        const batch = this.batch(truth.users);
        // The user variant's neighbours depend only on idf: find them once at the largest k, cut per candidate.
        const rawByIdf = new Map<boolean, Neighbours>();
        for (const c of candidates) {
          const plan = await planFor(c);
          let cached: Neighbours | undefined;
          if (c.variant === 'user') {
            cached = rawByIdf.get(c.idf);
            if (!cached) rawByIdf.set(c.idf, (cached = await this.rawUserNeighbours(plan, batch, maxK + 1, this.pool)));
          }
          const slots = await this.scoreWith(plan, batch, t, 10, { filterSeen: true }, this.pool, cached);
          const score = meanNdcg(new RankedLists(slots.k, slots.counts, slots.indices, slots.scores), truth.relevant, 10);
          validation[planKey(c)] = score;
          if (score > bestScore) {
            bestScore = score;
            best = c;
          }
        }
      }
      const base = await planFor(best);
      base.validation = validation;
      plans.push(base);
    }
    this.plans = plans;
  }

  /** The hyper-parameter candidates: every grid point when tuning, else the configured (or default) point. */
  private candidatePlans(tune: boolean): PlanParams[] {
    const o = this.opts;
    const variants: BridgeVariant[] = o.variant === 'auto' ? (tune ? ['user', 'item'] : ['user']) : [o.variant];
    const ksFor = (v: BridgeVariant) => (tune ? (v === 'user' ? o.grid : o.itemGrid) : [o.neighbors]);
    const idfs = o.idf !== undefined ? [o.idf] : tune ? [false, true] : [false];
    const exps = o.exponent !== undefined ? [o.exponent] : tune ? [1, 2] : [1];
    const alphas = o.alpha !== undefined ? [o.alpha] : tune ? [0.5, 0.8, 1] : [0.5];
    const shrinks = o.shrink !== undefined ? [o.shrink] : tune ? [0, 20, 100] : [0];
    const out: PlanParams[] = [];
    for (const variant of variants) {
      for (const neighbors of ksFor(variant)) {
        for (const exponent of exps) {
          if (variant === 'user') for (const idf of idfs) out.push({ variant, neighbors, idf, exponent, alpha: alphas[0], shrink: o.shrink ?? 0 });
          else for (const idf of idfs) for (const alpha of alphas) for (const shrink of shrinks) out.push({ variant, neighbors, idf, exponent, alpha, shrink });
        }
      }
    }
    return out;
  }

  /** Source items x users restricted to users with rows in target t, and those users' source norms. */
  private prepareUser(plan: TargetPlan, t: number): void {
    const data = this.fitted();
    const xt = data.matrices[t];
    const keep = new Uint8Array(data.nUsers);
    for (let u = 0; u < data.nUsers; u++) keep[u] = xt.indptr[u + 1] > xt.indptr[u] ? 1 : 0;
    const all = hstack(plan.sources.map((s) => data.matrices[s]));
    plan.idfWeights = plan.idf ? idfWeights(all) : undefined;
    const xs = keepRows(plan.idfWeights ? scaleColumns(all, plan.idfWeights) : all, keep);
    plan.xsT = transposeCsr(xs);
    plan.userNorms = rowNorms(xs);
  }

  /** Source items (concatenated) x target items cosine top-k through shared users (each user weighted by its IDF with `idf`). */
  private async itemSimilarity(sources: number[], t: number, k: number, alpha: number, shrink: number, idf: boolean): Promise<Neighbours> {
    const data = this.fitted();
    const rows = sources.reduce((n, s) => n + data.nItems[s], 0);
    this.reserve(rows * k * 8, `the cross-domain similarity table (${rows} source items x ${k} neighbours)`);
    let xs = hstack(sources.map((s) => data.matrices[s]));
    let xt = data.matrices[t];
    if (idf) {
      const w = userIdfWeights(xs, xt);
      xs = scaleRows(xs, w);
      xt = scaleRows(xt, w);
    }
    const xsT = transposeCsr(xs);
    // Asymmetric cosine: the kernel divides by normsLeft[i] * normsRight[j] + shrink.
    const nl = rowNorms(xsT).map((x) => Math.pow(x, 2 * alpha));
    const nr = columnNorms(xt).map((x) => Math.pow(x, 2 * (1 - alpha)));
    return cosineTopK(this.pool, this.backend, xsT, xt, nl, nr, k, shrink);
  }

  /** Neighbours (users with target rows) of each batch user by source rows, normalised, self left out. */
  private userNeighbours(plan: TargetPlan, batch: UserBatch, pool: KernelPool | undefined, cached?: Neighbours): Neighbours | Promise<Neighbours> {
    const finish = (nb: Neighbours) => {
      const nUsers = this.fitted().nUsers;
      return normaliseRows(powData(truncateRows(nb, plan.neighbors, (r) => (batch.users[r] < nUsers ? batch.users[r] : -1)), plan.exponent));
    };
    return cached ? finish(cached) : andThen(this.rawUserNeighbours(plan, batch, plan.neighbors + 1, pool), finish);
  }

  /** Cosine top-k users (with target rows) of each batch user by source rows, before truncation and weighting. */
  private rawUserNeighbours(plan: TargetPlan, batch: UserBatch, k: number, pool: KernelPool | undefined): Neighbours | Promise<Neighbours> {
    const raw = hstack(plan.sources.map((s) => batch.rows(s)));
    const src = plan.idfWeights ? scaleColumns(raw, plan.idfWeights) : raw;
    return cosineTopK(pool, this.backend, src, plan.xsT!, rowNorms(src), plan.userNorms!, k, plan.shrink);
  }

  private scoreWith(plan: TargetPlan, batch: UserBatch, t: number, n: number, filter: ScoreFilter, pool: KernelPool | undefined, cached?: Neighbours): TopKRows | Promise<TopKRows> {
    const seen = batch.rows(t);
    if (plan.variant === 'item') {
      const src = hstack(plan.sources.map((s) => batch.rows(s)));
      return sparseTopN(pool, this.backend, src, plan.sim!, seen, n, filter);
    }
    return andThen(this.userNeighbours(plan, batch, pool, cached), (nb) => sparseTopN(pool, this.backend, nb, this.fitted().matrices[t], seen, n, filter));
  }

  private plan(t: number): TargetPlan {
    const p = this.plans[t];
    if (!p) throw new UnknownIdError('domain', this.fitted().vocab.domains.id(t), 'the bridge was not fitted for this target domain (no source domain, or not in options.targets)');
    return p;
  }

  protected scoreBatch(batch: UserBatch, t: number, n: number, filter: ScoreFilter, pool: KernelPool | undefined): TopKRows | Promise<TopKRows> {
    return this.scoreWith(this.plan(t), batch, t, n, filter, pool);
  }

  protected explainScore(batch: UserBatch, t: number, item: number): { score: number; contributions: Contribution[] } {
    const plan = this.plan(t);
    const data = this.fitted();
    const contributions: Contribution[] = [];
    let score = 0;
    if (plan.variant === 'item') {
      let offset = 0;
      for (const s of plan.sources) {
        const rows = batch.rows(s);
        for (let q = rows.indptr[0]; q < rows.indptr[1]; q++) {
          const w = rows.data[q] * valueAt(plan.sim!, offset + rows.indices[q], item);
          if (w === 0) continue;
          score += w;
          contributions.push({ kind: 'item', id: data.vocab.items(s).id(rows.indices[q]), domain: data.vocab.domains.id(s), weight: w });
        }
        offset += data.nItems[s];
      }
    } else {
      const nb = this.userNeighbours(plan, batch, undefined) as Neighbours;
      for (let q = nb.indptr[0]; q < nb.indptr[1]; q++) {
        const w = nb.data[q] * valueAt(data.matrices[t], nb.indices[q], item);
        if (w === 0) continue;
        score += w;
        contributions.push({ kind: 'user', id: data.vocab.users.id(nb.indices[q]), weight: w });
      }
    }
    return { score, contributions };
  }

  protected exportState(): { meta: Record<string, unknown>; sections: Record<string, SectionArray> } {
    const sections: Record<string, SectionArray> = {};
    const plans = this.plans.map((p, t) => {
      if (!p) return null;
      if (p.sim) {
        sections[`sim.${t}.indptr`] = p.sim.indptr;
        sections[`sim.${t}.indices`] = p.sim.indices;
        sections[`sim.${t}.data`] = p.sim.data;
      }
      return { variant: p.variant, neighbors: p.neighbors, idf: p.idf, exponent: p.exponent, alpha: p.alpha, shrink: p.shrink, sources: p.sources, validation: p.validation ?? null };
    });
    return { meta: { options: { ...this.opts }, plans }, sections };
  }

  protected importState(meta: Record<string, unknown>, sections: Record<string, SectionArray>, label: string): void {
    const data = this.fitted();
    const plans = meta.plans;
    if (!Array.isArray(plans) || plans.length !== data.nItems.length) throw new ModelFormatError(`${label}: bridge plans are missing`);
    this.plans = plans.map((raw: unknown, t: number) => {
      if (raw === null) return undefined;
      const p = raw as { variant?: unknown; neighbors?: unknown; idf?: unknown; exponent?: unknown; alpha?: unknown; shrink?: unknown; sources?: unknown; validation?: unknown };
      const sources = Array.isArray(p.sources) ? (p.sources as unknown[]).map(Number) : [];
      if (
        (p.variant !== 'user' && p.variant !== 'item') ||
        !Number.isInteger(p.neighbors) ||
        typeof p.idf !== 'boolean' ||
        typeof p.exponent !== 'number' ||
        typeof p.alpha !== 'number' ||
        typeof p.shrink !== 'number' ||
        sources.length === 0 ||
        sources.some((s) => !(s >= 0 && s < data.nItems.length && s !== t))
      ) {
        throw new ModelFormatError(`${label}: bridge plan of domain ${t} is invalid`);
      }
      const plan: TargetPlan = {
        variant: p.variant,
        neighbors: p.neighbors as number,
        idf: p.idf,
        exponent: p.exponent,
        alpha: p.alpha,
        shrink: p.shrink,
        sources,
        validation: (p.validation ?? undefined) as Record<string, number> | undefined,
      };
      if (plan.variant === 'item') {
        const [indptr, indices, d] = ['indptr', 'indices', 'data'].map((f) => sections[`sim.${t}.${f}`]);
        if (!(indptr instanceof Uint32Array) || !(indices instanceof Uint32Array) || !(d instanceof Float32Array)) throw new ModelFormatError(`${label}: bridge similarity of domain ${t} is missing`);
        const nRows = sources.reduce((s, x) => s + data.nItems[x], 0);
        plan.sim = { nRows, nCols: data.nItems[t], k: plan.neighbors, indptr, indices, data: d };
        validateCsr(plan.sim, `bridge similarity of domain ${t}`, label);
      } else this.prepareUser(plan, t);
      return plan;
    });
  }
}

/** Per column: log(rows with any entry / rows with this column), floored at 0. */
function idfWeights(m: Csr): Float32Array {
  const df = new Uint32Array(m.nCols);
  for (let q = 0; q < m.indices.length; q++) df[m.indices[q]]++;
  let rows = 0;
  for (let r = 0; r < m.nRows; r++) if (m.indptr[r + 1] > m.indptr[r]) rows++;
  return Float32Array.from(df, (n) => (n > 0 ? Math.max(0, Math.log(rows / n)) : 0));
}

/**
 * Per user (row of the source and target matrices side by side): log(items with any entry / items
 * of the user), floored at 0; 0 for a user with no rows.
 */
function userIdfWeights(xs: Csr, xt: Csr): Float32Array {
  const seen = new Uint8Array(xs.nCols + xt.nCols);
  for (let q = 0; q < xs.indices.length; q++) seen[xs.indices[q]] = 1;
  for (let q = 0; q < xt.indices.length; q++) seen[xs.nCols + xt.indices[q]] = 1;
  let items = 0;
  for (const x of seen) items += x;
  return Float32Array.from({ length: xs.nRows }, (_, u) => {
    const n = xs.indptr[u + 1] - xs.indptr[u] + xt.indptr[u + 1] - xt.indptr[u];
    return n > 0 ? Math.max(0, Math.log(items / n)) : 0;
  });
}

/** A copy of `m` with row r multiplied by w[r]. */
function scaleRows<T extends Csr>(m: T, w: Float32Array): T {
  const data = new Float32Array(m.data.length);
  for (let r = 0; r < m.nRows; r++) for (let q = m.indptr[r]; q < m.indptr[r + 1]; q++) data[q] = m.data[q] * w[r];
  return { ...m, data };
}

/** A copy of `m` with column j multiplied by w[j]. */
function scaleColumns<T extends Csr>(m: T, w: Float32Array): T {
  const data = new Float32Array(m.data.length);
  for (let q = 0; q < data.length; q++) data[q] = m.data[q] * w[m.indices[q]];
  return { ...m, data };
}

/** A copy of `m` with every value raised to `p` (the same object when p = 1). */
function powData<T extends { data: Float32Array }>(m: T, p: number): T {
  if (p === 1) return m;
  return { ...m, data: m.data.map((x) => Math.pow(x, p)) };
}

/** A readable key of a candidate, for the validation report. */
function planKey(c: PlanParams): string {
  return c.variant === 'user'
    ? `user k=${c.neighbors} idf=${c.idf} exp=${c.exponent}`
    : `item k=${c.neighbors} idf=${c.idf} alpha=${c.alpha} shrink=${c.shrink} exp=${c.exponent}`;
}
