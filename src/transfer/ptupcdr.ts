/**
 * PTUPCDR-style personalised bridge (after Zhu et al., WSDM 2022): a meta network turns a user's
 * source-domain history into a user-specific mapping of their source factors to the target space.
 *
 * 1. Characteristic encoder: attention over the (frozen) ALS factors of the user's source items,
 *    a_j = softmax_j(v . tanh(W e_j + b)), p_u = sum_j a_j e_j.
 * 2. Meta network: [A_u | B_u] = M2 relu(M1 p_u + b1) + b2, a rank-r personal correction.
 * 3. Bridge: x_t = x_s W0 + c0 + (x_s A_u) B_u, with (W0, c0) a shared map initialised from the
 *    ridge (EMCDR) solution.
 * 4. Task-oriented training on the overlapping users' target rows: softmax cross-entropy of their
 *    target items against the batch's positives plus `negatives` uniformly sampled target items,
 *    scores x_t . v_i + b_i (target item factors frozen, item biases learned).
 * Epochs are chosen by NDCG@10 on the validation users (early stopping, best epoch kept).
 */
import type { ModelFileContent, SectionArray } from '../io/modelfile.js';
import { MODEL_SCHEMAS } from '../options/index.js';
import { Rng } from '../random.js';
import { BestOnValidation } from '../engine/tuning.js';
import type { ModelOptions } from '../engine/types.js';
import { asFitError, f32Section, validNdcg, type DomainFactors } from '../models/factors.js';
import { ridge } from '../models/linalg.js';
import { matMul2d, type Tf } from '../models/tf.js';
import { crossDefinition, TransferRecommender, type PairContext, type PairMapping } from './cross.js';
import type { CrossDomainOptions } from './emcdr.js';

/** Options of `Ptupcdr` (schema: MODEL_SCHEMAS.ptupcdr). */
export interface PtupcdrOptions extends CrossDomainOptions {
  /** Rank of the personal correction A_u B_u. @default 8 */
  rank?: number;
  /** Hidden units of the meta network. @default 64 */
  metaHidden?: number;
  /** Hidden units of the attention. @default 32 */
  attentionHidden?: number;
  /** Source items per user history (the first ones by index). @default 50 */
  maxHistory?: number;
  /** Most epochs (early stopping on validation NDCG, patience 2; without validation data, 2 epochs). @default 40 */
  epochs?: number;
  /** Adam learning rate. @default 0.002 */
  learningRate?: number;
  /** Training mini-batch size (users per mini-batch). @default 128 */
  batchSize?: number;
  /** Sampled negative target items per mini-batch. @default 2048 */
  negatives?: number;
  /** L2 penalty on the meta network and the shared map's change. @default 0.0001 */
  l2?: number;
  /** Ridge strength of the initial shared map. @default chosen from `ridgeGrid` on validation data (ties to the stronger ridge), else 100 */
  ridge?: number;
  /** Candidates for `ridge` when it is not given and there is validation data. @default [1, 10, 100, 1000] */
  ridgeGrid?: readonly number[];
}

/** The PTUPCDR options a pair's fit reads. */
interface PtupcdrConfig {
  rank: number;
  metaHidden: number;
  attentionHidden: number;
  maxHistory: number;
  epochs: number;
  learningRate: number;
  batchSize: number;
  negatives: number;
  l2: number;
  ridge: number | undefined;
  ridgeGrid: readonly number[];
}

function ptupcdrConfig(o: Readonly<Record<string, unknown>>): PtupcdrConfig {
  const pick = <K extends keyof PtupcdrConfig>(k: K) => o[k] as PtupcdrConfig[K];
  return {
    rank: pick('rank'),
    metaHidden: pick('metaHidden'),
    attentionHidden: pick('attentionHidden'),
    maxHistory: pick('maxHistory'),
    epochs: pick('epochs'),
    learningRate: pick('learningRate'),
    batchSize: pick('batchSize'),
    negatives: pick('negatives'),
    l2: pick('l2'),
    ridge: pick('ridge'),
    ridgeGrid: pick('ridgeGrid'),
  };
}

interface Weights {
  wa: Float32Array; // ds x ha
  ba: Float32Array; // ha
  va: Float32Array; // ha
  m1: Float32Array; // ds x h
  b1: Float32Array; // h
  m2: Float32Array; // h x (ds r + r dt)
  b2: Float32Array;
  w0: Float32Array; // ds x dt
  c0: Float32Array; // dt
  bias: Float32Array; // nT
}

/** Learn the personalised bridge of one pair. */
async function fitPair(ctx: PairContext, options: Readonly<Record<string, unknown>>): Promise<PairMapping> {
  try {
    return train(ctx, ptupcdrConfig(options));
  } catch (e) {
    throw asFitError(e, ctx.label);
  }
}

function train(ctx: PairContext, o: PtupcdrConfig): PairMapping {
  const { tf, fs, ft, overlap, data } = ctx;
  const { rank: r, metaHidden: h, attentionHidden: ha, maxHistory: L, batchSize, negatives } = o;
  const ds = fs.d;
  const dt = ft.d;
  const nS = fs.items.length / ds;
  const nT = ft.items.length / dt;
  const nOut = ds * r + r * dt;
  const n = overlap.length;
  const ms = data.matrix(ctx.source);
  const mt = data.matrix(ctx.target);
  const rng = Rng.derive(ctx.seed, `ptupcdr:${ctx.label}`);
  // 0. Initial shared map: ridge from source to target user factors.
  const x1 = new Float64Array(n * (ds + 1));
  const y64 = new Float64Array(n * dt);
  overlap.forEach((u, q) => {
    for (let a = 0; a < ds; a++) x1[q * (ds + 1) + a] = fs.users[u * ds + a];
    x1[q * (ds + 1) + ds] = 1;
    for (let a = 0; a < dt; a++) y64[q * dt + a] = ft.users[u * dt + a];
  });
  const v = ctx.valid;
  const ridges = o.ridge !== undefined ? [o.ridge] : v ? o.ridgeGrid : [100];
  const wr = ridge(x1, y64, n, ds + 1, dt, ridges[0], true);
  const glorot = (a: number, b: number, scale = 1) => {
    const lim = Math.sqrt(6 / (a + b)) * scale;
    return Float32Array.from({ length: a * b }, () => (rng.next() * 2 - 1) * lim);
  };
  const init: Weights = {
    wa: glorot(ds, ha),
    ba: new Float32Array(ha),
    va: glorot(ha, 1),
    m1: glorot(ds, h),
    b1: new Float32Array(h),
    m2: glorot(h, nOut, 0.01),
    b2: new Float32Array(nOut),
    w0: wr.slice(0, ds * dt),
    c0: wr.slice(ds * dt),
    bias: new Float32Array(nT),
  };
  const shapes: Record<keyof Weights, number[]> = { wa: [ds, ha], ba: [ha], va: [ha, 1], m1: [ds, h], b1: [h], m2: [h, nOut], b2: [nOut], w0: [ds, dt], c0: [dt], bias: [nT] };
  const keys = Object.keys(init) as Array<keyof Weights>;
  const mapping = (w: Weights) => new PtMapping(w, fs.items, ds, dt, r, h, ha, L);
  const score = (m: PtMapping): number => {
    if (!v) return 0;
    const vec = new Float32Array(v.users.length * (dt + 1));
    v.users.forEach((u, b) => {
      const s0 = v.sourceRows.indptr[b];
      const s1 = v.sourceRows.indptr[b + 1];
      vec.set(m.map(fs.users.subarray(u * ds, (u + 1) * ds), v.sourceRows.indices.subarray(s0, s1)), b * (dt + 1));
    });
    const items = new Float32Array(nT * (dt + 1));
    for (let i = 0; i < nT; i++) {
      items.set(ft.items.subarray(i * dt, (i + 1) * dt), i * (dt + 1));
      items[i * (dt + 1) + dt] = m.itemBias[i];
    }
    const seen = { nRows: v.users.length, nCols: nT, indptr: new Uint32Array(v.users.length + 1), indices: new Uint32Array(0), data: new Float32Array(0) };
    return validNdcg(ctx.backend, vec, items, dt + 1, seen, v.relevant);
  };
  // The start: the shared map of the ridge strength that scores best on the validation users;
  // ties go to the stronger ridge (the simpler map).
  const ridgeScores: Record<string, number> = {};
  const start = new BestOnValidation<{ m: PtMapping; mu: number; w0: Float32Array; c0: Float32Array }>();
  ridges.forEach((mu, q) => {
    const w = q === 0 ? wr : ridge(x1, y64, n, ds + 1, dt, mu, true);
    const w0 = q === 0 ? init.w0 : w.slice(0, ds * dt);
    const c0 = q === 0 ? init.c0 : w.slice(ds * dt);
    const m = mapping({ ...init, w0, c0 });
    const sc = v ? score(m) : -Infinity;
    ridgeScores[String(mu)] = sc;
    start.offer(sc, { m, mu, w0, c0 }, start.value === undefined || mu > start.value.mu);
  });
  const chosenRidge = start.value!.mu;
  init.w0 = start.value!.w0;
  init.c0 = start.value!.c0;
  // Everything allocated from here on is disposed in the finally below, even when a later
  // allocation fails.
  const owned: Array<{ dispose(): void }> = [];
  const own = <T extends { dispose(): void }>(x: T): T => (owned.push(x), x);
  const order = Uint32Array.from(overlap);
  const curve: Array<{ epoch: number; validNdcg10: number; loss: number }> = [];
  curve.push({ epoch: 0, validNdcg10: start.score, loss: NaN });
  // Epoch 0 is the start; then the best epoch on validation data (patience 2).
  const best = new BestOnValidation<{ m: PtMapping; epoch: number }>(2);
  best.offer(start.score, { m: start.value!.m, epoch: 0 }, true);
  let last = best.value!;
  const t0 = performance.now();
  let epochsRun = 0;
  try {
    const vars = Object.fromEntries(keys.map((k) => [k, own(tf.tidy(() => tf.variable(tf.tensor(init[k], shapes[k]))))])) as Record<keyof Weights, ReturnType<Tf['variable']>>;
    const w0Init = own(tf.tensor2d(init.w0, [ds, dt]));
    // Source item factors with a zero row for padding; target item factors (frozen).
    const esPad = new Float32Array((nS + 1) * ds);
    esPad.set(fs.items);
    const esT = own(tf.tensor2d(esPad, [nS + 1, ds]));
    const vtT = own(tf.tensor2d(ft.items, [nT, dt]));
    const opt = own(tf.train.adam(o.learningRate));
    const snapshot = (): Weights => Object.fromEntries(keys.map((k) => [k, vars[k].dataSync().slice()])) as unknown as Weights;
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      rng.shuffle(order);
      let lossSum = 0;
      for (let s = 0; s < n; s += batchSize) {
        const users = order.subarray(s, Math.min(n, s + batchSize));
        const B = users.length;
        // History (padded with the zero row nS), source factors, candidates and targets.
        let len = 1;
        for (const u of users) len = Math.max(len, Math.min(L, ms.indptr[u + 1] - ms.indptr[u]));
        const hist = new Int32Array(B * len).fill(nS);
        const mask = new Float32Array(B * len);
        const xs = new Float32Array(B * ds);
        const cand = new Map<number, number>();
        users.forEach((u, b) => {
          const e = Math.min(ms.indptr[u + 1], ms.indptr[u] + L);
          for (let q = ms.indptr[u]; q < e; q++) {
            hist[b * len + q - ms.indptr[u]] = ms.indices[q];
            mask[b * len + q - ms.indptr[u]] = 1;
          }
          xs.set(fs.users.subarray(u * ds, (u + 1) * ds), b * ds);
          for (let q = mt.indptr[u]; q < mt.indptr[u + 1]; q++) if (!cand.has(mt.indices[q])) cand.set(mt.indices[q], cand.size);
        });
        for (let k = 0; k < negatives; k++) {
          const i = rng.int(nT);
          if (!cand.has(i)) cand.set(i, cand.size);
        }
        const C = cand.size;
        const candIdx = new Int32Array(C);
        for (const [i, c] of cand) candIdx[c] = i;
        const target = new Float32Array(B * C);
        users.forEach((u, b) => {
          const cnt = mt.indptr[u + 1] - mt.indptr[u];
          for (let q = mt.indptr[u]; q < mt.indptr[u + 1]; q++) target[b * C + cand.get(mt.indices[q])!] = 1 / cnt;
        });
        const loss = tf.tidy(() => {
          const histT = tf.tensor2d(hist, [B, len], 'int32');
          const maskT = tf.tensor2d(mask, [B, len]);
          const xsT = tf.tensor2d(xs, [B, ds]);
          const candT = tf.tensor1d(candIdx, 'int32');
          const yT = tf.tensor2d(target, [B, C]);
          const vc = tf.gather(vtT, candT); // C x dt
          const f = () => {
            const e = tf.gather(esT, histT); // B x len x ds
            const att = tf.reshape(matMul2d(tf, tf.tanh(tf.add(matMul2d(tf, tf.reshape(e, [B * len, ds]), vars.wa, { constant: 'a' }), vars.ba)), vars.va), [B, len]);
            const alpha = tf.softmax(tf.add(att, tf.mul(tf.sub(maskT, 1), 1e9)));
            const p = tf.sum(tf.mul(tf.expandDims(alpha, 2), e), 1); // B x ds
            const z = tf.add(matMul2d(tf, tf.relu(tf.add(matMul2d(tf, p, vars.m1), vars.b1)), vars.m2), vars.b2); // B x nOut
            const a = tf.reshape(tf.slice(z, [0, 0], [B, ds * r]), [B, ds, r]);
            const bm = tf.reshape(tf.slice(z, [0, ds * r], [B, r * dt]), [B, r, dt]);
            const xr = tf.reshape(xsT, [B, 1, ds]);
            const personal = tf.reshape(tf.matMul(tf.matMul(xr, a), bm), [B, dt]);
            const xt = tf.add(tf.add(matMul2d(tf, xsT, vars.w0, { constant: 'a' }), vars.c0), personal);
            const logits = tf.add(matMul2d(tf, xt, vc, { transposeB: true, constant: 'b' }), tf.gather(vars.bias, candT));
            const ce = tf.neg(tf.mean(tf.sum(tf.mul(yT, tf.logSoftmax(logits)), 1)));
            const reg = tf.mul(o.l2, tf.add(tf.add(tf.sum(tf.square(vars.m2)), tf.sum(tf.square(vars.m1))), tf.sum(tf.square(tf.sub(vars.w0, w0Init)))));
            return tf.add(ce, reg) as ReturnType<Tf['scalar']>;
          };
          return opt.minimize(f, true, keys.map((k) => vars[k]))!.dataSync()[0];
        });
        if (!Number.isFinite(loss)) throw Object.assign(new Error(`loss became ${loss} at epoch ${epoch}`), { nonFinite: true });
        lossSum += loss * B;
      }
      epochsRun = epoch;
      const cur = mapping(snapshot());
      const sc = v ? score(cur) : 0;
      curve.push({ epoch, validNdcg10: sc, loss: lossSum / n });
      if (!v) {
        // Without validation data there is nothing to stop on; the validation curves seen on real
        // data peak within the first epochs, so train two.
        last = { m: cur, epoch };
        if (epoch >= 2) break;
      } else if (best.offer(sc, { m: cur, epoch })) break;
    }
  } finally {
    for (const x of owned) x.dispose();
  }
  const secs = (performance.now() - t0) / 1000;
  const chosen = v ? best.value! : last;
  chosen.m.report = { overlap: n, validUsers: v?.users.length ?? 0, ridge: chosenRidge, ridgeValidNdcg10: v ? ridgeScores : undefined, bestEpoch: chosen.epoch, epochsRun, epochsPerSecond: epochsRun / secs, validCurve: curve };
  return chosen.m;
}

/** Restore the mapping of one pair. @throws {ModelFormatError} */
function importPair(options: Readonly<Record<string, unknown>>, meta: Record<string, unknown>, prefix: string, sections: Record<string, SectionArray>, ft: DomainFactors, fs: DomainFactors, label: string): PairMapping {
  const o = ptupcdrConfig(options);
  const { rank: r, metaHidden: h, attentionHidden: ha, maxHistory: L } = { ...o, ...(meta.shape as object) };
  const ds = fs.d;
  const dt = ft.d;
  const nT = ft.items.length / dt;
  const nOut = ds * r + r * dt;
  const sizes: Record<keyof Weights, number> = { wa: ds * ha, ba: ha, va: ha, m1: ds * h, b1: h, m2: h * nOut, b2: nOut, w0: ds * dt, c0: dt, bias: nT };
  const w = Object.fromEntries((Object.keys(sizes) as Array<keyof Weights>).map((k) => [k, f32Section(sections, `${prefix}.${k}`, sizes[k], label)])) as unknown as Weights;
  return new PtMapping(w, fs.items, ds, dt, r, h, ha, L);
}

/** The PTUPCDR model type. */
export const PTUPCDR = crossDefinition(MODEL_SCHEMAS.ptupcdr, { name: 'ptupcdr', biased: true, fitPair, importPair });

/** PTUPCDR: personalised transfer of user preferences. */
export class Ptupcdr extends TransferRecommender {
  /** @throws {OptionTypeError|OptionRangeError} for a bad option. */
  constructor(options: PtupcdrOptions = {}) {
    super(PTUPCDR, options);
  }

  /** Load a PTUPCDR model file. @throws {ModelFormatError} {StorageError} */
  static async load(path: string, options: ModelOptions = {}, content?: ModelFileContent): Promise<Ptupcdr> {
    return new Ptupcdr(options).loadFrom(path, content);
  }
}

/** The learned bridge of one pair, evaluated in plain TypeScript (no tensors at scoring time). */
class PtMapping implements PairMapping {
  report: Record<string, unknown> = {};
  constructor(
    readonly w: Weights,
    private readonly es: Float32Array,
    private readonly ds: number,
    private readonly dt: number,
    private readonly r: number,
    private readonly h: number,
    private readonly ha: number,
    private readonly maxHistory: number,
  ) {}

  get itemBias(): Float32Array {
    return this.w.bias;
  }

  map(xs: Float32Array, idx: Uint32Array): Float32Array {
    const { ds, dt, r, h, ha, w } = this;
    const L = Math.min(idx.length, this.maxHistory);
    // 1. attention pooling of the source item factors
    const att = new Float64Array(L);
    let mx = -Infinity;
    for (let j = 0; j < L; j++) {
      const eo = idx[j] * ds;
      let s = 0;
      for (let k = 0; k < ha; k++) {
        let a = w.ba[k];
        for (let c = 0; c < ds; c++) a += this.es[eo + c] * w.wa[c * ha + k];
        s += Math.tanh(a) * w.va[k];
      }
      att[j] = s;
      mx = Math.max(mx, s);
    }
    const p = new Float64Array(ds);
    let z = 0;
    for (let j = 0; j < L; j++) z += (att[j] = Math.exp(att[j] - mx));
    for (let j = 0; j < L; j++) for (let c = 0; c < ds; c++) p[c] += (att[j] / z) * this.es[idx[j] * ds + c];
    // 2. meta network -> A (ds x r), B (r x dt)
    const hid = new Float64Array(h);
    for (let k = 0; k < h; k++) {
      let a = w.b1[k];
      for (let c = 0; c < ds; c++) a += p[c] * w.m1[c * h + k];
      hid[k] = Math.max(0, a);
    }
    const nOut = ds * r + r * dt;
    const out = new Float64Array(nOut);
    for (let o = 0; o < nOut; o++) out[o] = w.b2[o];
    for (let k = 0; k < h; k++) {
      const hk = hid[k];
      if (hk === 0) continue;
      const o0 = k * nOut;
      for (let o = 0; o < nOut; o++) out[o] += hk * w.m2[o0 + o];
    }
    // 3. bridge: x W0 + c0 + (x A) B, then the bias weight 1
    const xa = new Float64Array(r);
    for (let c = 0; c < ds; c++) for (let q = 0; q < r; q++) xa[q] += xs[c] * out[c * r + q];
    const res = new Float32Array(dt + 1);
    for (let j = 0; j < dt; j++) {
      let a = w.c0[j];
      for (let c = 0; c < ds; c++) a += xs[c] * w.w0[c * dt + j];
      for (let q = 0; q < r; q++) a += xa[q] * out[ds * r + q * dt + j];
      res[j] = a;
    }
    res[dt] = 1;
    return res;
  }

  export(prefix: string, sections: Record<string, SectionArray>): Record<string, unknown> {
    for (const [k, v] of Object.entries(this.w)) sections[`${prefix}.${k}`] = v as Float32Array;
    return { shape: { rank: this.r, metaHidden: this.h, attentionHidden: this.ha, maxHistory: this.maxHistory } };
  }
}
