/**
 * EMCDR (Man, Shen, Jin & Cheng, IJCAI 2017): embed each domain with latent factors (here ALS),
 * learn a mapping source user factors -> target user factors on the users present in both domains
 * (ridge-regularised linear, or a one-hidden-layer tanh MLP trained by MSE), and give a user who
 * is cold in the target the mapped factors, scored against the target item factors by the dense
 * kernel. With validation data the mapping (kind, ridge strength, MLP epochs) is chosen per pair
 * by NDCG@10 of the validation users; without it, the linear map with the default ridge.
 */
import type { ModelFileContent, SectionArray } from '../io/modelfile.js';
import { ModelFormatError } from '../errors.js';
import type { ModelOptions } from '../models/base.js';
import { nonNegative, positive, positiveInt, validNdcg, type DomainFactors } from './common.js';
import { asFitError, CrossDomainModel, f32Section, type CrossDomainOptions, type PairContext, type PairMapping } from './cross.js';
import { ridge } from './linalg.js';
import { mlpForward, trainMlp, type Mlp } from './nn.js';

/** Kind of mapping. */
export type MappingKind = 'linear' | 'mlp';

/** Options of `Emcdr`. */
export interface EmcdrOptions extends CrossDomainOptions {
  /** `linear`, `mlp`, or `auto` (chosen on validation data; `linear` without it). @default 'auto' */
  mapping?: MappingKind | 'auto';
  /** Ridge strength of the linear map (the intercept is not penalised). @default 10 */
  ridge?: number;
  /** Ridge strengths tried on validation data (equal scores keep the stronger ridge). @default [1, 10, 100, 1000] */
  ridgeGrid?: readonly number[];
  /** Hidden units of the MLP map. @default 2 * factors */
  hidden?: number;
  /** Most MLP epochs (early stopping on validation NDCG every 5 epochs, patience 4). @default 60 */
  epochs?: number;
  /** Adam learning rate of the MLP. @default 0.003 */
  learningRate?: number;
  /** MLP mini-batch size. @default 256 */
  batchSize?: number;
}

/** EMCDR: embedding and mapping for cold users of a target domain. */
export class Emcdr extends CrossDomainModel {
  readonly name = 'emcdr' as const;
  private readonly opts: { mapping: MappingKind | 'auto'; ridge: number; ridgeGrid: number[]; hidden: number; epochs: number; learningRate: number; batchSize: number };

  constructor(options: EmcdrOptions = {}) {
    super(options);
    const mapping = options.mapping ?? 'auto';
    if (!['auto', 'linear', 'mlp'].includes(mapping)) throw new RangeError(`options.mapping must be auto, linear or mlp (got ${JSON.stringify(mapping)})`);
    const grid = [...(options.ridgeGrid ?? [1, 10, 100, 1000])];
    if (grid.length === 0) throw new RangeError('options.ridgeGrid must not be empty');
    grid.forEach((g) => nonNegative('ridgeGrid[]', g));
    this.opts = {
      mapping,
      ridge: options.ridge ?? 10,
      ridgeGrid: grid,
      hidden: options.hidden ?? 2 * this.factorSettings.factors,
      epochs: options.epochs ?? 60,
      learningRate: options.learningRate ?? 0.003,
      batchSize: options.batchSize ?? 256,
    };
    nonNegative('ridge', this.opts.ridge);
    positiveInt('hidden', this.opts.hidden);
    positiveInt('epochs', this.opts.epochs);
    positive('learningRate', this.opts.learningRate);
    positiveInt('batchSize', this.opts.batchSize);
  }

  /** Load an EMCDR model file. @throws {ModelFormatError} {StorageError} */
  static async load(path: string, options: ModelOptions = {}, content?: ModelFileContent): Promise<Emcdr> {
    return new Emcdr(options).loadInto(path, content);
  }

  protected targetItems(t: number): { dim: number; items: Float32Array } {
    const f = this.targetSide(t)!;
    return { dim: f.d, items: f.items };
  }

  protected widen(_t: number, v: Float32Array): Float32Array {
    return v;
  }

  protected async fitPair(ctx: PairContext): Promise<PairMapping> {
    const { fs, ft, overlap } = ctx;
    const ds = fs.d;
    const dt = ft.d;
    const n = overlap.length;
    const x = new Float32Array(n * ds);
    const y = new Float32Array(n * dt);
    overlap.forEach((u, r) => {
      x.set(fs.users.subarray(u * ds, (u + 1) * ds), r * ds);
      y.set(ft.users.subarray(u * dt, (u + 1) * dt), r * dt);
    });
    const x1 = new Float64Array(n * (ds + 1));
    const y64 = Float64Array.from(y);
    for (let r = 0; r < n; r++) {
      for (let a = 0; a < ds; a++) x1[r * (ds + 1) + a] = x[r * ds + a];
      x1[r * (ds + 1) + ds] = 1;
    }
    const linear = (mu: number): PairMapping => linearMapping(ridge(x1, y64, n, ds + 1, dt, mu, true), ds, dt, mu);
    const v = ctx.valid;
    // Validation users' source factors (training users: stored factors).
    const score = (m: PairMapping): number => {
      if (!v) return 0;
      const vec = new Float32Array(v.users.length * dt);
      v.users.forEach((u, b) => vec.set(m.map(fs.users.subarray(u * ds, (u + 1) * ds), new Uint32Array(0), new Float32Array(0)), b * dt));
      const seen = { nRows: v.users.length, nCols: ft.items.length / dt, indptr: new Uint32Array(v.users.length + 1), indices: new Uint32Array(0), data: new Float32Array(0) };
      return validNdcg(this.backend, vec, ft.items, dt, seen, v.relevant);
    };
    if (!v) {
      const m = this.opts.mapping === 'mlp' ? this.mlp(ctx, x, y, n, undefined).mapping : linear(this.opts.ridge);
      m.report = { kind: this.opts.mapping === 'mlp' ? 'mlp' : 'linear', overlap: n };
      return m;
    }
    const validation: Record<string, number> = {};
    let best: PairMapping | undefined;
    let bestScore = -Infinity;
    let bestName = '';
    const consider = (name: string, m: PairMapping, s: number) => {
      validation[name] = s;
      if (s > bestScore) {
        bestScore = s;
        best = m;
        bestName = name;
      }
    };
    if (this.opts.mapping !== 'mlp') {
      // Strongest ridge first, so that equal scores keep the stronger ridge (the simpler map), as
      // PTUPCDR's start does; the report lists the grid in the order given.
      const order = [...this.opts.ridgeGrid].sort((a, b) => b - a);
      const scored = new Map(order.map((mu) => {
        const m = linear(mu);
        return [mu, { m, s: score(m) }] as const;
      }));
      for (const mu of this.opts.ridgeGrid) validation[`linear@ridge=${mu}`] = scored.get(mu)!.s;
      for (const mu of order) consider(`linear@ridge=${mu}`, scored.get(mu)!.m, scored.get(mu)!.s);
    }
    let curve: Array<{ epoch: number; score: number }> | undefined;
    if (this.opts.mapping !== 'linear') {
      const r = this.mlp(ctx, x, y, n, score);
      curve = r.curve;
      consider(`mlp@epochs=${r.bestEpoch}`, r.mapping, r.bestScore);
    }
    best!.report = { kind: bestName.split('@')[0], choice: bestName, overlap: n, validUsers: v.users.length, validNdcg10: validation, mlpCurve: curve };
    return best!;
  }

  private mlp(ctx: PairContext, x: Float32Array, y: Float32Array, n: number, score: ((m: PairMapping) => number) | undefined): { mapping: PairMapping; curve: Array<{ epoch: number; score: number }>; bestEpoch: number; bestScore: number } {
    const ds = ctx.fs.d;
    const dt = ctx.ft.d;
    try {
      const r = trainMlp(ctx.tf, x, y, n, ds, this.opts.hidden, dt, 'tanh', {
        epochs: this.opts.epochs,
        batchSize: this.opts.batchSize,
        learningRate: this.opts.learningRate,
        l2: 0,
        seed: ctx.seed,
        label: `${ctx.label}:mlp`,
        evaluate: score ? (m) => score(mlpMapping(m)) : undefined,
        evalEvery: 5,
        patience: 4,
      });
      let bestEpoch = r.epochs;
      let bestScore = 0;
      for (const c of r.curve) if (c.score > bestScore || bestScore === 0) {
        if (c.score > bestScore) {
          bestScore = c.score;
          bestEpoch = c.epoch;
        }
      }
      return { mapping: mlpMapping(r.mlp), curve: r.curve, bestEpoch, bestScore };
    } catch (e) {
      throw asFitError(e, ctx.label);
    }
  }

  protected importPair(meta: Record<string, unknown>, prefix: string, sections: Record<string, SectionArray>, ft: DomainFactors, fs: DomainFactors, label: string): PairMapping {
    const ds = fs.d;
    const dt = ft.d;
    if (meta.kind === 'linear') return linearMapping(f32Section(sections, `${prefix}.w`, (ds + 1) * dt, label), ds, dt, Number(meta.ridge));
    if (meta.kind === 'mlp') {
      const h = Number(meta.hidden);
      return mlpMapping({
        hidden: { nIn: ds, nOut: h, w: f32Section(sections, `${prefix}.w1`, ds * h, label), b: f32Section(sections, `${prefix}.b1`, h, label) },
        out: { nIn: h, nOut: dt, w: f32Section(sections, `${prefix}.w2`, h * dt, label), b: f32Section(sections, `${prefix}.b2`, dt, label) },
        act: 'tanh',
      });
    }
    throw new ModelFormatError(`${label}: unknown mapping kind ${JSON.stringify(meta.kind)}`);
  }
}

/** x -> [x, 1] W, W `(ds + 1) x dt` (last row: intercept). */
function linearMapping(w: Float32Array, ds: number, dt: number, mu: number): PairMapping {
  return {
    map(xs) {
      const out = new Float32Array(dt);
      for (let j = 0; j < dt; j++) out[j] = w[ds * dt + j];
      for (let a = 0; a < ds; a++) {
        const xa = xs[a];
        for (let j = 0; j < dt; j++) out[j] += xa * w[a * dt + j];
      }
      return out;
    },
    report: {},
    export(prefix, sections) {
      sections[`${prefix}.w`] = w;
      return { kind: 'linear', ridge: mu };
    },
  };
}

function mlpMapping(m: Mlp): PairMapping {
  return {
    map: (xs) => mlpForward(m, xs),
    report: {},
    export(prefix, sections) {
      sections[`${prefix}.w1`] = m.hidden.w;
      sections[`${prefix}.b1`] = m.hidden.b;
      sections[`${prefix}.w2`] = m.out.w;
      sections[`${prefix}.b2`] = m.out.b;
      return { kind: 'mlp', hidden: m.hidden.nOut };
    },
  };
}
