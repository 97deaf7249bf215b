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
import { DataError, ModelFormatError, UnknownIdError } from '../errors.js';
import type { ModelFileContent } from '../io/modelfile.js';
import { columnNorms, rowNorms, transposeCsr } from '../kernels/csr.js';
import type { BackendName, Neighbours, TopKRows } from '../kernels/types.js';
import { MODEL_SCHEMAS } from '../options/index.js';
import type { KernelPool } from '../pool/index.js';
import { MAX_TOP_K } from '../pool/limits.js';
import { Recommender } from '../engine/facade.js';
import { cap, cosineTopK, cosineTopKAny, cosineTopKPooled, type CosineArgs, sparseTopN, sparseTopNPooled, type ScoreFilter } from '../engine/exec.js';
import { validateCsr } from '../engine/envelope.js';
import { UserBatch, type ModelData } from '../engine/rows.js';
import { reserve, type FitContext, type ModelDefinition, type SavedState, type Scorer, type ScoreParts } from '../engine/scorer.js';
import { BestOnValidation, meanNdcg, validationTruth } from '../engine/tuning.js';
import type { FitReport, ModelOptions } from '../engine/types.js';
import { idfWeights, planKey, powData, scaleColumns, scaleRows, userIdfWeights, type BridgeVariant, type PlanParams, type TargetPlan } from './bridge-parts.js';
import { liveBridge } from './knn-live.js';
import { hstack, keepRows, normaliseRows, truncateRows, valueAt } from './sparse.js';

export type { BridgeVariant } from './bridge-parts.js';

/** Options of `Bridge` (schema: MODEL_SCHEMAS.bridge; what is not given is chosen on validation data where it can be). */
export interface BridgeOptions extends ModelOptions {
  /** `user`, `item`, or `auto` (chosen on validation data per target; `user` without it). @default 'auto' */
  variant?: BridgeVariant | 'auto';
  /** Neighbours (users for `user`, target items per source item for `item`). @default 100, or chosen from the grids on validation data */
  neighbors?: number;
  /** Candidates for `neighbors` of the user variant. @default [25, 50, 100, 200, 400, 800] */
  neighborGrid?: readonly number[];
  /** Candidates for `neighbors` of the item variant. @default [25, 50, 100, 200] */
  itemNeighborGrid?: readonly number[];
  /** Source domains of every target. @default every other domain */
  sources?: readonly string[];
  /** Target domains to fit. @default every domain */
  targets?: readonly string[];
  /** Shrinkage added to the cosine denominator. @default 0; item variant: chosen from [0, 20, 100] on validation data */
  shrink?: number;
  /** Similarities are raised to this power before use. @default 1, or chosen from [1, 2] on validation data */
  exponent?: number;
  /** Inverse-frequency weighting (user variant: source items; item variant: shared users). @default false, or chosen on validation data */
  idf?: boolean;
  /** Item variant: asymmetric cosine exponent, dot / (|source|^(2a) |target|^(2(1-a)) + shrink). @default 0.5, or chosen from [0.5, 0.8, 1] on validation data */
  asymmetry?: number;
}

/** The bridges of every fitted target domain. */
export class BridgeScorer implements Scorer {
  constructor(
    private readonly data: ModelData,
    private readonly backend: BackendName | 'auto',
    readonly plans: ReadonlyArray<TargetPlan | undefined>,
  ) {}

  private plan(t: number): TargetPlan {
    const p = this.plans[t];
    if (!p) throw new UnknownIdError('domain', this.data.vocab.domains.id(t), 'the bridge was not fitted for this target domain (no source domain, or not in options.targets)');
    return p;
  }

  score(batch: UserBatch, t: number, n: number, filter: ScoreFilter): TopKRows {
    return this.scoreWith(this.plan(t), batch, t, n, filter);
  }

  scorePooled(batch: UserBatch, t: number, n: number, filter: ScoreFilter, pool: KernelPool): Promise<TopKRows> {
    return this.scoreWithPooled(this.plan(t), batch, t, n, filter, pool);
  }

  /** The cosine job of each batch user's top-k users (with target rows) by source rows. */
  private userJob(plan: TargetPlan, batch: UserBatch, k: number): CosineArgs {
    const raw = hstack(plan.sources.map((s) => batch.rows(s)));
    const src = plan.idfWeights ? scaleColumns(raw, plan.idfWeights) : raw;
    return [this.backend, src, plan.xsT!, rowNorms(src), plan.userNorms!, k, plan.shrink];
  }

  /**
   * What the user variant's scoring of a batch reads, for callers that run it themselves (the
   * fused model's `bridge-user` source): the search job, and how its rows are cut and weighted.
   */
  userSearchInputs(t: number, batch: UserBatch) {
    const plan = this.plan(t);
    const [, src, xsT, srcNorms, userNorms, k, shrink] = this.userJob(plan, batch, plan.neighbors + 1);
    return { src, srcNorms, xsT, userNorms, search: cap(k, xsT.nCols), keep: plan.neighbors, exponent: plan.exponent, shrink };
  }

  /** Raw user neighbours (top-k before truncation and weighting), on the pool when given. */
  rawUserNeighbours(plan: TargetPlan, batch: UserBatch, k: number, pool: KernelPool | undefined): Promise<Neighbours> {
    return cosineTopKAny(pool, ...this.userJob(plan, batch, k));
  }

  /** Neighbours cut to the plan's count, weighted by its exponent and normalised, the user left out. */
  private finishUsers(plan: TargetPlan, batch: UserBatch, nb: Neighbours): Neighbours {
    const nUsers = this.data.nUsers;
    return normaliseRows(powData(truncateRows(nb, plan.neighbors, (r) => (batch.users[r] < nUsers ? batch.users[r] : -1)), plan.exponent));
  }

  /** Score with a plan in this thread (`cached`: raw user neighbours found already, at k >= the plan's). */
  scoreWith(plan: TargetPlan, batch: UserBatch, t: number, n: number, filter: ScoreFilter, cached?: Neighbours): TopKRows {
    const seen = batch.rows(t);
    if (plan.variant === 'item') return sparseTopN(this.backend, hstack(plan.sources.map((s) => batch.rows(s))), plan.sim!, seen, n, filter);
    const nb = this.finishUsers(plan, batch, cached ?? cosineTopK(...this.userJob(plan, batch, plan.neighbors + 1)));
    return sparseTopN(this.backend, nb, this.data.matrices[t], seen, n, filter);
  }

  /** `scoreWith` on the pool. */
  async scoreWithPooled(plan: TargetPlan, batch: UserBatch, t: number, n: number, filter: ScoreFilter, pool: KernelPool, cached?: Neighbours): Promise<TopKRows> {
    const seen = batch.rows(t);
    if (plan.variant === 'item') return sparseTopNPooled(pool, this.backend, hstack(plan.sources.map((s) => batch.rows(s))), plan.sim!, seen, n, filter);
    const nb = this.finishUsers(plan, batch, cached ?? (await cosineTopKPooled(pool, ...this.userJob(plan, batch, plan.neighbors + 1))));
    return sparseTopNPooled(pool, this.backend, nb, this.data.matrices[t], seen, n, filter);
  }

  explain(batch: UserBatch, t: number, item: number): ScoreParts {
    const plan = this.plan(t);
    const data = this.data;
    const contributions: ScoreParts['contributions'] = [];
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
      const nb = this.finishUsers(plan, batch, cosineTopK(...this.userJob(plan, batch, plan.neighbors + 1)));
      for (let q = nb.indptr[0]; q < nb.indptr[1]; q++) {
        const w = nb.data[q] * valueAt(data.matrices[t], nb.indices[q], item);
        if (w === 0) continue;
        score += w;
        contributions.push({ kind: 'user', id: data.vocab.users.id(nb.indices[q]), weight: w });
      }
    }
    return { score, contributions };
  }

  exportState(): SavedState {
    const sections: SavedState['sections'] = {};
    const plans = this.plans.map((p, t) => {
      if (!p) return null;
      if (p.sim) {
        sections[`sim.${t}.indptr`] = p.sim.indptr;
        sections[`sim.${t}.indices`] = p.sim.indices;
        sections[`sim.${t}.data`] = p.sim.data;
      }
      return { variant: p.variant, neighbors: p.neighbors, idf: p.idf, exponent: p.exponent, asymmetry: p.asymmetry, shrink: p.shrink, sources: p.sources, validation: p.validation ?? null };
    });
    return { meta: { plans }, sections };
  }

  /** Per target domain: the chosen variant and hyper-parameters, and the validation scores behind them. */
  report(): Omit<FitReport, 'model'> {
    const choices: Record<string, unknown> = Object.create(null);
    this.plans.forEach((p, t) => {
      if (!p) return;
      const { variant, neighbors, idf, exponent, asymmetry, shrink } = p;
      choices[this.data.vocab.domains.id(t)] = { variant, neighbors, idf, exponent, asymmetry, shrink, sources: p.sources.map((s) => this.data.vocab.domains.id(s)), validation: p.validation };
    });
    return { seconds: {}, choices, stats: {} };
  }
}

/** The bridge options a fit reads. */
interface BridgeConfig {
  variant: BridgeVariant | 'auto';
  neighbors: number;
  grid: readonly number[];
  itemGrid: readonly number[];
  shrink: number | undefined;
  exponent: number | undefined;
  idf: boolean | undefined;
  asymmetry: number | undefined;
}

/** Resolved options -> what the fit reads: a given neighbour count is the only candidate unless a grid is given too. */
function bridgeConfig(o: Readonly<Record<string, unknown>>): BridgeConfig {
  const given = o.neighbors !== undefined ? [o.neighbors as number] : undefined;
  return {
    variant: o.variant as BridgeVariant | 'auto',
    neighbors: (o.neighbors as number | undefined) ?? 100,
    grid: (o.neighborGrid as number[] | undefined) ?? given ?? [25, 50, 100, 200, 400, 800],
    itemGrid: (o.itemNeighborGrid as number[] | undefined) ?? (o.neighborGrid as number[] | undefined) ?? given ?? [25, 50, 100, 200],
    shrink: o.shrink as number | undefined,
    exponent: o.exponent as number | undefined,
    idf: o.idf as boolean | undefined,
    asymmetry: o.asymmetry as number | undefined,
  };
}

/** The hyper-parameter candidates: every grid point when tuning, else the configured (or default) point. */
function candidatePlans(o: BridgeConfig, tune: boolean): PlanParams[] {
  const variants: BridgeVariant[] = o.variant === 'auto' ? (tune ? ['user', 'item'] : ['user']) : [o.variant];
  const ksFor = (v: BridgeVariant) => (tune ? (v === 'user' ? o.grid : o.itemGrid) : [o.neighbors]);
  const idfs = o.idf !== undefined ? [o.idf] : tune ? [false, true] : [false];
  const exps = o.exponent !== undefined ? [o.exponent] : tune ? [1, 2] : [1];
  const asyms = o.asymmetry !== undefined ? [o.asymmetry] : tune ? [0.5, 0.8, 1] : [0.5];
  const shrinks = o.shrink !== undefined ? [o.shrink] : tune ? [0, 20, 100] : [0];
  const out: PlanParams[] = [];
  for (const variant of variants) {
    for (const neighbors of ksFor(variant)) {
      for (const exponent of exps) {
        if (variant === 'user') for (const idf of idfs) out.push({ variant, neighbors, idf, exponent, asymmetry: asyms[0], shrink: o.shrink ?? 0 });
        else for (const idf of idfs) for (const asymmetry of asyms) for (const shrink of shrinks) out.push({ variant, neighbors, idf, exponent, asymmetry, shrink });
      }
    }
  }
  return out;
}

/** Source items x users restricted to users with rows in target t, and those users' source norms. */
function prepareUser(data: ModelData, plan: TargetPlan, t: number): void {
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
async function itemSimilarity(ctx: FitContext, sources: number[], t: number, k: number, asymmetry: number, shrink: number, idf: boolean): Promise<Neighbours> {
  const data = ctx.data;
  const rows = sources.reduce((n, s) => n + data.nItems[s], 0);
  reserve(ctx, rows * k * 8, `the cross-domain similarity table (${rows} source items x ${k} neighbours)`);
  let xs = hstack(sources.map((s) => data.matrices[s]));
  let xt = data.matrices[t];
  if (idf) {
    const w = userIdfWeights(xs, xt);
    xs = scaleRows(xs, w);
    xt = scaleRows(xt, w);
  }
  const xsT = transposeCsr(xs);
  // Asymmetric cosine: the kernel divides by normsLeft[i] * normsRight[j] + shrink.
  const nl = rowNorms(xsT).map((x) => Math.pow(x, 2 * asymmetry));
  const nr = columnNorms(xt).map((x) => Math.pow(x, 2 * (1 - asymmetry)));
  return cosineTopKAny(ctx.pool, ctx.backend, xsT, xt, nl, nr, k, shrink);
}

/** Fit the bridge of target t from `sources`, choosing its hyper-parameters on validation data when there is some. */
async function fitTarget(ctx: FitContext, o: BridgeConfig, t: number, sources: number[], probe: BridgeScorer): Promise<TargetPlan> {
  const data = ctx.data;
  const truth = ctx.valid ? validationTruth(ctx.valid, t, data.nItems[t]) : undefined;
  const tune = truth !== undefined && truth.users.length > 0;
  const candidates = candidatePlans(o, tune);
  // Shared preparations: user-variant indexes per idf setting, item similarities per asymmetry/shrink/idf (at the largest k).
  const userPrep = new Map<boolean, TargetPlan>();
  const itemSims = new Map<string, Neighbours>();
  const maxK = Math.max(...candidates.map((c) => c.neighbors));
  const maxItemK = Math.max(0, ...candidates.filter((c) => c.variant === 'item').map((c) => c.neighbors));
  const planFor = async (c: PlanParams): Promise<TargetPlan> => {
    if (c.variant === 'user') {
      let prep = userPrep.get(c.idf);
      if (!prep) {
        prep = { ...c, sources };
        prepareUser(data, prep, t);
        userPrep.set(c.idf, prep);
      }
      return { ...prep, ...c };
    }
    const key = `${c.asymmetry}/${c.shrink}/${c.idf}`;
    let sim = itemSims.get(key);
    if (!sim) itemSims.set(key, (sim = await itemSimilarity(ctx, sources, t, maxItemK, c.asymmetry, c.shrink, c.idf)));
    return { ...c, sources, sim: powData(truncateRows(sim, c.neighbors), c.exponent) };
  };
  if (!tune || candidates.length === 1) return planFor(candidates[0]);
  const validation: Record<string, number> = {};
  const best = new BestOnValidation<PlanParams>();
  const batch = UserBatch.training(data, truth.users);
  // The user variant's neighbours depend only on idf: find them once at the largest k, cut per candidate.
  const rawByIdf = new Map<boolean, Neighbours>();
  for (const c of candidates) {
    const plan = await planFor(c);
    let cached: Neighbours | undefined;
    if (c.variant === 'user') {
      cached = rawByIdf.get(c.idf);
      if (!cached) rawByIdf.set(c.idf, (cached = await probe.rawUserNeighbours(plan, batch, maxK + 1, ctx.pool)));
    }
    const slots = ctx.pool ? await probe.scoreWithPooled(plan, batch, t, 10, { filterSeen: true }, ctx.pool, cached) : probe.scoreWith(plan, batch, t, 10, { filterSeen: true }, cached);
    const score = meanNdcg(slots, truth.relevant, 10);
    validation[planKey(c)] = score;
    best.offer(score, c);
  }
  const chosen = await planFor(best.value!);
  chosen.validation = validation;
  return chosen;
}

/** The bridge model type. */
export const BRIDGE: ModelDefinition<BridgeScorer> = {
  name: 'bridge',
  schema: MODEL_SCHEMAS.bridge,
  capabilities: { similarItems: false, similarUsers: false, explain: true },
  async fit(ctx, options) {
    const nDomains = ctx.data.nItems.length;
    if (nDomains < 2) throw new DataError({ file: ctx.dataset.events.source }, 'the bridge needs at least two domains (a source and a target)');
    const o = bridgeConfig(options);
    const sourcesByName = (options.sources as string[] | undefined)?.map((s) => ctx.domainIndex(s));
    const targets = (options.targets as string[] | undefined)?.map((t) => ctx.domainIndex(t));
    const probe = new BridgeScorer(ctx.data, ctx.backend, []);
    const plans: Array<TargetPlan | undefined> = [];
    for (let t = 0; t < nDomains; t++) {
      const sources = (sourcesByName ?? [...Array(nDomains).keys()]).filter((s) => s !== t && ctx.data.nItems[s] > 0);
      const fit = sources.length > 0 && ctx.data.nItems[t] > 0 && (!targets || targets.includes(t));
      plans.push(fit ? await fitTarget(ctx, o, t, sources, probe) : undefined);
      ctx.progress('bridge', t + 1, nDomains);
    }
    return new BridgeScorer(ctx.data, ctx.backend, plans);
  },
  restore(env, _options, { meta, sections }, label) {
    const data = env.data;
    const plans = meta.plans;
    if (!Array.isArray(plans) || plans.length !== data.nItems.length) throw new ModelFormatError(`${label}: bridge plans are missing`);
    return new BridgeScorer(data, env.backend, plans.map((raw: unknown, t: number) => (raw === null ? undefined : restorePlan(data, raw, t, sections, label))));
  },
  async live(scorer, change) {
    return new BridgeScorer(change.after, change.backend, await liveBridge(scorer.plans, change, prepareUser));
  },
};

/** One target's plan from the model file. @throws {ModelFormatError} */
function restorePlan(data: ModelData, raw: unknown, t: number, sections: SavedState['sections'], label: string): TargetPlan {
  const p = raw as Partial<Record<keyof TargetPlan, unknown>>;
  const sources = Array.isArray(p.sources) ? (p.sources as unknown[]).map(Number) : [];
  if (
    (p.variant !== 'user' && p.variant !== 'item') ||
    !Number.isInteger(p.neighbors) ||
    !((p.neighbors as number) >= 1 && (p.neighbors as number) <= MAX_TOP_K) ||
    typeof p.idf !== 'boolean' ||
    typeof p.exponent !== 'number' ||
    typeof p.asymmetry !== 'number' ||
    typeof p.shrink !== 'number' ||
    sources.length === 0 ||
    sources.some((s) => !Number.isInteger(s) || !(s >= 0 && s < data.nItems.length && s !== t)) ||
    new Set(sources).size !== sources.length
  ) {
    throw new ModelFormatError(`${label}: bridge plan of domain ${t} is invalid`);
  }
  const plan: TargetPlan = {
    variant: p.variant,
    neighbors: p.neighbors as number,
    idf: p.idf,
    exponent: p.exponent,
    asymmetry: p.asymmetry,
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
  } else prepareUser(data, plan, t);
  return plan;
}

/** Cross-domain bridge kNN. */
export class Bridge extends Recommender<BridgeScorer> {
  /** @throws {OptionTypeError|OptionRangeError} for a bad option. */
  constructor(options: BridgeOptions = {}) {
    super(BRIDGE, options);
  }

  /** Load a bridge model file. @throws {ModelFormatError} {StorageError} */
  static async load(path: string, options: ModelOptions = {}, content?: ModelFileContent): Promise<Bridge> {
    return new Bridge(options).loadFrom(path, content);
  }
}
