/**
 * MigrationRecommender: the fused model, a scorer built from scorers. For each target domain it
 * fits the collaborative models of the target (popularity, item kNN, user kNN), the cross-domain
 * bridges (user and item variants) and the transfer models, then learns on validation users how to
 * fuse their candidate lists: scores on a common scale (each component divided by its mean top
 * score on validation users), combined with weights that depend on the user's bucket (cold with
 * source history, cold without, sparse, warm). Popularity is always a component, so every user
 * gets a list.
 */
import { columnSums } from '../data/matrix.js';
import { ModelFormatError, NotSupportedError, UnknownIdError } from '../errors.js';
import type { ModelFileContent } from '../io/modelfile.js';
import type { TopKRows } from '../kernels/types.js';
import { MODEL_SCHEMAS } from '../options/index.js';
import type { KernelPool } from '../pool/index.js';
import { Rng } from '../random.js';
import { Recommender } from '../engine/facade.js';
import type { ScoreFilter } from '../engine/exec.js';
import { UserBatch, type ModelData } from '../engine/rows.js';
import type { FitContext, IndexList, ModelDefinition, SavedState, Scorer, ScoreParts } from '../engine/scorer.js';
import { validationTruth } from '../engine/tuning.js';
import type { FitReport, ModelOptions } from '../engine/types.js';
import { componentOptions, componentSpecs, savedComponentOptions, type ComponentSpec } from './components.js';
import { baggedWeights, BUCKETS, bucketOf, CandidateScratch, fuseUser, globalScales, normalisedCandidates, type Bucket } from './gating.js';

/** Options of `MigrationRecommender` (schema: MODEL_SCHEMAS.migrec). */
export interface MigrationOptions extends ModelOptions {
  /** Target domain (also the default domain). @default every domain of `targets` */
  target?: string;
  /** Target domains, each with its own fusion weights, when `target` is not given. @default every domain */
  targets?: readonly string[];
  /** Source domains. @default every other domain */
  sources?: readonly string[];
  /**
   * Component models: a list of names (those, with their defaults), or `{ name: options | false }`
   * applied on top of every default component, e.g. `{ itemknn: { neighbors: 20 }, userknn: false }`.
   * @default every component (`componentNames()`)
   */
  components?: readonly string[] | Readonly<Record<string, object | boolean>>;
  /** Candidates taken from each component per user. @default 100 */
  candidatesPerComponent?: number;
  /** Validation users a bucket needs to get its own weights (else it uses the target's overall weights). @default 30 */
  minBucketUsers?: number;
  /** Bootstrap resamples of the validation users whose weight searches are averaged (1: a single search). @default 8 */
  bagging?: number;
  /** Long-tail exposure: multiply the fused score of items below this popularity percentile by (1 + boost). @default { percentile: 0.8, boost: 0 } */
  longTail?: { percentile?: number; boost?: number };
}

/** Per target domain: the fusion weights of each bucket (one weight per component). */
interface TargetFusion {
  sources: number[];
  weights: Record<Bucket, number[]>;
  /** Per component: the divisor of its scores (mean top score on validation users), or 0 to scale per user. */
  scales: number[];
  /** Validation NDCG@10 per bucket (and 'all'), and how many validation users each had. */
  validation: Record<string, { users: number; ndcg: number }>;
  /** Long-tail factor per item (undefined when no boost). */
  boost?: Float32Array;
}

/** A fitted component. */
interface Component {
  name: string;
  scorer: Scorer;
  /** Its full options (saved, and checked again on load). */
  options: Readonly<Record<string, unknown>>;
}

/** The fused model's settings a fit and the scorer read. */
interface FusionConfig {
  candidates: number;
  minBucketUsers: number;
  bagging: number;
  longTail: { percentile: number; boost: number };
}

/** The fused scorer: fitted components and the fusion of each target domain. */
export class FusedScorer implements Scorer {
  /** Per-scorer scratch of the candidate unions (calls are synchronous, so one is enough). */
  private readonly scratch = new CandidateScratch();

  constructor(
    private readonly data: ModelData,
    private readonly cfg: FusionConfig,
    readonly components: readonly Component[],
    readonly fusion: ReadonlyArray<TargetFusion | undefined>,
    private readonly seconds: Record<string, number> = {},
  ) {}

  /** Similar items come from the item-kNN component (the fused scores are per user, not per item). */
  similarItems(d: number, i: number, k: number): IndexList {
    const itemknn = this.components.find((c) => c.name === 'itemknn')?.scorer;
    if (!itemknn?.similarItems) throw new NotSupportedError('migrec does not provide similarItems (its components leave out itemknn)');
    return itemknn.similarItems(d, i, k);
  }

  private target(t: number): TargetFusion {
    const f = this.fusion[t];
    if (!f) throw new UnknownIdError('domain', this.data.vocab.domains.id(t), 'the fused model was not fitted for this target domain');
    return f;
  }

  score(batch: UserBatch, t: number, n: number, filter: ScoreFilter): TopKRows {
    const f = this.target(t);
    const per = Math.max(n, this.cfg.candidates);
    return this.fuse(f, batch, t, n, this.components.map((c) => c.scorer.score(batch, t, per, filter)));
  }

  async scorePooled(batch: UserBatch, t: number, n: number, filter: ScoreFilter, pool: KernelPool): Promise<TopKRows> {
    const f = this.target(t);
    const per = Math.max(n, this.cfg.candidates);
    return this.fuse(f, batch, t, n, await Promise.all(this.components.map((c) => c.scorer.scorePooled(batch, t, per, filter, pool))));
  }

  private fuse(f: TargetFusion, batch: UserBatch, t: number, n: number, lists: TopKRows[]): TopKRows {
    const m = batch.users.length;
    const cands = normalisedCandidates(lists, m, f.scales, this.scratch);
    const buckets = bucketsOf(batch, t, f.sources);
    const out: TopKRows = { k: n, counts: new Uint32Array(m), indices: new Uint32Array(m * n), scores: new Float32Array(m * n) };
    for (let b = 0; b < m; b++) {
      const r = fuseUser(cands[b], f.weights[buckets[b]], n, f.boost);
      out.counts[b] = r.items.length;
      out.indices.set(r.items, b * n);
      out.scores.set(r.scores, b * n);
    }
    return out;
  }

  explain(batch: UserBatch, t: number, item: number, n: number): ScoreParts {
    const f = this.target(t);
    // The same candidates per component as the list of n items being explained.
    const per = Math.max(n, this.cfg.candidates);
    const weights = f.weights[bucketsOf(batch, t, f.sources)[0]];
    const contributions: ScoreParts['contributions'] = [];
    let score = 0;
    this.components.forEach((c, m) => {
      if (weights[m] === 0) return;
      const list = c.scorer.score(batch, t, per, { filterSeen: true });
      const n = list.counts[0];
      const at = list.indices.subarray(0, n).indexOf(item);
      if (at < 0) return; // not among this component's candidates: it adds nothing to the fused score
      const scores = list.scores.subarray(0, n);
      const max = Math.max(...scores);
      const min = Math.min(...scores);
      // The same scaling as normalisedCandidates: the target's divisor, else per user.
      const lo = f.scales[m] > 0 || min >= 0 ? 0 : min;
      const span = f.scales[m] > 0 ? f.scales[m] : max - lo;
      const share = weights[m] * (span > 0 ? (scores[at] - lo) / span : 1);
      const parts = c.scorer.explain?.(batch, t, item, n) ?? { score: 0, contributions: [] };
      const scale = parts.score !== 0 ? share / parts.score : 0;
      if (parts.contributions.length === 0 || scale === 0 || lo !== 0) {
        contributions.push({ kind: c.name === 'popularity' ? 'popularity' : 'model', id: '', weight: share, model: c.name });
      } else {
        for (const p of parts.contributions) contributions.push({ ...p, weight: p.weight * scale, model: c.name });
      }
      score += share;
    });
    if (f.boost) {
      const factor = f.boost[item];
      for (const c of contributions) c.weight *= factor;
      score *= factor;
    }
    return { score, contributions };
  }

  exportState(): SavedState {
    const sections: SavedState['sections'] = {};
    const componentMeta: Record<string, unknown> = {};
    for (const c of this.components) {
      const s = c.scorer.exportState();
      componentMeta[c.name] = { options: c.options, state: s.meta };
      for (const [k, v] of Object.entries(s.sections)) sections[`${c.name}.${k}`] = v;
    }
    const fusion = this.fusion.map((f) => (f ? { sources: f.sources, weights: f.weights, scales: f.scales, validation: f.validation } : null));
    return { meta: { components: this.components.map((c) => c.name), componentMeta, fusion }, sections };
  }

  /** Per target domain: components, bucket weights, score divisors (0: scaled per user) and the validation scores behind them; in stats, each component's own choices. */
  report(): Omit<FitReport, 'model'> {
    const choices: Record<string, unknown> = Object.create(null);
    this.fusion.forEach((f, t) => {
      if (f) choices[this.data.vocab.domains.id(t)] = { components: this.components.map((c) => c.name), weights: f.weights, scales: f.scales, validation: f.validation };
    });
    const byComponent = Object.fromEntries(this.components.map((c) => [c.name, c.scorer.report().choices]));
    return { seconds: this.seconds, choices, stats: { componentChoices: byComponent } };
  }
}

/** Each batch user's bucket in target t. */
function bucketsOf(batch: UserBatch, t: number, sources: readonly number[]): Bucket[] {
  const tr = batch.rows(t);
  const src = sources.map((s) => batch.rows(s));
  return Array.from(batch.users, (_, b) => {
    let s = 0;
    for (const m of src) s += m.indptr[b + 1] - m.indptr[b];
    return bucketOf(tr.indptr[b + 1] - tr.indptr[b], s);
  });
}

/** Factor per item of target t: 1 + boost below the popularity percentile, 1 above (undefined without boost). */
function longTailBoost(data: ModelData, t: number, { percentile, boost }: FusionConfig['longTail']): Float32Array | undefined {
  if (boost === 0) return undefined;
  const pop = columnSums(data.matrices[t]);
  const sorted = Array.from(pop).sort((a, b) => a - b);
  const cut = sorted[Math.min(sorted.length - 1, Math.floor(percentile * sorted.length))] ?? 0;
  return Float32Array.from(pop, (p) => (p < cut ? 1 + boost : 1));
}

/** Fusion weights of target t, chosen on its validation users (equal weights, scaled per user, without any). */
async function fitTarget(ctx: FitContext, cfg: FusionConfig, components: readonly Component[], t: number, sources: number[]): Promise<TargetFusion> {
  const data = ctx.data;
  const nComp = components.length;
  const ones = new Array<number>(nComp).fill(1);
  const fusion: TargetFusion = { sources, weights: Object.fromEntries(BUCKETS.map((b) => [b, ones.slice()])) as Record<Bucket, number[]>, scales: new Array<number>(nComp).fill(0), validation: {} };
  fusion.boost = longTailBoost(data, t, cfg.longTail);
  const truth = ctx.valid ? validationTruth(ctx.valid, t, data.nItems[t]) : undefined;
  if (!truth || truth.users.length === 0) return fusion;
  const batch = UserBatch.training(data, truth.users);
  const pool = ctx.pool;
  const filter = { filterSeen: true };
  const lists = await Promise.all(components.map((c) => (pool ? c.scorer.scorePooled(batch, t, cfg.candidates, filter, pool) : c.scorer.score(batch, t, cfg.candidates, filter))));
  fusion.scales = globalScales(lists, truth.users.length).map((x) => Math.fround(x));
  const cands = normalisedCandidates(lists, truth.users.length, fusion.scales, new CandidateScratch());
  const buckets = bucketsOf(batch, t, sources);
  const rng = Rng.derive(ctx.seed, `fusion:${t}`);
  const all = baggedWeights(cands, truth.relevant, nComp, 10, cfg.bagging, rng);
  fusion.validation.all = { users: cands.length, ndcg: all.ndcg };
  for (const b of BUCKETS) {
    const idx = buckets.flatMap((x, i) => (x === b ? [i] : []));
    if (idx.length === cands.length) {
      fusion.weights[b] = Array.from(all.weights);
      fusion.validation[b] = { users: idx.length, ndcg: all.ndcg };
    } else if (idx.length >= cfg.minBucketUsers) {
      const r = baggedWeights(idx.map((i) => cands[i]), idx.map((i) => truth.relevant[i]), nComp, 10, cfg.bagging, rng);
      fusion.weights[b] = Array.from(r.weights);
      fusion.validation[b] = { users: idx.length, ndcg: r.ndcg };
    } else {
      fusion.weights[b] = Array.from(all.weights);
      if (idx.length > 0) fusion.validation[b] = { users: idx.length, ndcg: NaN };
    }
  }
  return fusion;
}

function fusionConfig(o: Readonly<Record<string, unknown>>): FusionConfig {
  return {
    candidates: o.candidatesPerComponent as number,
    minBucketUsers: o.minBucketUsers as number,
    bagging: o.bagging as number,
    longTail: o.longTail as FusionConfig['longTail'],
  };
}

/** The targets named by the options (`target`, else `targets`), or undefined for every domain. */
function namedTargets(o: Readonly<Record<string, unknown>>): string[] | undefined {
  return o.target !== undefined ? [o.target as string] : (o.targets as string[] | undefined);
}

/** The components that apply to data with `nDomains` domains (the cross-domain ones need two). */
function activeSpecs(o: Readonly<Record<string, unknown>>, nDomains: number): ComponentSpec[] {
  const specs = componentSpecs(o.components);
  return nDomains < 2 ? specs.filter((s) => !s.crossDomain) : specs;
}

/** The fused model type. */
export const MIGREC: ModelDefinition<FusedScorer> = {
  name: 'migrec',
  schema: MODEL_SCHEMAS.migrec,
  capabilities: { similarItems: true, similarUsers: false, explain: true },
  capabilitiesFor: (options) => ({ similarItems: componentSpecs(options.components).some((c) => c.name === 'itemknn'), similarUsers: false, explain: true }),
  check(options) {
    componentSpecs(options.components);
  },
  defaultDomain: (o) => o.target as string | undefined,
  async fit(ctx, options) {
    // Everything is built in locals; the facade swaps the finished scorer in.
    const data = ctx.data;
    const nD = data.nItems.length;
    const cfg = fusionConfig(options);
    const shared = { seed: ctx.seed, sources: options.sources as string[] | undefined, targets: namedTargets(options) };
    const seconds: Record<string, number> = {};
    const components: Component[] = [];
    const specs = activeSpecs(options, nD);
    for (const spec of specs) {
      const t0 = performance.now();
      const o = componentOptions(spec, shared);
      components.push({ name: spec.name, scorer: await spec.definition.fit({ ...ctx, label: spec.definition.name }, o), options: o });
      seconds[spec.name] = (performance.now() - t0) / 1000;
      ctx.progress('components', components.length, specs.length);
    }
    const t0 = performance.now();
    const named = namedTargets(options);
    const targets = named ? named.map((n) => ctx.domainIndex(n)) : [...Array(nD).keys()].filter((d) => data.nItems[d] > 0);
    const sourceIdx = (options.sources as string[] | undefined)?.map((s) => ctx.domainIndex(s));
    const fusion: Array<TargetFusion | undefined> = Array.from({ length: nD }, () => undefined);
    for (const t of targets) {
      const sources = (sourceIdx ?? [...Array(nD).keys()]).filter((s) => s !== t && data.nItems[s] > 0);
      fusion[t] = await fitTarget(ctx, cfg, components, t, sources);
      ctx.progress('fusion', targets.indexOf(t) + 1, targets.length);
    }
    seconds.fusion = (performance.now() - t0) / 1000;
    return new FusedScorer(data, cfg, components, fusion, seconds);
  },
  restore(env, options, { meta, sections }, label) {
    const data = env.data;
    const names = meta.components;
    const specs = componentSpecs(options.components);
    // The names must be configured components, each once, in fusion order (their weights are by position).
    const order = specs.map((s) => s.name);
    if (!Array.isArray(names) || names.some((n, q) => typeof n !== 'string' || !order.includes(n) || (q > 0 && order.indexOf(n) <= order.indexOf(names[q - 1] as string)))) {
      throw new ModelFormatError(`${label}: the component list does not match the saved options`);
    }
    const componentMeta = (meta.componentMeta ?? {}) as Record<string, { options?: unknown; state?: Record<string, unknown> }>;
    const components = (names as string[]).map((name): Component => {
      const spec = specs.find((s) => s.name === name)!;
      const own: SavedState['sections'] = {};
      for (const [k, v] of Object.entries(sections)) if (k.startsWith(`${name}.`)) own[k.slice(name.length + 1)] = v;
      const saved = componentMeta[name];
      if (!saved || typeof saved.state !== 'object' || saved.state === null) throw new ModelFormatError(`${label}: the state of component ${name} is missing`);
      const o = checkedComponentOptions(spec, saved.options, label);
      return { name, scorer: spec.definition.restore(env, o, { meta: saved.state, sections: own }, `${label} (${name})`), options: o };
    });
    const fusion = meta.fusion;
    if (!Array.isArray(fusion) || fusion.length !== data.nItems.length) throw new ModelFormatError(`${label}: fusion weights are missing`);
    const cfg = fusionConfig(options);
    const targets = fusion.map((raw: unknown, t: number) => (raw === null ? undefined : restoreTarget(data, cfg, raw, t, names.length, label)));
    return new FusedScorer(data, cfg, components, targets);
  },
};

/** A component's saved options, checked against its model's schema. @throws {ModelFormatError} */
function checkedComponentOptions(spec: ComponentSpec, saved: unknown, label: string): Readonly<Record<string, unknown>> {
  try {
    return savedComponentOptions(spec, saved);
  } catch (e) {
    throw new ModelFormatError(`${label}: the saved options of component ${spec.name} are invalid (${(e as Error).message})`);
  }
}

/** One target's fusion from the model file. @throws {ModelFormatError} */
function restoreTarget(data: ModelData, cfg: FusionConfig, raw: unknown, t: number, nComponents: number, label: string): TargetFusion {
  const f = raw as Partial<TargetFusion>;
  for (const b of BUCKETS) {
    const w = f.weights?.[b];
    if (!Array.isArray(w) || w.length !== nComponents || w.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
      throw new ModelFormatError(`${label}: fusion weights of domain ${t} are invalid`);
    }
  }
  const scales = f.scales;
  if (!Array.isArray(scales) || scales.length !== nComponents || scales.some((x) => typeof x !== 'number' || !(x >= 0) || !Number.isFinite(x))) {
    throw new ModelFormatError(`${label}: fusion scales of domain ${t} are invalid`);
  }
  const sources = f.sources;
  if (!Array.isArray(sources) || sources.some((s) => !Number.isInteger(s) || s < 0 || s >= data.nItems.length || s === t)) throw new ModelFormatError(`${label}: fusion sources of domain ${t} are invalid`);
  return { sources, weights: f.weights!, scales, validation: f.validation ?? {}, boost: longTailBoost(data, t, cfg.longTail) };
}

/** The fused cross-domain recommender. */
export class MigrationRecommender extends Recommender<FusedScorer> {
  /** @throws {OptionTypeError|OptionRangeError} for a bad option, also of a component (`components.itemknn.neighbors`). */
  constructor(options: MigrationOptions = {}) {
    super(MIGREC, options);
  }

  /** Load a fused model file. @throws {ModelFormatError} {StorageError} */
  static async load(path: string, options: ModelOptions = {}, content?: ModelFileContent): Promise<MigrationRecommender> {
    return new MigrationRecommender(options).loadFrom(path, content);
  }
}
