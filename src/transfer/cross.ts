/**
 * Shared shape of the cross-domain transfer models (EMCDR, PTUPCDR): ALS factors per domain, and
 * per (source -> target) pair a mapping learned on the users present in both. A user who is cold
 * in the target but has source rows gets the mapped factors (averaged over the sources they have
 * rows in); a user with target rows keeps their own target factors; a user with neither gets the
 * target's mean user. Items are scored by dot product through the dense scoring kernel.
 */
import type { Dataset } from '../data/dataset.js';
import { DataError, ModelFitError, ModelFormatError, UnknownIdError } from '../errors.js';
import type { SectionArray } from '../io/modelfile.js';
import { transposeCsr } from '../kernels/csr.js';
import type { Csr, TopKRows } from '../kernels/types.js';
import { Recommender, type Contribution, type ModelOptions, type ScoreFilter, type UserBatch } from '../models/base.js';
import type { FitOptions } from '../models/types.js';
import type { KernelPool } from '../pool/index.js';
import { allFinite, alsHalfStepBatched } from './als.js';
import { ridge } from './linalg.js';
import {
  batchVectors,
  checkTarget,
  denseTopN,
  exportFactors,
  finishFactors,
  importFactors,
  nonNegative,
  positiveInt,
  resolveFactorOptions,
  rowOf,
  trainFactors,
  userFactor,
  validUsers,
  type DomainFactors,
  type FactorOptions,
  type FactorSettings,
} from './common.js';
import { initTensorflow, type Tf } from './tf.js';

/** Coupled target factors: see `CrossDomainOptions.coupling`. */
export interface CouplingOptions {
  /** Weight of the prior pulling an overlapping user's target factors towards their mapped source factors. */
  weight: number;
  /** Rounds of (linear maps, target user half-step with the prior, target item half-step). @default 4 */
  rounds?: number;
  /** Ridge strength of the linear maps that make the prior. @default 100 */
  ridge?: number;
}

/** Options every cross-domain transfer model takes. */
export interface CrossDomainOptions extends ModelOptions, FactorOptions {
  /** Source domains of every target. @default every other domain */
  sources?: readonly string[];
  /** Target domains to fit mappings for. @default every domain */
  targets?: readonly string[];
  /**
   * Couple the target factors to the sources before the mappings are learned: for a few rounds,
   * fit a ridge-linear map per source on the users in both domains, then re-solve the target ALS
   * with a Gaussian prior (this weight) pulling each such user's target factors towards the mean of
   * their mapped source factors, then re-solve the target items. The target space then holds
   * factors that the source can predict. Sources always use their plain factors. Off (plain ALS
   * factors, the EMCDR of the paper) unless set; on the Amazon validation users weight 1 helped
   * video games -> toys a little and was mixed on toys -> video games (docs/transfer.md).
   */
  coupling?: CouplingOptions;
}

/** What a pair's fit sees. */
export interface PairContext {
  tf: Tf;
  data: Dataset;
  source: number;
  target: number;
  fs: DomainFactors;
  ft: DomainFactors;
  /** Users with rows in both domains. */
  overlap: Uint32Array;
  /** Validation users of the target who have source rows, with their relevant target items and source rows. */
  valid?: { users: Uint32Array; relevant: Set<number>[]; sourceRows: Csr };
  seed: number;
  label: string;
}

/** A learned source -> target mapping. */
export interface PairMapping {
  /** Target-space vector (width = the model's scoring width) of a user from their source factor and source rows. */
  map(sourceFactor: Float32Array, idx: Uint32Array, val: Float32Array): Float32Array;
  /** Choices and validation figures for the report. */
  report: Record<string, unknown>;
  /** State for the model file. */
  export(prefix: string, sections: Record<string, SectionArray>): Record<string, unknown>;
}

/**
 * ALS factors of a domain matrix, computed once per (matrix, settings, seed, label) and shared by
 * every cross-domain model fitted on the same data in this process (the fused model fits EMCDR and
 * PTUPCDR on the same factors). Factors are never mutated after training.
 */
const factorCache = new WeakMap<Csr, Map<string, Promise<DomainFactors>>>();
function sharedFactors(m: Csr, s: FactorSettings, seed: number, label: string): Promise<DomainFactors> {
  let byKey = factorCache.get(m);
  if (!byKey) factorCache.set(m, (byKey = new Map()));
  const key = JSON.stringify([s, seed, label]);
  let f = byKey.get(key);
  if (!f) {
    f = trainFactors(m, transposeCsr(m), s, seed, label);
    byKey.set(key, f);
    f.catch(() => byKey!.delete(key)); // a failed training is not cached
  }
  return f;
}

/** Coupled factors of target t, computed once per (data, sources, settings, coupling, seed) like `sharedFactors`. */
function sharedCoupled(tf: Tf, data: Dataset, t: number, sources: number[], factors: Array<DomainFactors | undefined>, s: FactorSettings, c: Required<CouplingOptions>, seed: number, label: string): Promise<DomainFactors> {
  const m = data.matrix(t);
  let byKey = factorCache.get(m);
  if (!byKey) factorCache.set(m, (byKey = new Map()));
  const key = JSON.stringify([s, seed, label, 'coupled', c, sources]);
  let f = byKey.get(key);
  if (!f) {
    f = Promise.resolve().then(() => coupleTarget(tf, data, t, sources, factors, s, c, label));
    byKey.set(key, f);
    f.catch(() => byKey!.delete(key));
  }
  return f;
}

/**
 * Rounds of: a ridge-linear map per source (with intercept) from source to target factors on the
 * users with rows in both; the target user half-step with a prior of the given weight towards the
 * mean mapped factors of each such user; the target item half-step. Works on copies: the shared
 * plain factors stay as they are.
 * @throws {ModelFitError} when a factor becomes NaN or infinite.
 */
function coupleTarget(tf: Tf, data: Dataset, t: number, sources: number[], factors: Array<DomainFactors | undefined>, s: FactorSettings, c: Required<CouplingOptions>, label: string): DomainFactors {
  const ft = factors[t]!;
  const d = ft.d;
  const users = ft.users.slice();
  const items = ft.items.slice();
  const mt = data.matrix(t);
  const mtT = transposeCsr(mt);
  const als = { factors: d, regularization: s.regularization, alpha: s.alpha, cgSteps: s.cgSteps };
  const nU = data.nUsers;
  // Per source, fixed across rounds: the users in both domains and their source factors with a 1.
  const designs = sources.map((src) => {
    const fs = factors[src]!;
    const ms = data.matrix(src);
    const ds = fs.d;
    const both: number[] = [];
    for (let u = 0; u < nU; u++) if (ms.indptr[u + 1] > ms.indptr[u] && mt.indptr[u + 1] > mt.indptr[u]) both.push(u);
    const x1 = new Float64Array(both.length * (ds + 1));
    both.forEach((u, q) => {
      for (let a = 0; a < ds; a++) x1[q * (ds + 1) + a] = fs.users[u * ds + a];
      x1[q * (ds + 1) + ds] = 1;
    });
    return { both, x1, p: ds + 1 };
  });
  for (let round = 1; round <= c.rounds; round++) {
    const values = new Float32Array(nU * d);
    const count = new Uint16Array(nU);
    for (const { both, x1, p } of designs) {
      if (both.length === 0) continue;
      const y = new Float64Array(both.length * d);
      both.forEach((u, q) => {
        for (let a = 0; a < d; a++) y[q * d + a] = users[u * d + a];
      });
      const w = ridge(x1, y, both.length, p, d, c.ridge, true);
      both.forEach((u, q) => {
        for (let b = 0; b < d; b++) {
          let acc = 0;
          for (let a = 0; a < p; a++) acc += x1[q * p + a] * w[a * d + b];
          values[u * d + b] += acc;
        }
        count[u]++;
      });
    }
    for (let u = 0; u < nU; u++) if (count[u] > 1) for (let a = 0; a < d; a++) values[u * d + a] /= count[u];
    alsHalfStepBatched(tf, users, items, mt, als, { weight: c.weight, has: count, values });
    alsHalfStepBatched(tf, items, users, mtT, als);
    if (!allFinite(users) || !allFinite(items)) throw new ModelFitError(`${label}: coupled ALS produced NaN or infinite factors in round ${round} (check coupling.weight)`);
  }
  return finishFactors(mt, users, items, d, s.regularization);
}

/**
 * Checked coupling settings with defaults.
 * @throws {TypeError} for a non-object or an unknown key. {RangeError} for a bad value.
 */
function resolveCoupling(c: CouplingOptions): Required<CouplingOptions> {
  if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new TypeError('options.coupling must be an object { weight, rounds?, ridge? }');
  for (const key of Object.keys(c)) {
    if (!['weight', 'rounds', 'ridge'].includes(key)) throw new TypeError(`options.coupling has an unknown key ${JSON.stringify(key)} (known: weight, rounds, ridge)`);
  }
  nonNegative('coupling.weight', c.weight);
  if (c.rounds !== undefined) positiveInt('coupling.rounds', c.rounds);
  if (c.ridge !== undefined) nonNegative('coupling.ridge', c.ridge);
  return { weight: c.weight, rounds: c.rounds ?? 4, ridge: c.ridge ?? 100 };
}

/** Base of EMCDR and PTUPCDR. */
export abstract class CrossDomainModel extends Recommender {
  protected readonly factorSettings: FactorSettings;
  private readonly sourceNames: string[] | undefined;
  private readonly targetNames: string[] | undefined;
  /** Settings of `options.coupling` (restored from a model file on load). */
  private coupling: Required<CouplingOptions> | undefined;
  /** Plain ALS factors per domain: the source side of every pair, and the target side unless coupled. */
  protected factors: Array<DomainFactors | undefined> = [];
  /** Coupled target-side factors per domain (`options.coupling`); undefined where not coupled. */
  protected coupled: Array<DomainFactors | undefined> = [];
  protected pairs: Array<Array<{ source: number; mapping: PairMapping }>> = [];
  /** Seconds spent per stage of the last fit. */
  lastFitStats: Record<string, unknown> = {};

  constructor(options: CrossDomainOptions = {}) {
    super(options);
    this.factorSettings = resolveFactorOptions(options);
    if (options.sources !== undefined && (!Array.isArray(options.sources) || options.sources.length === 0)) {
      throw new TypeError('options.sources must be a non-empty array of domain names');
    }
    this.sourceNames = options.sources ? [...options.sources] : undefined;
    if (options.targets !== undefined && (!Array.isArray(options.targets) || options.targets.length === 0)) {
      throw new TypeError('options.targets must be a non-empty array of domain names');
    }
    this.targetNames = options.targets ? [...options.targets] : undefined;
    if (options.coupling !== undefined) this.coupling = resolveCoupling(options.coupling);
  }

  /** Learn the mapping of one pair. */
  protected abstract fitPair(ctx: PairContext): Promise<PairMapping>;
  /** Restore the mapping of one pair from the model file. */
  protected abstract importPair(meta: Record<string, unknown>, prefix: string, sections: Record<string, SectionArray>, ft: DomainFactors, fs: DomainFactors, label: string): PairMapping;
  /** Scoring width and item matrix of target t (item factors, possibly with extra columns). */
  protected abstract targetItems(t: number): { dim: number; items: Float32Array };
  /** A target-factor vector (warm user or mean) widened to the scoring width. */
  protected abstract widen(t: number, v: Float32Array, cold: boolean): Float32Array;

  /** The coupling settings in use (`options.coupling`, or as saved in a loaded model file); undefined when off. */
  couplingSettings(): Readonly<Required<CouplingOptions>> | undefined {
    return this.coupling && { ...this.coupling };
  }

  /** The factors a target domain is scored in: its coupled factors if any, else its plain ones. */
  protected targetSide(t: number): DomainFactors | undefined {
    return this.coupled[t] ?? this.factors[t];
  }

  /** Per target domain and source: the chosen mapping and the validation figures behind it. */
  choices(): Record<string, Record<string, unknown>> {
    const data = this.fitted();
    const out: Record<string, Record<string, unknown>> = {};
    this.pairs.forEach((list, t) => {
      for (const p of list) out[`${data.vocab.domains.id(p.source)}->${data.vocab.domains.id(t)}`] = p.mapping.report;
    });
    return out;
  }

  protected async fitModel(data: Dataset, options: FitOptions): Promise<void> {
    const seed = options.seed ?? this.seed;
    const nD = data.nDomains;
    if (nD < 2) throw new DataError({ file: data.events.source }, `${this.name} needs at least two domains (a source and a target)`);
    const sourceIdx = this.sourceNames?.map((s) => this.domainIndex(s));
    const targets: number[] = [];
    const wanted = this.targetNames?.map((t) => this.domainIndex(t));
    for (let t = 0; t < nD; t++) if (data.nItems(t) > 0 && (!wanted || wanted.includes(t))) targets.push(t);
    for (const t of targets) checkTarget(data, t, this.name);
    const tf = await initTensorflow();
    const t0 = performance.now();
    // 1. ALS factors of every domain.
    let cells = 0;
    for (let d = 0; d < nD; d++) if (data.nItems(d) > 0) cells += (data.nUsers + data.nItems(d)) * this.factorSettings.factors;
    if (this.coupling && this.coupling.weight > 0) {
      for (const t of targets) cells += (data.nUsers + data.nItems(t)) * this.factorSettings.factors * 2; // the coupled copy and the prior
    }
    this.reserve(cells * 4 * 2, `the factor matrices (${cells / this.factorSettings.factors} rows x ${this.factorSettings.factors} factors, with ALS scratch)`);
    const factors: Array<DomainFactors | undefined> = [];
    const alsSeconds: Record<string, number> = {};
    for (let d = 0; d < nD; d++) {
      if (data.nItems(d) === 0) {
        factors.push(undefined);
        continue;
      }
      const s = performance.now();
      const m = data.matrix(d);
      factors.push(await sharedFactors(m, this.factorSettings, seed, `cross:${data.vocab.domains.id(d)}`));
      alsSeconds[data.vocab.domains.id(d)] = (performance.now() - s) / 1000;
    }
    // 1b. Optionally, target-side factors coupled to their sources (always from the plain factors,
    // so neither the order of the targets nor other fits change them).
    const tc = performance.now();
    const coupled: Array<DomainFactors | undefined> = Array.from({ length: nD }, () => undefined);
    const couplingRan = !!this.coupling && this.coupling.weight > 0;
    if (couplingRan) {
      for (const t of targets) {
        const sources = (sourceIdx ?? [...Array(nD).keys()]).filter((s) => s !== t && data.nItems(s) > 0);
        if (sources.length > 0) coupled[t] = await sharedCoupled(tf, data, t, sources, factors, this.factorSettings, this.coupling!, seed, `cross:${data.vocab.domains.id(t)}`);
      }
    }
    const t1 = performance.now();
    // 2. A mapping per (source -> target) pair.
    const pairs: Array<Array<{ source: number; mapping: PairMapping }>> = Array.from({ length: nD }, () => []);
    for (const t of targets) {
      const sources = (sourceIdx ?? [...Array(nD).keys()]).filter((s) => s !== t && data.nItems(s) > 0);
      for (const s of sources) {
        const ms = data.matrix(s);
        const mt = data.matrix(t);
        const ov: number[] = [];
        for (let u = 0; u < data.nUsers; u++) if (ms.indptr[u + 1] > ms.indptr[u] && mt.indptr[u + 1] > mt.indptr[u]) ov.push(u);
        const names = `"${data.vocab.domains.id(s)}" and "${data.vocab.domains.id(t)}"`;
        if (ov.length === 0) throw new DataError({ file: data.events.source }, `domains ${names} share no users: ${this.name} needs users with rows in both to learn a mapping`);
        const truth = validUsers(options.valid, t, data.nItems(t));
        let valid: PairContext['valid'];
        if (truth) {
          const keep = Array.from(truth.users.keys()).filter((b) => {
            const u = truth.users[b];
            return u < data.nUsers && ms.indptr[u + 1] > ms.indptr[u] && mt.indptr[u + 1] === mt.indptr[u];
          });
          if (keep.length > 0) {
            const users = Uint32Array.from(keep, (b) => truth.users[b]);
            valid = { users, relevant: keep.map((b) => truth.relevant[b]), sourceRows: this.gatherRows(users, s) };
          }
        }
        const mapping = await this.fitPair({ tf, data, source: s, target: t, fs: factors[s]!, ft: (coupled[t] ?? factors[t])!, overlap: Uint32Array.from(ov), valid, seed, label: `${this.name}:${data.vocab.domains.id(s)}->${data.vocab.domains.id(t)}` });
        pairs[t].push({ source: s, mapping });
      }
    }
    // 3. Only now replace the previous state (a failure above leaves it untouched).
    this.factors = factors;
    this.coupled = coupled;
    this.pairs = pairs;
    this.lastFitStats = {
      als_s: (tc - t0) / 1000,
      als_by_domain_s: alsSeconds,
      iterations: this.factorSettings.iterations,
      ...(couplingRan ? { coupling_s: (t1 - tc) / 1000, coupling: { ...this.coupling! } } : {}),
      mapping_s: (performance.now() - t1) / 1000,
    };
  }

  /** The scoring vector of batch user b in target t. */
  protected vectorFor(batch: UserBatch, b: number, t: number): Float32Array {
    const data = this.fitted();
    const u = batch.users[b];
    const tr = rowOf(batch.rows(t), b);
    const ft = this.targetSide(t)!;
    if (tr.idx.length > 0) return this.widen(t, userFactor(ft, this.factorSettings, data.matrices[t], u, tr.idx, tr.val), false);
    const { dim } = this.targetItems(t);
    const acc = new Float32Array(dim);
    let n = 0;
    for (const p of this.pairs[t]) {
      const sr = rowOf(batch.rows(p.source), b);
      if (sr.idx.length === 0) continue;
      const xs = userFactor(this.factors[p.source]!, this.factorSettings, data.matrices[p.source], u, sr.idx, sr.val);
      const v = p.mapping.map(xs, sr.idx, sr.val);
      for (let a = 0; a < dim; a++) acc[a] += v[a];
      n++;
    }
    if (n === 0) return this.widen(t, ft.mean, true);
    if (n > 1) for (let a = 0; a < dim; a++) acc[a] /= n;
    return acc;
  }

  private plan(t: number): void {
    if (!this.targetSide(t) || (this.pairs[t] ?? []).length === 0) {
      throw new UnknownIdError('domain', this.fitted().vocab.domains.id(t), `${this.name} was not fitted for this target domain (no source domain, or not in options.targets)`);
    }
  }

  protected scoreBatch(batch: UserBatch, t: number, n: number, filter: ScoreFilter, pool: KernelPool | undefined): TopKRows | Promise<TopKRows> {
    this.plan(t);
    const { dim, items } = this.targetItems(t);
    const vectors = batchVectors(batch, dim, (b) => this.vectorFor(batch, b, t));
    return denseTopN(pool, this.backend, vectors, items, dim, batch.rows(t), n, filter);
  }

  /**
   * Occlusion: each of the user's rows (target rows for a warm user, source rows otherwise) gets
   * score minus the score without that row; the remainder (what is left with no rows: the mapping's
   * bias, the mean user) is one `popularity` term, so the terms add up to the score.
   */
  protected explainScore(batch: UserBatch, t: number, item: number): { score: number; contributions: Contribution[] } {
    this.plan(t);
    const data = this.fitted();
    const { dim, items } = this.targetItems(t);
    const scoreOf = (v: Float32Array) => {
      let s = 0;
      for (let a = 0; a < dim; a++) s += v[a] * items[item * dim + a];
      return s;
    };
    const domains = rowOf(batch.rows(t), 0).idx.length > 0 ? [t] : this.pairs[t].map((p) => p.source);
    const full = scoreOf(this.vectorFor(batch, 0, t));
    const contributions: Contribution[] = [];
    let sum = 0;
    for (const d of domains) {
      const row = rowOf(batch.rows(d), 0);
      for (let q = 0; q < row.idx.length; q++) {
        const keep = (_: unknown, k: number) => k !== q;
        const rows = (dd: number): Csr => {
          const m = batch.rows(dd);
          if (dd !== d) return { ...m, nRows: 1, indptr: Uint32Array.of(0, m.indptr[1] - m.indptr[0]), indices: m.indices.slice(m.indptr[0], m.indptr[1]), data: m.data.slice(m.indptr[0], m.indptr[1]) };
          const idx = row.idx.filter(keep);
          return { nRows: 1, nCols: m.nCols, indptr: Uint32Array.of(0, idx.length), indices: idx, data: row.val.filter(keep) };
        };
        // A user index that never matches stored rows, so the occluded rows are folded in.
        const probe = { users: Uint32Array.of(0xffffffff), rows } as unknown as UserBatch;
        const w = full - scoreOf(this.vectorFor(probe, 0, t));
        sum += w;
        contributions.push({ kind: 'item', id: data.vocab.items(d).id(row.idx[q]), domain: data.vocab.domains.id(d), weight: w });
      }
    }
    contributions.push({ kind: 'popularity', id: '', weight: full - sum });
    return { score: full, contributions };
  }

  protected exportState(): { meta: Record<string, unknown>; sections: Record<string, SectionArray> } {
    const sections: Record<string, SectionArray> = {};
    const dims = exportFactors(this.factors, sections);
    const coupledSections: Record<string, SectionArray> = {};
    const coupledDims = this.coupled.some(Boolean) ? exportFactors(this.coupled, coupledSections) : undefined;
    for (const [k, v] of Object.entries(coupledSections)) sections[`coupled.${k}`] = v;
    const pairs = this.pairs.map((list, t) => list.map((p) => ({ source: p.source, report: p.mapping.report, state: p.mapping.export(`map.${t}.${p.source}`, sections) })));
    return { meta: { factorSettings: this.factorSettings, dims, coupledDims, coupling: this.coupling ?? null, pairs, extra: this.exportExtra(sections) }, sections };
  }

  /** Model-specific extra state (target item matrices...). */
  protected exportExtra(_sections: Record<string, SectionArray>): Record<string, unknown> {
    return {};
  }

  /** Restore model-specific extra state. */
  protected importExtra(_extra: Record<string, unknown>, _sections: Record<string, SectionArray>, _label: string): void {}

  protected importState(meta: Record<string, unknown>, sections: Record<string, SectionArray>, label: string): void {
    const data = this.fitted();
    const fsSaved = meta.factorSettings as FactorSettings | undefined;
    if (!fsSaved || typeof fsSaved.regularization !== 'number') throw new ModelFormatError(`${label}: factor settings are missing`);
    Object.assign(this.factorSettings, fsSaved);
    const factors = importFactors(meta.dims, sections, data.nUsers, data.nItems, fsSaved.regularization, label);
    // Files without coupled factors (older ones, or coupling off) score in the plain factors.
    const coupledSections: Record<string, SectionArray> = {};
    for (const [k, v] of Object.entries(sections)) if (k.startsWith('coupled.')) coupledSections[k.slice('coupled.'.length)] = v;
    const coupled = meta.coupledDims === undefined ? [] : importFactors(meta.coupledDims, coupledSections, data.nUsers, data.nItems, fsSaved.regularization, `${label} (coupled)`);
    let coupling: Required<CouplingOptions> | undefined;
    if (meta.coupling !== undefined && meta.coupling !== null) {
      try {
        coupling = resolveCoupling(meta.coupling as CouplingOptions);
      } catch (e) {
        throw new ModelFormatError(`${label}: coupling settings are invalid (${(e as Error).message})`);
      }
    }
    const raw = meta.pairs;
    if (!Array.isArray(raw) || raw.length !== data.nItems.length) throw new ModelFormatError(`${label}: mapping table is missing`);
    const previous = { factors: this.factors, coupled: this.coupled, pairs: this.pairs, coupling: this.coupling };
    this.factors = factors;
    this.coupled = coupled;
    this.coupling = coupling;
    try {
      this.importExtra((meta.extra ?? {}) as Record<string, unknown>, sections, label);
      this.pairs = raw.map((list: unknown, t: number) => {
        if (!Array.isArray(list)) throw new ModelFormatError(`${label}: mapping table is invalid`);
        return list.map((p: { source?: unknown; report?: unknown; state?: unknown }) => {
          const s = Number(p.source);
          if (!(s >= 0 && s < data.nItems.length) || !factors[s] || !factors[t]) throw new ModelFormatError(`${label}: mapping ${s}->${t} is invalid`);
          const mapping = this.importPair((p.state ?? {}) as Record<string, unknown>, `map.${t}.${s}`, sections, (coupled[t] ?? factors[t])!, factors[s]!, label);
          mapping.report = (p.report ?? {}) as Record<string, unknown>;
          return { source: s, mapping };
        });
      });
    } catch (e) {
      this.factors = previous.factors;
      this.coupled = previous.coupled;
      this.coupling = previous.coupling;
      this.pairs = previous.pairs;
      throw e;
    }
  }
}

/** A Float32Array section or a ModelFormatError. */
export function f32Section(sections: Record<string, SectionArray>, name: string, length: number, label: string): Float32Array {
  const a = sections[name];
  if (!(a instanceof Float32Array) || a.length !== length) throw new ModelFormatError(`${label}: section ${name} is missing or has the wrong size`);
  return a;
}

/** Map a non-finite training failure to ModelFitError. */
export function asFitError(e: unknown, label: string): unknown {
  if (e && typeof e === 'object' && (e as { nonFinite?: boolean }).nonFinite) return new ModelFitError(`${label}: ${(e as Error).message}`);
  return e;
}
