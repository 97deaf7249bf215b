/**
 * MigrationRecommender: the fused model, a scorer built from scorers. For each target domain it
 * fits the collaborative models of the target (popularity, item kNN, user kNN), the cross-domain
 * bridges (user and item variants) and the transfer models, then learns on validation users how to
 * fuse their candidate lists: scores on a common scale (each component divided by its mean top
 * score on validation users), combined with weights that depend on the user's bucket (cold with
 * source history, cold without, sparse, warm). Popularity is always a component, so every user
 * gets a list.
 */
import { ModelFormatError, NotSupportedError, UnknownIdError } from '../errors.js';
import type { ModelFileContent } from '../io/modelfile.js';
import type { TopKRows } from '../kernels/types.js';
import { MODEL_SCHEMAS } from '../options/index.js';
import type { KernelPool } from '../pool/index.js';
import { Recommender } from '../engine/facade.js';
import type { ScoreFilter } from '../engine/exec.js';
import { UserBatch, type ModelData } from '../engine/rows.js';
import type { FitContext, IndexList, ModelDefinition, SavedState, Scorer, ScoreParts } from '../engine/scorer.js';
import type { FitReport, ModelOptions } from '../engine/types.js';
import { componentOptions, componentSpecs, savedComponentOptions, type ComponentSpec } from './components.js';
import { BUCKETS } from './gating.js';
import { FusedRunner } from './fused-batch.js';
import { liveComponents, liveFusion } from './fused-live.js';
import { heldPairs } from './holdout.js';
import { bucketsOf, fitTarget, longTailBoost, planTarget, type Component, type FusionConfig, type TargetFusion, type TargetPlan } from './weights.js';

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
  /** Validation users per target the weight search uses at most (a seeded sample; 0: all). @default 5000 */
  validationSample?: number;
  /**
   * Training users per bucket (cold, sparse, warm) whose latest target rows (all of them for cold)
   * are held out to tune a bucket the validation data leaves with fewer than `minBucketUsers` users;
   * 0 turns it off (such a bucket then takes the target's overall weights). @default 500
   */
  holdoutUsers?: number;
  /** Long-tail exposure: multiply the fused score of items below this popularity percentile by (1 + boost). @default { percentile: 0.8, boost: 0 } */
  longTail?: { percentile?: number; boost?: number };
}

/** The fused scorer: fitted components and the fusion of each target domain. */
export class FusedScorer implements Scorer {
  /** Batch scoring: per-component kernels and the fusion scratch (made on first use; calls in this thread are synchronous). */
  private runner: FusedRunner | undefined;

  constructor(
    private readonly data: ModelData,
    private readonly cfg: FusionConfig,
    readonly components: readonly Component[],
    readonly fusion: ReadonlyArray<TargetFusion | undefined>,
    private readonly seconds: Record<string, number> = {},
    /** Components left out of this fit, and why. */
    private readonly skipped: Record<string, string> = {},
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
    return this.batchRunner().score(f, batch, t, n, Math.max(n, this.cfg.candidates), filter);
  }

  scorePooled(batch: UserBatch, t: number, n: number, filter: ScoreFilter, pool: KernelPool): Promise<TopKRows> {
    const f = this.target(t);
    return this.batchRunner().scorePooled(f, batch, t, n, Math.max(n, this.cfg.candidates), filter, pool);
  }

  private batchRunner(): FusedRunner {
    return (this.runner ??= new FusedRunner(this.data, this.components));
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
    const stats: Record<string, unknown> = { componentChoices: byComponent };
    if (Object.keys(this.skipped).length > 0) stats.skippedComponents = this.skipped;
    return { seconds: this.seconds, choices, stats };
  }
}

function fusionConfig(o: Readonly<Record<string, unknown>>): FusionConfig {
  return {
    candidates: o.candidatesPerComponent as number,
    minBucketUsers: o.minBucketUsers as number,
    bagging: o.bagging as number,
    holdoutUsers: o.holdoutUsers as number,
    validationSample: o.validationSample as number,
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

/**
 * Components whose fitted state counts each training row directly (similarities, popularity):
 * refitted without the held-out rows to score held-out users. User kNN is not among them: a user
 * whose rows differ from training is searched at query time, against other users' rows only.
 */
const REFIT_FOR_TUNING: ReadonlySet<string> = new Set(['popularity', 'itemknn', 'bridge-user', 'bridge-item']);

/**
 * The components that score the held-out users: the similarity ones (cheap to fit) fitted again on
 * the training rows without the held-out ones, so a held-out item is not found through its own
 * user's rows; the transfer models as fitted (they re-solve a user whose rows changed, but their
 * item factors saw the held-out rows: a smaller leak, documented in holdout.ts). The refits share
 * the fit's cache: a domain without held-out rows keeps its matrix object, so what a component
 * memoised for it (item kNN's neighbours) is not computed again.
 */
async function tuningComponents(ctx: FitContext, components: readonly Component[], plans: readonly TargetPlan[]): Promise<readonly Component[]> {
  const sets = plans.flatMap((p) => p.held.map((set) => ({ t: p.t, set })));
  if (sets.length === 0) return components;
  const dataset = ctx.dataset.without(heldPairs(sets));
  const nItems = ctx.data.nItems;
  const data = { vocab: dataset.vocab, nUsers: dataset.nUsers, nItems, matrices: nItems.map((_, d) => dataset.matrix(d)) };
  const reduced: FitContext = { ...ctx, data, dataset, progress: () => undefined };
  const out: Component[] = [];
  for (const c of components) {
    const spec = REFIT_FOR_TUNING.has(c.name) ? componentSpecs([c.name]).find((s) => s.name === c.name) : undefined;
    out.push(spec ? { ...c, scorer: await spec.definition.fit({ ...reduced, label: `${spec.definition.name} (tuning)` }, c.options) } : c);
  }
  return out;
}

/** Whether the validation data has a user cold in target t with rows in one of its sources. */
function coldValidationUsers(ctx: FitContext, t: number, sources: readonly number[]): boolean {
  const valid = ctx.valid;
  if (!valid) return false;
  const target = ctx.data.matrices[t];
  for (let r = 0; r < valid.length; r++) {
    const u = valid.user[r];
    if (valid.domain[r] !== t || u >= ctx.data.nUsers || target.indptr[u + 1] > target.indptr[u]) continue;
    for (const s of sources) if (ctx.data.matrices[s].indptr[u + 1] > ctx.data.matrices[s].indptr[u]) return true;
  }
  return false;
}

/** Whether a fitted PTUPCDR chose its start (epoch 0, the ridge map) for every pair it learned. */
function equalsStart(scorer: Scorer): boolean {
  const pairs = Object.values(scorer.report().choices as Record<string, { bestEpoch?: number }>);
  return pairs.length > 0 && pairs.every((p) => p.bestEpoch === 0);
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
    const skipped: Record<string, string> = {};
    const components: Component[] = [];
    const specs = activeSpecs(options, nD);
    const named = namedTargets(options);
    const targets = named ? named.map((n) => ctx.domainIndex(n)) : [...Array(nD).keys()].filter((d) => data.nItems[d] > 0);
    const sourceIdx = (options.sources as string[] | undefined)?.map((s) => ctx.domainIndex(s));
    const sourcesOf = (t: number) => (sourceIdx ?? [...Array(nD).keys()]).filter((s) => s !== t && data.nItems[s] > 0);
    for (const spec of specs) {
      // PTUPCDR starts from EMCDR's map and only its validation users can show that training beat
      // that start: without any, its lists would be an unchecked variant of a component already here.
      if (spec.name === 'ptupcdr' && !targets.some((t) => coldValidationUsers(ctx, t, sourcesOf(t)))) {
        skipped.ptupcdr = 'no validation user is cold in the target with source history, so nothing could show that training beats its start (a ridge map, as emcdr learns)';
      } else {
        const t0 = performance.now();
        const o = componentOptions(spec, shared);
        const scorer = await spec.definition.fit({ ...ctx, label: spec.definition.name }, o);
        seconds[spec.name] = (performance.now() - t0) / 1000;
        if (spec.name === 'ptupcdr' && equalsStart(scorer)) {
          skipped.ptupcdr = 'its validation choice is its start (a ridge map, as emcdr learns) for every pair: nothing personalised, so it is left out of the fusion';
        } else components.push({ name: spec.name, scorer, options: o });
      }
      ctx.progress('components', specs.indexOf(spec) + 1, specs.length);
    }
    const t0 = performance.now();
    const taken = new Set<number>();
    const plans = targets.map((t) => planTarget(ctx, cfg, t, sourcesOf(t), taken));
    const tuning = await tuningComponents(ctx, components, plans);
    const fusion: Array<TargetFusion | undefined> = Array.from({ length: nD }, () => undefined);
    for (const plan of plans) {
      fusion[plan.t] = await fitTarget(ctx, cfg, components, tuning, plan);
      ctx.progress('fusion', plans.indexOf(plan) + 1, plans.length);
    }
    seconds.fusion = (performance.now() - t0) / 1000;
    return new FusedScorer(data, cfg, components, fusion, seconds, skipped);
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
  async live(scorer, change, options) {
    const cfg = fusionConfig(options);
    return new FusedScorer(change.after, cfg, await liveComponents(scorer.components, change, options), liveFusion(scorer.fusion, change, cfg));
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
