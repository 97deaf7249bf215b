/**
 * `mf`: per-domain latent factors for implicit feedback, weighted matrix factorisation solved by
 * ALS with conjugate gradient (see als.ts), seeded. With validation data, ALS stops early per
 * domain when NDCG@10 of that domain's validation users has not improved for `patience`
 * iterations, and keeps the best iteration's factors. A user is scored by their factors (training
 * users), a fold-in solve (changed or new users) or the domain's mean user (no rows in the domain:
 * a popularity-like ranking). Optional item features train an encoder for long-tail items.
 */
import type { Dataset } from '../data/dataset.js';
import { ModelFormatError } from '../errors.js';
import type { ModelFileContent, SectionArray } from '../io/modelfile.js';
import { transposeCsr } from '../kernels/csr.js';
import type { TopKRows } from '../kernels/types.js';
import { Recommender, type Contribution, type ModelOptions, type ScoreFilter, type UserBatch } from '../models/base.js';
import type { FitOptions } from '../models/types.js';
import type { KernelPool } from '../pool/index.js';
import { gram } from './als.js';
import {
  batchVectors,
  checkFinite,
  checkTarget,
  denseTopN,
  exportFactors,
  importFactors,
  positiveInt,
  resolveFactorOptions,
  rowOf,
  trainFactors,
  userFactor,
  validNdcg,
  validUsers,
  type DomainFactors,
  type FactorOptions,
  type FactorSettings,
} from './common.js';
import { asFitError } from './cross.js';
import { alignFeatures, encodeTail, resolveEncoderOptions, type EncoderOptions, type EncoderReport, type EncoderSettings, type ItemFeatures } from './encoder.js';
import { initTensorflow } from './tf.js';

/** Options of `Mf`. */
export interface MfOptions extends ModelOptions, FactorOptions {
  /** Validation evaluations without improvement before ALS stops (with validation data). @default 2 */
  patience?: number;
  /** Item features for the long-tail encoder (one domain). @default undefined (no encoder) */
  itemFeatures?: ItemFeatures;
  /** Encoder settings. */
  encoder?: EncoderOptions;
}

/** Per-domain weighted matrix factorisation. */
export class Mf extends Recommender {
  readonly name = 'mf' as const;
  private readonly settings: FactorSettings;
  private readonly patience: number;
  private readonly features: ItemFeatures | undefined;
  private readonly encoder: EncoderSettings;
  private factors: Array<DomainFactors | undefined> = [];
  /** Figures of the last fit (iterations, validation curve, encoder). */
  lastFitStats: Record<string, unknown> = {};

  constructor(options: MfOptions = {}) {
    super(options);
    this.settings = resolveFactorOptions(options);
    this.patience = options.patience ?? 2;
    positiveInt('patience', this.patience);
    this.features = options.itemFeatures;
    this.encoder = resolveEncoderOptions(options.encoder);
  }

  /** Load an MF model file. @throws {ModelFormatError} {StorageError} */
  static async load(path: string, options: ModelOptions = {}, content?: ModelFileContent): Promise<Mf> {
    return new Mf(options).loadInto(path, content);
  }

  /** Item factors of a domain (row-major `nItems x factors`), after the encoder when one was used. */
  itemFactors(domain?: string): Float32Array {
    return this.factors[this.domainIndex(domain)]!.items;
  }

  protected async fitModel(data: Dataset, options: FitOptions): Promise<void> {
    const seed = options.seed ?? this.seed;
    const featDomain = this.features ? this.domainIndex(this.features.domain) : -1;
    const feats = this.features ? alignFeatures(this.features, (id) => data.vocab.items(featDomain).get(id), data.nItems(featDomain)) : undefined;
    for (let d = 0; d < data.nDomains; d++) if (data.nItems(d) > 0) checkTarget(data, d, 'mf');
    let cells = 0;
    for (let d = 0; d < data.nDomains; d++) if (data.nItems(d) > 0) cells += (data.nUsers + data.nItems(d)) * this.settings.factors;
    this.reserve(cells * 4 * 2, `the factor matrices (${cells / this.settings.factors} rows x ${this.settings.factors} factors, with ALS scratch)`);
    const tf = await initTensorflow();
    const out: Array<DomainFactors | undefined> = [];
    const stats: Record<string, unknown> = { iterations: this.settings.iterations };
    const t0 = performance.now();
    const domainSeconds: Record<string, number> = {};
    for (let d = 0; d < data.nDomains; d++) {
      if (data.nItems(d) === 0) {
        out.push(undefined);
        continue;
      }
      const s0 = performance.now();
      const name = data.vocab.domains.id(d);
      const m = data.matrix(d);
      const truth = validUsers(options.valid, d, data.nItems(d));
      const curve: number[] = [];
      let best: DomainFactors | undefined;
      let bestScore = -Infinity;
      let since = 0;
      const rows = truth ? this.gatherRows(truth.users, d) : undefined;
      let f = await trainFactors(m, transposeCsr(m), this.settings, seed, `mf:${name}`, truth ? (it, cur) => {
        const vec = new Float32Array(truth.users.length * cur.d);
        truth.users.forEach((u, b) => {
          const r = rowOf(rows!, b);
          vec.set(userFactor(cur, this.settings, m, u, r.idx, r.val), b * cur.d);
        });
        const score = validNdcg(this.backend, vec, cur.items, cur.d, rows!, truth.relevant);
        curve.push(score);
        if (score > bestScore) {
          bestScore = score;
          best = cur;
          since = 0;
        } else if (++since >= this.patience) return 'stop';
      } : undefined);
      if (best) f = best;
      let encoderReport: EncoderReport | undefined;
      if (feats && d === featDomain) {
        const counts = new Uint32Array(m.nCols);
        for (let t = 0; t < m.indices.length; t++) counts[m.indices[t]]++;
        try {
          const enc = encodeTail(tf, f.items, f.d, counts, feats, this.encoder, seed, name);
          checkFinite(enc.items, `mf:${name}: encoder`);
          f = { ...f, items: enc.items, gram: gram(enc.items, f.d, this.settings.regularization) };
          encoderReport = enc.report;
        } catch (e) {
          throw asFitError(e, `mf:${name}`);
        }
      }
      out.push(f);
      domainSeconds[name] = (performance.now() - s0) / 1000;
      stats[name] = { validNdcg10ByIteration: truth ? curve : undefined, bestIteration: truth ? curve.indexOf(bestScore) + 1 : this.settings.iterations, encoder: encoderReport };
    }
    this.factors = out;
    this.lastFitStats = { ...stats, als_s: (performance.now() - t0) / 1000, als_by_domain_s: domainSeconds };
  }

  protected scoreBatch(batch: UserBatch, d: number, n: number, filter: ScoreFilter, pool: KernelPool | undefined): TopKRows | Promise<TopKRows> {
    const f = this.factors[d]!;
    const rows = batch.rows(d);
    const train = this.fitted().matrices[d];
    const vectors = batchVectors(batch, f.d, (b) => {
      const r = rowOf(rows, b);
      return userFactor(f, this.settings, train, batch.users[b], r.idx, r.val);
    });
    return denseTopN(pool, this.backend, vectors, f.items, f.d, rows, n, filter);
  }

  /** Occlusion over the user's rows in the domain; the rest (mean user) is one popularity term. */
  protected explainScore(batch: UserBatch, d: number, item: number): { score: number; contributions: Contribution[] } {
    const f = this.factors[d]!;
    const data = this.fitted();
    const row = rowOf(batch.rows(d), 0);
    const dot = (v: Float32Array) => {
      let s = 0;
      for (let a = 0; a < f.d; a++) s += v[a] * f.items[item * f.d + a];
      return s;
    };
    const full = dot(userFactor(f, this.settings, data.matrices[d], batch.users[0], row.idx, row.val));
    const contributions: Contribution[] = [];
    let sum = 0;
    for (let q = 0; q < row.idx.length; q++) {
      const keep = (_: unknown, k: number) => k !== q;
      const idx = row.idx.filter(keep);
      const w = full - dot(userFactor(f, this.settings, data.matrices[d], 0xffffffff, idx, row.val.filter(keep)));
      sum += w;
      contributions.push({ kind: 'item', id: data.vocab.items(d).id(row.idx[q]), domain: data.vocab.domains.id(d), weight: w });
    }
    contributions.push({ kind: 'popularity', id: '', weight: full - sum });
    return { score: full, contributions };
  }

  /** Items closest by cosine of their factors. */
  protected override similarItemsIndex(d: number, i: number, k: number): { indices: Uint32Array; scores: Float32Array } {
    const f = this.factors[d]!;
    const n = f.items.length / f.d;
    const norms = new Float32Array(n);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let a = 0; a < f.d; a++) s += f.items[j * f.d + a] ** 2;
      norms[j] = Math.sqrt(s) || 1;
    }
    const q = f.items.slice(i * f.d, (i + 1) * f.d).map((v) => v / norms[i]);
    const unit = f.items.map((v, t) => v / norms[Math.floor(t / f.d)]);
    const seen = { nRows: 1, nCols: n, indptr: new Uint32Array(2), indices: new Uint32Array(0), data: new Float32Array(0) };
    const r = denseTopN(undefined, this.backend, q, unit, f.d, seen, Math.min(k, n), { filterSeen: false }) as TopKRows;
    return { indices: r.indices.slice(0, r.counts[0]), scores: r.scores.slice(0, r.counts[0]) };
  }

  protected exportState(): { meta: Record<string, unknown>; sections: Record<string, SectionArray> } {
    const sections: Record<string, SectionArray> = {};
    const dims = exportFactors(this.factors, sections);
    return { meta: { settings: this.settings, dims }, sections };
  }

  protected importState(meta: Record<string, unknown>, sections: Record<string, SectionArray>, label: string): void {
    const data = this.fitted();
    const s = meta.settings as FactorSettings | undefined;
    if (!s || typeof s.regularization !== 'number') throw new ModelFormatError(`${label}: MF settings are missing`);
    this.factors = importFactors(meta.dims, sections, data.nUsers, data.nItems, s.regularization, label);
    Object.assign(this.settings, s);
  }
}
