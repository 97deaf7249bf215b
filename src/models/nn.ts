/**
 * Small dense networks: weights as plain typed arrays (what the model file stores and what scoring
 * uses, in plain TypeScript, no tensors), trained with tfjs on the wasm backend with seeded
 * initialisation and our own seeded shuffling. Every tensor is created inside `tf.tidy` or disposed.
 */
import { BestOnValidation } from '../engine/tuning.js';
import { DenseLayerKernel } from '../kernels/dense-layer.js';
import { Rng } from '../random.js';
import { matMul2d, type Tf } from './tf.js';

/** One dense layer, `out = act(in W + b)`, W row-major `nIn x nOut`. */
export interface Dense {
  nIn: number;
  nOut: number;
  w: Float32Array;
  b: Float32Array;
}

/** Activation of a hidden layer. */
export type Activation = 'tanh' | 'relu' | 'linear';

/** Glorot-uniform weights and zero biases, from a seeded generator. */
export function initDense(nIn: number, nOut: number, rng: Rng): Dense {
  const lim = Math.sqrt(6 / (nIn + nOut));
  const w = new Float32Array(nIn * nOut);
  for (let t = 0; t < w.length; t++) w[t] = (rng.next() * 2 - 1) * lim;
  return { nIn, nOut, w, b: new Float32Array(nOut) };
}

let kernel: DenseLayerKernel | null | undefined;

/** The wasm layer kernel of this thread, or null where wasm cannot run (then the loop below serves). */
function layerKernel(): DenseLayerKernel | null {
  if (kernel === undefined) {
    try {
      kernel = new DenseLayerKernel();
    } catch {
      kernel = null;
    }
  }
  return kernel;
}

/**
 * act(x W + b) for one input vector: through the wasm kernel (assembly/mlp.ts) when x is a
 * Float32Array, else (or without wasm) the loop of `denseForwardReference`; the same f32 values
 * either way.
 */
export function denseForward(l: Dense, x: ArrayLike<number>, act: Activation): Float32Array {
  const k = x instanceof Float32Array && x.length >= l.nIn ? layerKernel() : null;
  if (!k || !(x instanceof Float32Array)) return denseForwardReference(l, x, act);
  const out = k.layer(l.w, l.b, l.nIn, l.nOut, x, new Float32Array(l.nOut), true);
  if (act === 'tanh') for (let j = 0; j < l.nOut; j++) out[j] = Math.tanh(out[j]);
  else if (act === 'relu') for (let j = 0; j < l.nOut; j++) out[j] = Math.max(0, out[j]);
  return out;
}

/**
 * The reference of `denseForward`: out[j] = b[j], then `out[j] += x[i] * w[i][j]` on the f32 array
 * for every non-zero input in order, then the activation.
 */
export function denseForwardReference(l: Dense, x: ArrayLike<number>, act: Activation): Float32Array {
  const out = new Float32Array(l.nOut);
  for (let j = 0; j < l.nOut; j++) out[j] = l.b[j];
  for (let i = 0; i < l.nIn; i++) {
    const xi = x[i];
    if (xi === 0) continue;
    const o = i * l.nOut;
    for (let j = 0; j < l.nOut; j++) out[j] += xi * l.w[o + j];
  }
  if (act === 'tanh') for (let j = 0; j < l.nOut; j++) out[j] = Math.tanh(out[j]);
  else if (act === 'relu') for (let j = 0; j < l.nOut; j++) out[j] = Math.max(0, out[j]);
  return out;
}

/**
 * x W + b with every input added, zeros included (EMCDR's linear map): through the wasm kernel for
 * a Float32Array x, else the loop of `affineReference`; the same f32 values either way. `w` and `b`
 * must not change afterwards when the kernel has seen them (it keeps them by identity).
 */
export function affine(w: Float32Array, b: Float32Array, nIn: number, nOut: number, x: ArrayLike<number>): Float32Array {
  const k = x instanceof Float32Array && x.length >= nIn ? layerKernel() : null;
  if (!k || !(x instanceof Float32Array)) return affineReference(w, b, nIn, nOut, x);
  return k.layer(w, b, nIn, nOut, x, new Float32Array(nOut), false);
}

/** The reference of `affine`: out[j] = b[j], then `out[j] += x[i] * w[i][j]` on the f32 array for every input in order. */
export function affineReference(w: Float32Array, b: Float32Array, nIn: number, nOut: number, x: ArrayLike<number>): Float32Array {
  const out = new Float32Array(nOut);
  for (let j = 0; j < nOut; j++) out[j] = b[j];
  for (let i = 0; i < nIn; i++) {
    const xi = x[i];
    const o = i * nOut;
    for (let j = 0; j < nOut; j++) out[j] += xi * w[o + j];
  }
  return out;
}

/** A two-layer perceptron, hidden activation `act`, linear output. */
export interface Mlp {
  hidden: Dense;
  out: Dense;
  act: Activation;
}

/** Forward pass of an MLP for one vector. */
export function mlpForward(m: Mlp, x: ArrayLike<number>): Float32Array {
  return denseForward(m.out, denseForward(m.hidden, x, m.act), 'linear');
}

/** Options of `trainMlp`. */
export interface MlpTraining {
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** L2 penalty on the weights. */
  l2: number;
  seed: number;
  label: string;
  /** Called after every `evalEvery` epochs with the current weights; return a score (higher is better) to keep the best. */
  evaluate?: (m: Mlp, epoch: number) => number;
  evalEvery?: number;
  /** Evaluations without improvement before stopping. */
  patience?: number;
  /** Called after every epoch with its mean loss. */
  onEpoch?: (epoch: number, loss: number) => void;
}

/**
 * Fit an MLP `x (n x nIn) -> y (n x nOut)` by mean squared error with Adam. Returns the weights of
 * the best evaluation (or of the last epoch without `evaluate`) and the epochs run.
 * @throws {Error} with `nonFinite` set when the loss becomes NaN or infinite.
 */
export function trainMlp(
  tf: Tf,
  x: Float32Array,
  y: Float32Array,
  n: number,
  nIn: number,
  nHidden: number,
  nOut: number,
  act: Activation,
  o: MlpTraining,
): { mlp: Mlp; epochs: number; curve: Array<{ epoch: number; score: number }> } {
  const rng = Rng.derive(o.seed, `mlp:${o.label}`);
  const init: Mlp = { hidden: initDense(nIn, nHidden, rng), out: initDense(nHidden, nOut, rng), act };
  // tidy disposes the initial tensors; the variables hold their own copies.
  const w1 = tf.tidy(() => tf.variable(tf.tensor2d(init.hidden.w, [nIn, nHidden])));
  const b1 = tf.tidy(() => tf.variable(tf.tensor1d(init.hidden.b)));
  const w2 = tf.tidy(() => tf.variable(tf.tensor2d(init.out.w, [nHidden, nOut])));
  const b2 = tf.tidy(() => tf.variable(tf.tensor1d(init.out.b)));
  const vars = [w1, b1, w2, b2];
  const opt = tf.train.adam(o.learningRate);
  const snapshot = (): Mlp => ({
    hidden: { nIn, nOut: nHidden, w: w1.dataSync().slice() as Float32Array, b: b1.dataSync().slice() as Float32Array },
    out: { nIn: nHidden, nOut, w: w2.dataSync().slice() as Float32Array, b: b2.dataSync().slice() as Float32Array },
    act,
  });
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const xb = new Float32Array(o.batchSize * nIn);
  const yb = new Float32Array(o.batchSize * nOut);
  const initial = snapshot();
  const best = new BestOnValidation<Mlp>(o.patience);
  let epochs = 0;
  const curve: Array<{ epoch: number; score: number }> = [];
  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      rng.shuffle(order);
      let lossSum = 0;
      for (let s = 0; s < n; s += o.batchSize) {
        const m = Math.min(o.batchSize, n - s);
        for (let r = 0; r < m; r++) {
          xb.set(x.subarray(order[s + r] * nIn, (order[s + r] + 1) * nIn), r * nIn);
          yb.set(y.subarray(order[s + r] * nOut, (order[s + r] + 1) * nOut), r * nOut);
        }
        const loss = tf.tidy(() => {
          const xt = tf.tensor2d(xb.subarray(0, m * nIn), [m, nIn]);
          const yt = tf.tensor2d(yb.subarray(0, m * nOut), [m, nOut]);
          const f = () => {
            let h = tf.add(matMul2d(tf, xt, w1, { constant: 'a' }), b1);
            h = act === 'tanh' ? tf.tanh(h) : act === 'relu' ? tf.relu(h) : h;
            const pred = tf.add(matMul2d(tf, h, w2), b2);
            let l = tf.mean(tf.squaredDifference(pred, yt));
            if (o.l2 > 0) l = tf.add(l, tf.mul(o.l2, tf.add(tf.sum(tf.square(w1)), tf.sum(tf.square(w2)))));
            return l as ReturnType<Tf['scalar']>;
          };
          const cost = opt.minimize(f, true, vars);
          return cost!.dataSync()[0];
        });
        if (!Number.isFinite(loss)) throw Object.assign(new Error(`${o.label}: loss became ${loss} at epoch ${epoch}`), { nonFinite: true });
        lossSum += loss * m;
      }
      epochs = epoch;
      o.onEpoch?.(epoch, lossSum / n);
      // Evaluate every evalEvery epochs and always after the last one, so that a run shorter than
      // evalEvery still returns trained (and evaluated) weights.
      if (o.evaluate && (epoch % (o.evalEvery ?? 1) === 0 || epoch === o.epochs)) {
        const cur = snapshot();
        const score = o.evaluate(cur, epoch);
        curve.push({ epoch, score });
        if (best.offer(score, cur)) break;
      }
    }
    return { mlp: o.evaluate ? (best.value ?? initial) : snapshot(), epochs, curve };
  } finally {
    for (const v of vars) v.dispose();
    opt.dispose();
  }
}
