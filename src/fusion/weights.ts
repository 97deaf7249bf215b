/**
 * How the fused model learns its weights: per target domain, each component scores the validation
 * users once (a seeded sample of at most `validationSample` of them), buckets with too few
 * validation users get users of their kind held out of the training rows (holdout.ts), and bagged
 * coordinate ascent (search.ts) picks each bucket's weights on those cached lists.
 */
import { columnSums } from '../data/matrix.js';
import type { TopKRows } from '../kernels/types.js';
import { Rng } from '../random.js';
import { UserBatch, type ModelData } from '../engine/rows.js';
import type { FitContext, Scorer } from '../engine/scorer.js';
import { validationTruth, type ValidationTruth } from '../engine/tuning.js';
import { BUCKETS, bucketOf, CandidateScratch, globalScales, normalisedCandidates, type Bucket, type UserCandidates } from './gating.js';
import { baggedSearch, drawResamples, packCandidates } from './search.js';
import { HOLDOUT_BUCKETS, holdoutSet, type HoldoutSet } from './holdout.js';

/** Per target domain: the fusion weights of each bucket (one weight per component). */
export interface TargetFusion {
  sources: number[];
  weights: Record<Bucket, number[]>;
  /** Per component: the divisor of its scores (mean top score on validation users), or 0 to scale per user. */
  scales: number[];
  /** Validation NDCG@10 per bucket (and 'all'), and how many validation users each had. */
  validation: Record<string, { users: number; ndcg: number; heldOut?: number }>;
  /** Long-tail factor per item (undefined when no boost). */
  boost?: Float32Array;
}

/** A fitted component. */
export interface Component {
  name: string;
  scorer: Scorer;
  /** Its full options (saved, and checked again on load). */
  options: Readonly<Record<string, unknown>>;
}

/** The fused model's settings a fit and the scorer read. */
export interface FusionConfig {
  candidates: number;
  minBucketUsers: number;
  bagging: number;
  holdoutUsers: number;
  validationSample: number;
  longTail: { percentile: number; boost: number };
}

/** Each batch user's bucket in target t. */
export function bucketsOf(batch: UserBatch, t: number, sources: readonly number[]): Bucket[] {
  const tr = batch.rows(t);
  const src = sources.map((s) => batch.rows(s));
  return Array.from(batch.users, (_, b) => {
    let s = 0;
    for (const m of src) s += m.indptr[b + 1] - m.indptr[b];
    return bucketOf(tr.indptr[b + 1] - tr.indptr[b], s);
  });
}

/** Factor per item of target t: 1 + boost below the popularity percentile, 1 above (undefined without boost). */
export function longTailBoost(data: ModelData, t: number, { percentile, boost }: FusionConfig['longTail']): Float32Array | undefined {
  if (boost === 0) return undefined;
  const pop = columnSums(data.matrices[t]);
  const sorted = Array.from(pop).sort((a, b) => a - b);
  const cut = sorted[Math.min(sorted.length - 1, Math.floor(percentile * sorted.length))] ?? 0;
  return Float32Array.from(pop, (p) => (p < cut ? 1 + boost : 1));
}

/** The lists of every component for a batch, each user scored once. */
async function componentLists(ctx: FitContext, components: readonly Component[], batch: UserBatch, t: number, n: number): Promise<TopKRows[]> {
  const pool = ctx.pool;
  const filter = { filterSeen: true };
  return Promise.all(components.map((c) => (pool ? c.scorer.scorePooled(batch, t, n, filter, pool) : c.scorer.score(batch, t, n, filter))));
}

/** A seeded sample of at most `size` of the truth's users (all of them when size is 0 or larger). */
function sampleTruth(truth: ValidationTruth, size: number, rng: Rng): ValidationTruth {
  const n = truth.users.length;
  if (size === 0 || n <= size) return truth;
  const order = Array.from({ length: n }, (_, i) => i);
  for (let q = 0; q < size; q++) {
    const r = q + rng.int(n - q);
    [order[q], order[r]] = [order[r], order[q]];
  }
  const pick = order.slice(0, size).sort((a, b) => a - b);
  return { users: Uint32Array.from(pick, (i) => truth.users[i]), relevant: pick.map((i) => truth.relevant[i]) };
}

/** Candidates and truth of one group of validation users (from the validation file or held out). */
interface Tuning {
  cands: UserCandidates[];
  relevant: Set<number>[];
  buckets: Bucket[];
}

/** What target t is tuned on: the validation file's users (sampled) and held-out training users. */
export interface TargetPlan {
  t: number;
  sources: number[];
  truth?: ValidationTruth;
  validBatch?: UserBatch;
  validBuckets: Bucket[];
  held: HoldoutSet[];
}

/**
 * The users target t is tuned on. Buckets the validation data leaves with fewer than
 * `minBucketUsers` users get users of their kind held out of the training rows (holdout.ts);
 * `taken` are users already held out for another target (left out here, and the new ones added).
 */
export function planTarget(ctx: FitContext, cfg: FusionConfig, t: number, sources: number[], taken: Set<number>): TargetPlan {
  const data = ctx.data;
  const full = ctx.valid ? validationTruth(ctx.valid, t, data.nItems[t]) : undefined;
  const truth = full && full.users.length > 0 ? sampleTruth(full, cfg.validationSample, Rng.derive(ctx.seed, `fusion-sample:${t}`)) : undefined;
  const validBatch = truth ? UserBatch.training(data, truth.users) : undefined;
  const validBuckets = validBatch ? bucketsOf(validBatch, t, sources) : [];
  const held: HoldoutSet[] = [];
  if (cfg.holdoutUsers > 0) {
    const exclude = new Set([...taken, ...(full?.users ?? [])]);
    for (const b of HOLDOUT_BUCKETS) {
      if (b === 'cold' && sources.length === 0) continue;
      if (validBuckets.filter((x) => x === b).length >= cfg.minBucketUsers) continue;
      const h = holdoutSet(data, ctx.dataset.events, t, sources, b, cfg.holdoutUsers, exclude, Rng.derive(ctx.seed, `holdout:${t}:${b}`));
      if (!h || h.users.length < cfg.minBucketUsers) continue;
      held.push(h);
      for (const u of h.users) {
        exclude.add(u);
        taken.add(u);
      }
    }
  }
  return { t, sources, truth, validBatch, validBuckets, held };
}

/**
 * Fusion weights of one target, chosen on its plan's users: each component scores each of them
 * once, and the weight search works on those cached lists. Validation-file users are scored by
 * `components`; held-out users by `tuning`, the same components fitted without the held-out rows
 * where that matters (see MIGREC.fit). Without any users: equal weights, scaled per user.
 */
export async function fitTarget(ctx: FitContext, cfg: FusionConfig, components: readonly Component[], tuning: readonly Component[], plan: TargetPlan): Promise<TargetFusion> {
  const { t, sources, truth } = plan;
  const nComp = components.length;
  const ones = new Array<number>(nComp).fill(1);
  const fusion: TargetFusion = { sources, weights: Object.fromEntries(BUCKETS.map((b) => [b, ones.slice()])) as Record<Bucket, number[]>, scales: new Array<number>(nComp).fill(0), validation: {} };
  fusion.boost = longTailBoost(ctx.data, t, cfg.longTail);
  const rng = Rng.derive(ctx.seed, `fusion:${t}`);
  const groups: Array<{ batch: UserBatch; relevant: Set<number>[]; held?: Bucket; by: readonly Component[] }> = [];
  if (truth && plan.validBatch) groups.push({ batch: plan.validBatch, relevant: truth.relevant, by: components });
  for (const h of plan.held) groups.push({ batch: h.batch, relevant: h.relevant, held: h.bucket, by: tuning });
  if (groups.length === 0) return fusion;
  const listsOf = await Promise.all(groups.map((g) => componentLists(ctx, g.by, g.batch, t, cfg.candidates)));
  // Score divisors from the validation file's users when there are any, else from the held-out ones.
  const scaleFrom = truth ? [0] : groups.map((_, g) => g);
  fusion.scales = globalScales(concatLists(scaleFrom.map((g) => listsOf[g])), scaleFrom.reduce((s, g) => s + groups[g].relevant.length, 0)).map((x) => Math.fround(x));
  const scratch = new CandidateScratch();
  const tunings: Tuning[] = groups.map((g, q) => ({
    cands: normalisedCandidates(listsOf[q], g.relevant.length, fusion.scales, scratch),
    relevant: g.relevant,
    buckets: g.held ? new Array<Bucket>(g.relevant.length).fill(g.held) : plan.validBuckets,
  }));
  const pooled = (pick: (b: Bucket) => boolean) => {
    const cands: UserCandidates[] = [];
    const relevant: Set<number>[] = [];
    for (const tu of tunings) tu.buckets.forEach((b, i) => {
      if (!pick(b)) return;
      cands.push(tu.cands[i]);
      relevant.push(tu.relevant[i]);
    });
    return { cands, relevant };
  };
  // Overall weights: on the validation file's users, else on every held-out user; then each bucket
  // with enough users of its own. Resamples are drawn here, in this order, so the searches can run
  // side by side on the pool with the results of running them one after another.
  const overall = truth ? { cands: tunings[0].cands, relevant: tunings[0].relevant } : pooled(() => true);
  const jobs: Array<{ key: Bucket | 'all'; own: { cands: UserCandidates[]; relevant: Set<number>[] }; heldOut: number; resamples?: Uint32Array[] }> = [];
  const job = (key: Bucket | 'all', own: { cands: UserCandidates[]; relevant: Set<number>[] }, heldOut: number) => jobs.push({ key, own, heldOut, resamples: drawResamples(own.cands.length, cfg.bagging, rng) });
  job('all', overall, 0);
  const reuse: Bucket[] = [];
  const fallback: Array<{ b: Bucket; users: number }> = [];
  for (const b of BUCKETS) {
    const own = pooled((x) => x === b);
    const heldOut = plan.held.find((h) => h.bucket === b)?.users.length ?? 0;
    if (truth && heldOut === 0 && own.cands.length === overall.cands.length) reuse.push(b);
    else if (own.cands.length >= cfg.minBucketUsers) job(b, own, heldOut);
    else fallback.push({ b, users: own.cands.length });
  }
  // Each search goes to the pool as soon as its users are packed, so the workers search while this
  // thread packs the next. A user is in the overall search and in their bucket's: their rows are
  // pruned once, for whichever is packed first; the buckets go first (smaller, so the first
  // search starts sooner), the overall one last (its users then mostly pruned already).
  const reach = new Map<UserCandidates, Uint32Array>();
  const pool = ctx.pool;
  const order = jobs.map((_, q) => q).sort((a, b) => Number(jobs[a].key === 'all') - Number(jobs[b].key === 'all') || a - b);
  const running: Array<Promise<{ weights: number[]; ndcg: number }> | { weights: number[]; ndcg: number }> = new Array(jobs.length);
  for (const q of order) {
    const { own, resamples } = jobs[q];
    const packed = packCandidates(own.cands, own.relevant, nComp, 10, reach);
    running[q] = pool ? pool.run<{ weights: number[]; ndcg: number }>('weightSearch', { packed, resamples }) : baggedSearch(packed, resamples);
  }
  const results = await Promise.all(running);
  const all = results[0];
  fusion.validation.all = { users: overall.cands.length, ndcg: all.ndcg };
  jobs.forEach((j, q) => {
    if (j.key === 'all') return;
    fusion.weights[j.key] = results[q].weights;
    const users = j.own.cands.length;
    fusion.validation[j.key] = j.heldOut > 0 ? { users, ndcg: results[q].ndcg, heldOut: j.heldOut } : { users, ndcg: results[q].ndcg };
  });
  for (const b of reuse) {
    fusion.weights[b] = all.weights.slice();
    fusion.validation[b] = { users: overall.cands.length, ndcg: all.ndcg };
  }
  for (const { b, users } of fallback) {
    fusion.weights[b] = all.weights.slice();
    if (users > 0) fusion.validation[b] = { users, ndcg: NaN };
  }
  return fusion;
}

/** The rows of several list sets (same components, same k) one after another. */
function concatLists(sets: TopKRows[][]): TopKRows[] {
  if (sets.length === 1) return sets[0];
  return sets[0].map((_, c) => {
    const k = sets[0][c].k;
    const n = sets.reduce((s, l) => s + l[c].counts.length, 0);
    const out: TopKRows = { k, counts: new Uint32Array(n), indices: new Uint32Array(n * k), scores: new Float32Array(n * k) };
    let o = 0;
    for (const l of sets) {
      out.counts.set(l[c].counts, o);
      out.indices.set(l[c].indices, o * k);
      out.scores.set(l[c].scores, o * k);
      o += l[c].counts.length;
    }
    return out;
  });
}

