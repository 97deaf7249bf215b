/**
 * EMCDR (Man, Shen, Jin & Cheng, IJCAI 2017): embed each domain with latent factors (here ALS),
 * learn a mapping source user factors -> target user factors on the users present in both domains
 * (ridge-regularised linear, or a one-hidden-layer tanh MLP trained by MSE), and give a user who
 * is cold in the target the mapped factors, scored against the target item factors by the dense
 * kernel. With validation data the mapping (kind, ridge strength, MLP epochs) is chosen per pair
 * by NDCG@10 of the validation users; without it, the linear map with the default ridge.
 */
import { ModelFormatError } from '../errors.js';
import type { ModelFileContent } from '../io/modelfile.js';
import { MODEL_SCHEMAS } from '../options/index.js';
import { BestOnValidation } from '../engine/tuning.js';
import type { ModelOptions } from '../engine/types.js';
import { asFitError, f32Section, validNdcg, type FactorOptions } from '../models/factors.js';
import { interceptNormalEquations, ridgeSolve } from '../models/linalg.js';
import { affine, mlpForward, trainMlp, type Mlp } from '../models/nn.js';
import { crossDefinition, TransferRecommender, type PairContext, type PairMapping, type TransferKind } from './cross.js';

/** Kind of mapping. */
export type MappingKind = 'linear' | 'mlp';

/** Options every cross-domain transfer model takes. */
export interface CrossDomainOptions extends ModelOptions, FactorOptions {
  /** Source domains of every target. @default every other domain */
  sources?: readonly string[];
  /** Target domains to fit mappings for. @default every domain */
  targets?: readonly string[];
  /**
   * Couple the target factors to the sources before the mappings are learned (a Gaussian prior of
   * this weight pulls each overlapping user's target factors towards the mean of their mapped source
   * factors, for `rounds` rounds of ridge maps of strength `ridge`). Off unless set (docs/transfer.md).
   */
  coupling?: { weight: number; rounds?: number; ridge?: number };
}

/** Options of `Emcdr` (schema: MODEL_SCHEMAS.emcdr). */
export interface EmcdrOptions extends CrossDomainOptions {
  /** `linear`, `mlp`, or `auto` (chosen on validation data; `linear` without it). @default 'auto' */
  mapping?: MappingKind | 'auto';
  /** Ridge strength of the linear map without validation data (the intercept is not penalised). @default 10 */
  ridge?: number;
  /** Ridge strengths tried on validation data (equal scores keep the stronger ridge). @default [1, 10, 100, 1000] */
  ridgeGrid?: readonly number[];
  /** Hidden units of the MLP map. @default 2 * factors */
  mlpHidden?: number;
  /** Most MLP epochs (early stopping on validation NDCG every 5 epochs, patience 4). @default 60 */
  epochs?: number;
  /** Adam learning rate of the MLP. @default 0.003 */
  learningRate?: number;
  /** Training mini-batch size (MLP samples per mini-batch). @default 256 */
  batchSize?: number;
}

/** The EMCDR options a pair's fit reads. */
interface EmcdrConfig {
  mapping: MappingKind | 'auto';
  ridge: number;
  ridgeGrid: readonly number[];
  mlpHidden: number;
  epochs: number;
  learningRate: number;
  batchSize: number;
}

function emcdrConfig(o: Readonly<Record<string, unknown>>): EmcdrConfig {
  return {
    mapping: o.mapping as EmcdrConfig['mapping'],
    ridge: o.ridge as number,
    ridgeGrid: o.ridgeGrid as number[],
    mlpHidden: (o.mlpHidden as number | undefined) ?? 2 * (o.factors as number),
    epochs: o.epochs as number,
    learningRate: o.learningRate as number,
    batchSize: o.batchSize as number,
  };
}

/** Learn the mapping of one pair, choosing it on validation data when there is some. */
async function fitPair(ctx: PairContext, options: Readonly<Record<string, unknown>>): Promise<PairMapping> {
  const o = emcdrConfig(options);
  const { fs, ft, overlap } = ctx;
  const ds = fs.d;
  const dt = ft.d;
  const n = overlap.length;
  // The overlapping users' factors, copied out for the MLP only.
  const pairs = (): { x: Float32Array; y: Float32Array } => {
    const x = new Float32Array(n * ds);
    const y = new Float32Array(n * dt);
    overlap.forEach((u, r) => {
      x.set(fs.users.subarray(u * ds, (u + 1) * ds), r * ds);
      y.set(ft.users.subarray(u * dt, (u + 1) * dt), r * dt);
    });
    return { x, y };
  };
  // Linear maps: [x_s, 1] W ~ x_t by ridge; the normal equations are formed once, read straight
  // from the factor matrices, and serve every ridge strength tried.
  let eq: { a: Float64Array; b: Float64Array } | undefined;
  const linear = (mu: number): PairMapping => {
    eq ??= interceptNormalEquations(fs.users, ds, ft.users, dt, overlap);
    return linearMapping(ridgeSolve(eq, ds + 1, dt, mu, true), ds, dt, mu);
  };
  const v = ctx.valid;
  // Validation users' source factors (training users: stored factors).
  const score = (m: PairMapping): number => {
    if (!v) return 0;
    const vec = new Float32Array(v.users.length * dt);
    v.users.forEach((u, b) => vec.set(m.map(fs.users.subarray(u * ds, (u + 1) * ds), new Uint32Array(0), new Float32Array(0)), b * dt));
    const seen = { nRows: v.users.length, nCols: ft.items.length / dt, indptr: new Uint32Array(v.users.length + 1), indices: new Uint32Array(0), data: new Float32Array(0) };
    return validNdcg(ctx.backend, vec, ft.items, dt, seen, v.relevant);
  };
  if (!v) {
    const m = o.mapping === 'mlp' ? trainMap(ctx, o, pairs(), n, undefined).mapping : linear(o.ridge);
    m.report = { kind: o.mapping === 'mlp' ? 'mlp' : 'linear', overlap: n };
    return m;
  }
  const validation: Record<string, number> = {};
  const best = new BestOnValidation<{ name: string; m: PairMapping }>();
  if (o.mapping !== 'mlp') {
    // Strongest ridge first, so that equal scores keep the stronger ridge (the simpler map), as
    // PTUPCDR's start does; the report lists the grid in the order given.
    const order = [...o.ridgeGrid].sort((a, b) => b - a);
    const scored = new Map(
      order.map((mu) => {
        const m = linear(mu);
        return [mu, { m, s: score(m) }] as const;
      }),
    );
    for (const mu of o.ridgeGrid) validation[`linear@ridge=${mu}`] = scored.get(mu)!.s;
    for (const mu of order) best.offer(scored.get(mu)!.s, { name: `linear@ridge=${mu}`, m: scored.get(mu)!.m });
  }
  let curve: Array<{ epoch: number; score: number }> | undefined;
  if (o.mapping !== 'linear') {
    const r = trainMap(ctx, o, pairs(), n, score);
    curve = r.curve;
    validation[`mlp@epochs=${r.bestEpoch}`] = r.bestScore;
    best.offer(r.bestScore, { name: `mlp@epochs=${r.bestEpoch}`, m: r.mapping });
  }
  const { name, m } = best.value!;
  m.report = { kind: name.split('@')[0], choice: name, overlap: n, validUsers: v.users.length, validNdcg10: validation, mlpCurve: curve };
  return m;
}

function trainMap(ctx: PairContext, o: EmcdrConfig, { x, y }: { x: Float32Array; y: Float32Array }, n: number, score: ((m: PairMapping) => number) | undefined): { mapping: PairMapping; curve: Array<{ epoch: number; score: number }>; bestEpoch: number; bestScore: number } {
  const ds = ctx.fs.d;
  const dt = ctx.ft.d;
  try {
    const r = trainMlp(ctx.tf, x, y, n, ds, o.mlpHidden, dt, 'tanh', {
      epochs: o.epochs,
      batchSize: o.batchSize,
      learningRate: o.learningRate,
      l2: 0,
      seed: ctx.seed,
      label: `${ctx.label}:mlp`,
      evaluate: score ? (m) => score(mlpMapping(m)) : undefined,
      evalEvery: 5,
      patience: 4,
    });
    // The first epoch with the highest score (strictly above 0; none: the last epoch).
    let bestEpoch = r.epochs;
    let bestScore = 0;
    for (const c of r.curve) {
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


/** Restore the mapping of one pair. @throws {ModelFormatError} */
function importPair(_options: Readonly<Record<string, unknown>>, meta: Record<string, unknown>, prefix: string, sections: Parameters<TransferKind['importPair']>[3], ft: Parameters<TransferKind['importPair']>[4], fs: Parameters<TransferKind['importPair']>[5], label: string): PairMapping {
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

/** The EMCDR model type. */
export const EMCDR = crossDefinition(MODEL_SCHEMAS.emcdr, { name: 'emcdr', biased: false, fitPair, importPair });

/** EMCDR: embedding and mapping for cold users of a target domain. */
export class Emcdr extends TransferRecommender {
  /** @throws {OptionTypeError|OptionRangeError} for a bad option. */
  constructor(options: EmcdrOptions = {}) {
    super(EMCDR, options);
  }

  /** Load an EMCDR model file. @throws {ModelFormatError} {StorageError} */
  static async load(path: string, options: ModelOptions = {}, content?: ModelFileContent): Promise<Emcdr> {
    return new Emcdr(options).loadFrom(path, content);
  }
}

/** x -> [x, 1] W, W `(ds + 1) x dt` (last row: intercept). */
function linearMapping(w: Float32Array, ds: number, dt: number, mu: number): PairMapping {
  // Views made once: the layer kernel keeps its copies of them by identity.
  const main = w.subarray(0, ds * dt);
  const intercept = w.subarray(ds * dt, (ds + 1) * dt);
  return {
    map: (xs) => affine(main, intercept, ds, dt, xs),
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
