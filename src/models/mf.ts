/**
 * `mf`: per-domain latent factors for implicit feedback, weighted matrix factorisation solved by
 * ALS with conjugate gradient (see als.ts), seeded. With validation data, ALS stops early per
 * domain when NDCG@10 of that domain's validation users has not improved for `patience`
 * iterations, and keeps the best iteration's factors. A user is scored by their factors (training
 * users), a fold-in solve (changed or new users) or the domain's mean user (no rows in the domain:
 * a popularity-like ranking). Optional item features train an encoder for long-tail items.
 */
import { ModelFormatError } from '../errors.js';
import type { ModelFileContent } from '../io/modelfile.js';
import { transposeCsr } from '../kernels/csr.js';
import type { BackendName, TopKRows } from '../kernels/types.js';
import { MODEL_SCHEMAS } from '../options/index.js';
import type { KernelPool } from '../pool/index.js';
import { Recommender } from '../engine/facade.js';
import { denseTopN, denseTopNPooled, type ScoreFilter } from '../engine/exec.js';
import { gatherRows, rowOf, type ModelData, type UserBatch } from '../engine/rows.js';
import { reserve, type FitContext, type IndexList, type ModelDefinition, type SavedState, type Scorer, type ScoreParts } from '../engine/scorer.js';
import { BestOnValidation, validUsers } from '../engine/tuning.js';
import type { FitReport, ModelOptions } from '../engine/types.js';
import { alignFeatures, encodeTail, type EncoderOptions, type EncoderReport, type EncoderSettings, type ItemFeatures } from './encoder.js';
import {
  asFitError,
  batchVectors,
  checkFinite,
  checkTarget,
  exportFactors,
  factorSettings,
  importFactors,
  trainFactors,
  userFactor,
  validNdcg,
  withGram,
  type DomainFactors,
  type FactorOptions,
  type FactorSettings,
} from './factors.js';
import { liveFactors } from './factor-live.js';
import { initTensorflow } from './tf.js';

/** Options of `Mf` (schema: MODEL_SCHEMAS.mf). */
export interface MfOptions extends ModelOptions, FactorOptions {
  /** Validation evaluations without improvement before ALS stops (with validation data). @default 2 */
  patience?: number;
  /** Item features for the long-tail encoder (one domain). @default undefined (no encoder) */
  itemFeatures?: ItemFeatures;
  /** Encoder settings. */
  encoder?: EncoderOptions;
}

/** Factors of every domain, scored by dot product through the dense kernel. */
export class MfScorer implements Scorer {
  constructor(
    private readonly data: ModelData,
    private readonly backend: BackendName | 'auto',
    private readonly settings: FactorSettings,
    readonly factors: ReadonlyArray<DomainFactors | undefined>,
    private readonly fitInfo: Omit<FitReport, 'model'> = { seconds: {}, choices: {}, stats: {} },
  ) {}

  private vectors(batch: UserBatch, d: number): { f: DomainFactors; vectors: Float32Array } {
    const f = this.factors[d]!;
    const rows = batch.rows(d);
    const train = this.data.matrices[d];
    const vectors = batchVectors(batch, f.d, (b) => {
      const r = rowOf(rows, b);
      return userFactor(f, this.settings, train, batch.users[b], r.idx, r.val);
    });
    return { f, vectors };
  }

  score(batch: UserBatch, d: number, n: number, filter: ScoreFilter): TopKRows {
    const { f, vectors } = this.vectors(batch, d);
    return denseTopN(this.backend, vectors, f.items, f.d, batch.rows(d), n, filter);
  }

  scorePooled(batch: UserBatch, d: number, n: number, filter: ScoreFilter, pool: KernelPool): Promise<TopKRows> {
    const { f, vectors } = this.vectors(batch, d);
    return denseTopNPooled(pool, this.backend, vectors, f.items, f.d, batch.rows(d), n, filter);
  }

  /** Occlusion over the user's rows in the domain; the rest (mean user) is one popularity term. */
  explain(batch: UserBatch, d: number, item: number): ScoreParts {
    const f = this.factors[d]!;
    const data = this.data;
    const row = rowOf(batch.rows(d), 0);
    const dot = (v: Float32Array) => {
      let s = 0;
      for (let a = 0; a < f.d; a++) s += v[a] * f.items[item * f.d + a];
      return s;
    };
    const full = dot(userFactor(f, this.settings, data.matrices[d], batch.users[0], row.idx, row.val));
    const contributions: ScoreParts['contributions'] = [];
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
  similarItems(d: number, i: number, k: number): IndexList {
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
    const r = denseTopN(this.backend, q, unit, f.d, seen, Math.min(k, n), { filterSeen: false });
    return { indices: r.indices.slice(0, r.counts[0]), scores: r.scores.slice(0, r.counts[0]) };
  }

  exportState(): SavedState {
    const sections: SavedState['sections'] = {};
    const dims = exportFactors(this.factors, sections);
    return { meta: { dims }, sections };
  }

  report(): Omit<FitReport, 'model'> {
    return this.fitInfo;
  }
}

/** Train the factors of domain d, stopping early on its validation users when there are some. */
async function fitDomain(ctx: FitContext, s: FactorSettings, patience: number, d: number): Promise<{ f: DomainFactors; curve: number[]; best: number }> {
  const name = ctx.data.vocab.domains.id(d);
  const m = ctx.data.matrices[d];
  const truth = validUsers(ctx.valid, d, ctx.data.nItems[d]);
  const curve: number[] = [];
  const step = (it: number, total: number) => ctx.progress(`als:${name}`, it, total);
  if (!truth) return { f: await trainFactors(m, transposeCsr(m), s, ctx.seed, `mf:${name}`, undefined, step, { pool: ctx.pool, backend: ctx.backend }), curve, best: s.iterations };
  const best = new BestOnValidation<DomainFactors>(patience);
  const rows = gatherRows(ctx.data, truth.users, d, undefined);
  await trainFactors(m, transposeCsr(m), s, ctx.seed, `mf:${name}`, (_it, cur) => {
    const vec = new Float32Array(truth.users.length * cur.d);
    truth.users.forEach((u, b) => {
      const r = rowOf(rows, b);
      vec.set(userFactor(cur, s, m, u, r.idx, r.val), b * cur.d);
    });
    const score = validNdcg(ctx.backend, vec, cur.items, cur.d, rows, truth.relevant);
    curve.push(score);
    return best.offer(score, cur) ? 'stop' : undefined;
  }, step, { pool: ctx.pool, backend: ctx.backend });
  return { f: best.value!, curve, best: curve.indexOf(best.score) + 1 };
}

/** The mf model type. */
export const MF: ModelDefinition<MfScorer> = {
  name: 'mf',
  schema: MODEL_SCHEMAS.mf,
  capabilities: { similarItems: true, similarUsers: false, explain: true },
  async fit(ctx, options) {
    const data = ctx.data;
    const settings = factorSettings(options);
    const features = options.itemFeatures as ItemFeatures | undefined;
    const encoder = options.encoder as EncoderSettings;
    const featDomain = features ? ctx.domainIndex(features.domain) : -1;
    const feats = features ? alignFeatures(features, (id) => data.vocab.items(featDomain).get(id), data.nItems[featDomain]) : undefined;
    for (let d = 0; d < data.nItems.length; d++) if (data.nItems[d] > 0) checkTarget(ctx.dataset, d, 'mf');
    let cells = 0;
    for (let d = 0; d < data.nItems.length; d++) if (data.nItems[d] > 0) cells += (data.nUsers + data.nItems[d]) * settings.factors;
    reserve(ctx, cells * 4 * 2, `the factor matrices (${cells / settings.factors} rows x ${settings.factors} factors, with ALS scratch)`);
    const tf = await initTensorflow();
    const out: Array<DomainFactors | undefined> = [];
    // Per domain, in a null-prototype object: a domain may be named like anything.
    const byDomain: Record<string, unknown> = Object.create(null);
    const t0 = performance.now();
    const domainSeconds: Record<string, number> = {};
    for (let d = 0; d < data.nItems.length; d++) {
      if (data.nItems[d] === 0) {
        out.push(undefined);
        continue;
      }
      const s0 = performance.now();
      const name = data.vocab.domains.id(d);
      let { f, curve, best } = await fitDomain(ctx, settings, options.patience as number, d);
      let encoderReport: EncoderReport | undefined;
      if (feats && d === featDomain) {
        const m = data.matrices[d];
        const counts = new Uint32Array(m.nCols);
        for (let t = 0; t < m.indices.length; t++) counts[m.indices[t]]++;
        try {
          const enc = encodeTail(tf, f.items, f.d, counts, feats, encoder, ctx.seed, name);
          checkFinite(enc.items, `mf:${name}: encoder`);
          f = withGram({ d: f.d, users: f.users, items: enc.items, mean: f.mean }, settings.regularization);
          encoderReport = enc.report;
        } catch (e) {
          throw asFitError(e, `mf:${name}`);
        }
      }
      out.push(f);
      domainSeconds[name] = (performance.now() - s0) / 1000;
      byDomain[name] = { validNdcg10ByIteration: curve.length > 0 ? curve : undefined, bestIteration: best, encoder: encoderReport };
    }
    const seconds = { als: (performance.now() - t0) / 1000, ...Object.fromEntries(Object.entries(domainSeconds).map(([k, v]) => [`als:${k}`, v])) };
    return new MfScorer(data, ctx.backend, settings, out, { seconds, choices: {}, stats: { iterations: settings.iterations, domains: byDomain } });
  },
  restore(env, options, { meta, sections }, label) {
    const settings = factorSettings(options);
    if (!Array.isArray(meta.dims)) throw new ModelFormatError(`${label}: factor table is missing`);
    return new MfScorer(env.data, env.backend, settings, importFactors(meta.dims, sections, env.data.nUsers, env.data.nItems, settings.regularization, label));
  },
  async live(scorer, change, options) {
    return new MfScorer(change.after, change.backend, factorSettings(options), await liveFactors(scorer.factors, change, factorSettings(options)));
  },
};

/** Per-domain weighted matrix factorisation. */
export class Mf extends Recommender<MfScorer> {
  /** @throws {OptionTypeError|OptionRangeError} for a bad option. */
  constructor(options: MfOptions = {}) {
    super(MF, options);
  }

  /** Load an MF model file. @throws {ModelFormatError} {StorageError} */
  static async load(path: string, options: ModelOptions = {}, content?: ModelFileContent): Promise<Mf> {
    return new Mf(options).loadFrom(path, content);
  }

  /** Item factors of a domain (row-major `nItems x factors`), after the encoder when one was used. @throws {UnknownIdError} */
  itemFactors(domain?: string): Float32Array {
    return this.scorer().factors[this.domainOf(domain)]!.items;
  }
}
