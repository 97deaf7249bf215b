/**
 * MigrationRecommender: the fused model. For each target domain it fits the collaborative models
 * of the target (popularity, item kNN, user kNN), the cross-domain bridges (user and item variants)
 * and any registered transfer models, then learns on validation users how to fuse their candidate
 * lists: scores on a common scale (each component divided by its mean top score on validation
 * users), combined with weights that depend on the user's bucket (cold with source history, cold
 * without, sparse, warm). Popularity is always a component, so every user gets a list.
 */
import type { Dataset } from '../data/dataset.js';
import { columnSums } from '../data/matrix.js';
import { validationTruth } from '../eval/validate.js';
import { ModelFormatError, NotSupportedError, UnknownIdError } from '../errors.js';
import type { ModelFileContent, SectionArray } from '../io/modelfile.js';
import type { TopKRows } from '../kernels/types.js';
import { Recommender, UserBatch, type Contribution, type ModelOptions, type ScoreFilter } from '../models/base.js';
import { Bridge } from '../models/bridge.js';
import { ItemKnn } from '../models/itemknn.js';
import { Popularity } from '../models/popularity.js';
import type { FitOptions } from '../models/types.js';
import { UserKnn } from '../models/userknn.js';
import type { KernelPool } from '../pool/index.js';
import { Emcdr } from '../transfer/emcdr.js';
import { Ptupcdr } from '../transfer/ptupcdr.js';
import { Rng } from '../random.js';
import { baggedWeights, BUCKETS, bucketOf, fuseUser, globalScales, normalisedCandidates, type Bucket } from './gating.js';

/** Options of `MigrationRecommender`. */
export interface MigrationOptions extends ModelOptions {
  /** Target domain. @default every domain of `targets` */
  target?: string;
  /** Target domains, each with its own fusion weights, when `target` is not given. @default every domain */
  targets?: readonly string[];
  /** Source domains. @default every other domain */
  sources?: readonly string[];
  /** Component models. @default every registered component (`componentNames()`) */
  components?: readonly string[];
  /** Candidates taken from each component per user. @default 100 */
  candidates?: number;
  /** Validation users a bucket needs to get its own weights (else it uses the target's overall weights). @default 30 */
  minBucketUsers?: number;
  /** Bootstrap resamples of the validation users whose weight searches are averaged (1: a single search). @default 8 */
  bagging?: number;
  /** Long-tail exposure: multiply the fused score of items below this popularity percentile by (1 + boost). @default { percentile: 0.8, boost: 0 } */
  longTail?: { percentile: number; boost: number };
}

/** Builds a component model from the fused model's options. */
export type ComponentFactory = (options: ModelOptions & { sources?: readonly string[]; targets?: readonly string[] }) => Recommender;

const COMPONENTS = new Map<string, ComponentFactory>([
  ['popularity', (o) => new Popularity(o)],
  ['itemknn', (o) => new ItemKnn({ ...o, neighbors: 100 })],
  ['userknn', (o) => new UserKnn({ ...o, neighbors: 50 })],
  ['bridge-user', (o) => new Bridge({ ...o, variant: 'user' })],
  ['bridge-item', (o) => new Bridge({ ...o, variant: 'item' })],
  ['emcdr', (o) => new Emcdr(o)],
  ['ptupcdr', (o) => new Ptupcdr(o)],
]);

/** Components that need a source domain. */
const CROSS_DOMAIN = new Set(['bridge-user', 'bridge-item', 'emcdr', 'ptupcdr']);

/** Register a component model of your own (it joins the default components of new fused models). */
export function registerComponent(name: string, factory: ComponentFactory): void {
  COMPONENTS.set(name, factory);
}

/** Names of the registered component models, in fusion order. */
export function componentNames(): string[] {
  return [...COMPONENTS.keys()];
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

/** The fused cross-domain recommender. */
export class MigrationRecommender extends Recommender {
  readonly name = 'migrec' as const;
  private readonly opts: {
    target?: string;
    targets?: string[];
    sources?: string[];
    components: string[];
    candidates: number;
    minBucketUsers: number;
    bagging: number;
    longTail: { percentile: number; boost: number };
  };
  private components: Recommender[] = [];
  /** Names of the fitted components, parallel to `components` (the configured ones that apply to the data). */
  private active: string[] = [];
  private fusion: Array<TargetFusion | undefined> = [];
  /** Seconds spent fitting each component, and on the fusion weights. */
  readonly fitSeconds: Record<string, number> = {};

  constructor(options: MigrationOptions = {}) {
    super({ ...options, domain: options.domain ?? options.target });
    const components = [...(options.components ?? componentNames())];
    for (const c of components) {
      if (!COMPONENTS.has(c)) throw new RangeError(`options.components: unknown component ${JSON.stringify(c)} (known: ${componentNames().join(', ')})`);
    }
    if (!components.includes('popularity')) components.unshift('popularity'); // the last fallback is always there
    const candidates = options.candidates ?? 100;
    if (!Number.isInteger(candidates) || candidates <= 0) throw new RangeError(`options.candidates must be a positive integer (got ${String(candidates)})`);
    const minBucketUsers = options.minBucketUsers ?? 30;
    if (!Number.isInteger(minBucketUsers) || minBucketUsers <= 0) throw new RangeError(`options.minBucketUsers must be a positive integer (got ${String(minBucketUsers)})`);
    const longTail = options.longTail ?? { percentile: 0.8, boost: 0 };
    if (!(longTail.percentile >= 0 && longTail.percentile <= 1)) throw new RangeError(`options.longTail.percentile must be in [0, 1] (got ${String(longTail.percentile)})`);
    if (!(longTail.boost >= 0) || !Number.isFinite(longTail.boost)) throw new RangeError(`options.longTail.boost must be a finite number >= 0 (got ${String(longTail.boost)})`);
    const bagging = options.bagging ?? 8;
    if (!Number.isInteger(bagging) || bagging < 1) throw new RangeError(`options.bagging must be a positive integer (got ${String(bagging)})`);
    if (options.targets !== undefined && (!Array.isArray(options.targets) || options.targets.length === 0)) {
      throw new TypeError('options.targets must be a non-empty array of domain names');
    }
    this.opts = { target: options.target, targets: options.targets ? [...options.targets] : undefined, sources: options.sources ? [...options.sources] : undefined, components, candidates, minBucketUsers, bagging, longTail };
  }

  /** Load a fused model file. @throws {ModelFormatError} {StorageError} */
  static async load(path: string, options: ModelOptions = {}, content?: ModelFileContent): Promise<MigrationRecommender> {
    return new MigrationRecommender(options).loadInto(path, content);
  }

  private makeComponents(names: readonly string[]): Recommender[] {
    const targets = this.opts.target !== undefined ? [this.opts.target] : this.opts.targets;
    const o = { seed: this.seed, pool: this.pool, backend: this.backend, memoryBudget: this.memoryBudget, sources: this.opts.sources, targets };
    return names.map((c) => COMPONENTS.get(c)!(o));
  }

  /** Per target domain: components, bucket weights, score divisors (0: scaled per user) and the validation scores behind them. */
  weights(): Record<string, { components: string[]; weights: Record<Bucket, number[]>; scales: number[]; validation: Record<string, { users: number; ndcg: number }> }> {
    const data = this.fitted();
    const out: ReturnType<MigrationRecommender['weights']> = {};
    this.fusion.forEach((f, t) => {
      if (f) out[data.vocab.domains.id(t)] = { components: this.active, weights: f.weights, scales: f.scales, validation: f.validation };
    });
    return out;
  }

  protected async fitModel(data: Dataset, options: FitOptions): Promise<void> {
    // With one domain there is nothing to bridge from. Everything is built in locals and assigned
    // at the end, so a failed refit leaves the previous model whole.
    const active = data.nDomains < 2 ? this.opts.components.filter((c) => !CROSS_DOMAIN.has(c)) : [...this.opts.components];
    const components = this.makeComponents(active);
    const seconds: Record<string, number> = {};
    for (let m = 0; m < components.length; m++) {
      const t0 = performance.now();
      await components[m].fit(data, options);
      seconds[active[m]] = (performance.now() - t0) / 1000;
    }
    const t0 = performance.now();
    const named = this.opts.target !== undefined ? [this.opts.target] : this.opts.targets;
    const targets = named ? named.map((n) => this.domainIndex(n)) : [...Array(data.nDomains).keys()].filter((d) => data.nItems(d) > 0);
    const sourceIdx = this.opts.sources?.map((s) => this.domainIndex(s));
    const fusion: Array<TargetFusion | undefined> = Array.from({ length: data.nDomains }, () => undefined);
    for (const t of targets) {
      const sources = (sourceIdx ?? [...Array(data.nDomains).keys()]).filter((s) => s !== t && data.nItems(s) > 0);
      fusion[t] = await this.fitTarget(components, t, sources, options);
    }
    seconds.fusion = (performance.now() - t0) / 1000;
    this.components = components;
    this.active = active;
    this.fusion = fusion;
    for (const k of Object.keys(this.fitSeconds)) delete this.fitSeconds[k];
    Object.assign(this.fitSeconds, seconds);
  }

  private async fitTarget(components: Recommender[], t: number, sources: number[], options: FitOptions): Promise<TargetFusion> {
    const data = this.fitted();
    const nComp = components.length;
    const ones = new Array<number>(nComp).fill(1);
    const fusion: TargetFusion = { sources, weights: Object.fromEntries(BUCKETS.map((b) => [b, ones.slice()])) as Record<Bucket, number[]>, scales: new Array<number>(nComp).fill(0), validation: {} };
    fusion.boost = this.longTailBoost(t);
    const truth = options.valid ? validationTruth(options.valid, t, data.nItems[t]) : undefined;
    if (!truth || truth.users.length === 0) return fusion;
    const batch = this.batch(truth.users);
    const lists = await Promise.all(components.map((c) => Recommender.componentScore(c, batch, t, this.opts.candidates, { filterSeen: true }, this.pool)));
    fusion.scales = globalScales(lists, truth.users.length).map((x) => Math.fround(x));
    const cands = normalisedCandidates(lists, truth.users.length, fusion.scales);
    const buckets = this.bucketsOf(batch, t, sources);
    const rng = Rng.derive(this.seed, `fusion:${t}`);
    const all = baggedWeights(cands, truth.relevant, nComp, 10, this.opts.bagging, rng);
    fusion.validation.all = { users: cands.length, ndcg: all.ndcg };
    for (const b of BUCKETS) {
      const idx = buckets.flatMap((x, i) => (x === b ? [i] : []));
      if (idx.length === cands.length) {
        fusion.weights[b] = Array.from(all.weights);
        fusion.validation[b] = { users: idx.length, ndcg: all.ndcg };
      } else if (idx.length >= this.opts.minBucketUsers) {
        const r = baggedWeights(idx.map((i) => cands[i]), idx.map((i) => truth.relevant[i]), nComp, 10, this.opts.bagging, rng);
        fusion.weights[b] = Array.from(r.weights);
        fusion.validation[b] = { users: idx.length, ndcg: r.ndcg };
      } else {
        fusion.weights[b] = Array.from(all.weights);
        if (idx.length > 0) fusion.validation[b] = { users: idx.length, ndcg: NaN };
      }
    }
    return fusion;
  }

  /** Factor per item of target t: 1 + boost below the popularity percentile, 1 above (undefined without boost). */
  private longTailBoost(t: number, longTail = this.opts.longTail): Float32Array | undefined {
    const { percentile, boost } = longTail;
    if (boost === 0) return undefined;
    const pop = columnSums(this.fitted().matrices[t]);
    const sorted = Array.from(pop).sort((a, b) => a - b);
    const cut = sorted[Math.min(sorted.length - 1, Math.floor(percentile * sorted.length))] ?? 0;
    return Float32Array.from(pop, (p) => (p < cut ? 1 + boost : 1));
  }

  private bucketsOf(batch: UserBatch, t: number, sources: number[]): Bucket[] {
    const tr = batch.rows(t);
    const src = sources.map((s) => batch.rows(s));
    return Array.from(batch.users, (_, b) => {
      let s = 0;
      for (const m of src) s += m.indptr[b + 1] - m.indptr[b];
      return bucketOf(tr.indptr[b + 1] - tr.indptr[b], s);
    });
  }

  private target(t: number): TargetFusion {
    const f = this.fusion[t];
    if (!f) throw new UnknownIdError('domain', this.fitted().vocab.domains.id(t), 'the fused model was not fitted for this target domain');
    return f;
  }

  protected scoreBatch(batch: UserBatch, t: number, n: number, filter: ScoreFilter, pool: KernelPool | undefined): TopKRows | Promise<TopKRows> {
    const f = this.target(t);
    const per = Math.max(n, this.opts.candidates);
    const lists = this.components.map((c) => Recommender.componentScore(c, batch, t, per, filter, pool));
    const finish = (ls: TopKRows[]): TopKRows => {
      const m = batch.users.length;
      const cands = normalisedCandidates(ls, m, f.scales);
      const buckets = this.bucketsOf(batch, t, f.sources);
      const out: TopKRows = { k: n, counts: new Uint32Array(m), indices: new Uint32Array(m * n), scores: new Float32Array(m * n) };
      for (let b = 0; b < m; b++) {
        const r = fuseUser(cands[b], f.weights[buckets[b]], n, f.boost);
        out.counts[b] = r.items.length;
        out.indices.set(r.items, b * n);
        out.scores.set(r.scores, b * n);
      }
      return out;
    };
    if (lists.some((l) => l instanceof Promise)) return Promise.all(lists).then(finish);
    return finish(lists as TopKRows[]);
  }

  /** Similar items come from the item-kNN component (the fused scores are per user, not per item). */
  protected override similarItemsIndex(d: number, i: number, k: number): { indices: Uint32Array; scores: Float32Array } {
    const m = this.active.indexOf('itemknn');
    if (m < 0) throw new NotSupportedError('migrec: similarItems needs the itemknn component');
    return Recommender.componentSimilarItems(this.components[m], d, i, k);
  }

  protected explainScore(batch: UserBatch, t: number, item: number): { score: number; contributions: Contribution[] } {
    const f = this.target(t);
    const bucket = this.bucketsOf(batch, t, f.sources)[0];
    const weights = f.weights[bucket];
    const contributions: Contribution[] = [];
    let score = 0;
    this.components.forEach((c, m) => {
      if (weights[m] === 0) return;
      const list = Recommender.componentScore(c, batch, t, this.opts.candidates, { filterSeen: true }, undefined) as TopKRows;
      const n = list.counts[0];
      const at = Array.prototype.indexOf.call(list.indices.subarray(0, n), item) as number;
      if (at < 0) return; // not among this component's candidates: it adds nothing to the fused score
      const scores = list.scores.subarray(0, n);
      const max = Math.max(...scores);
      const min = Math.min(...scores);
      // The same scaling as normalisedCandidates: the target's divisor, else per user.
      const lo = f.scales[m] > 0 || min >= 0 ? 0 : min;
      const span = f.scales[m] > 0 ? f.scales[m] : max - lo;
      const share = weights[m] * (span > 0 ? (scores[at] - lo) / span : 1);
      const parts = Recommender.componentExplain(c, batch, t, item);
      const scale = parts.score !== 0 ? share / parts.score : 0;
      if (parts.contributions.length === 0 || scale === 0 || lo !== 0) {
        contributions.push({ kind: c.name === 'popularity' ? 'popularity' : 'model', id: '', weight: share, model: this.active[m] });
      } else {
        for (const p of parts.contributions) contributions.push({ ...p, weight: p.weight * scale, model: this.active[m] });
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

  protected exportState(): { meta: Record<string, unknown>; sections: Record<string, SectionArray> } {
    const sections: Record<string, SectionArray> = {};
    const componentMeta: Record<string, unknown> = {};
    this.components.forEach((c, m) => {
      const name = this.active[m];
      const s = Recommender.componentExport(c);
      componentMeta[name] = s.meta;
      for (const [k, v] of Object.entries(s.sections)) sections[`${name}.${k}`] = v;
    });
    const fusion = this.fusion.map((f) => (f ? { sources: f.sources, weights: f.weights, scales: f.scales, validation: f.validation } : null));
    return { meta: { options: this.opts, components: this.active, componentMeta, fusion }, sections };
  }

  protected importState(meta: Record<string, unknown>, sections: Record<string, SectionArray>, label: string): void {
    const data = this.fitted();
    const names = meta.components;
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string' || !COMPONENTS.has(n))) {
      throw new ModelFormatError(`${label}: unknown or missing component models (this migrec knows ${componentNames().join(', ')})`);
    }
    const componentMeta = (meta.componentMeta ?? {}) as Record<string, Record<string, unknown>>;
    const components = this.makeComponents(names as string[]);
    components.forEach((c, m) => {
      const name = names[m] as string;
      const own: Record<string, SectionArray> = {};
      for (const [k, v] of Object.entries(sections)) if (k.startsWith(`${name}.`)) own[k.slice(name.length + 1)] = v;
      Recommender.componentImport(c, data, componentMeta[name] ?? {}, own, label);
    });
    const fusion = meta.fusion;
    if (!Array.isArray(fusion) || fusion.length !== data.nItems.length) throw new ModelFormatError(`${label}: fusion weights are missing`);
    const saved = (meta.options ?? {}) as Partial<MigrationRecommender['opts']>;
    const longTail = saved.longTail ?? this.opts.longTail;
    const targets = fusion.map((raw: unknown, t: number) => {
      if (raw === null) return undefined;
      const f = raw as TargetFusion;
      for (const b of BUCKETS) {
        const w = f.weights?.[b];
        if (!Array.isArray(w) || w.length !== names.length || w.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
          throw new ModelFormatError(`${label}: fusion weights of domain ${t} are invalid`);
        }
      }
      // Files written before per-target scales existed scale every component per user.
      const scales = f.scales ?? new Array<number>(names.length).fill(0);
      if (!Array.isArray(scales) || scales.length !== names.length || scales.some((x) => typeof x !== 'number' || !(x >= 0) || !Number.isFinite(x))) {
        throw new ModelFormatError(`${label}: fusion scales of domain ${t} are invalid`);
      }
      return { sources: f.sources, weights: f.weights, scales, validation: f.validation ?? {}, boost: this.longTailBoost(t, longTail) };
    });
    // Everything checked: now take it.
    Object.assign(this.opts, saved);
    this.components = components;
    this.active = names as string[];
    this.fusion = targets;
  }
}
