/**
 * Our gradients (src/models/gradients.ts) against finite differences, and end-to-end training of
 * every tfjs-trained model on tfjs-core alone.
 *
 * Check: for y = f(x_1, ..., x_m) and fixed random weights w (the upstream gradient dy), the
 * analytic vector-Jacobian product tf.grads(f)(x, w) must match the central difference
 *   dL/dx_k[i] ~ (L(x_k[i] + h) - L(x_k[i] - h)) / (2h),   L = sum_j w_j y_j,
 * with L summed in float64 from the float32 outputs, h = 1e-2 (the actual float32 step is used as
 * the denominator). Tolerance: |analytic - numeric| <= TOL * (1 + |numeric|), TOL = 2e-3 (float32
 * rounding of the forward pass over 2h is about 1e-4 here; the O(h^2) truncation about 1e-4).
 * Non-smooth ops (Relu, Maximum, Max) get inputs kept more than h away from their kinks.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type * as TF from '@tensorflow/tfjs-core';
import { Dataset, Emcdr, initTensorflow, Mf, parseEvents, Ptupcdr } from '../src/index.js';
import { GRADIENT_KERNELS, registerGradients } from '../src/models/gradients.js';
import type { Tf } from '../src/models/tf.js';
import { Rng } from '../src/random.js';
import { twoDomains } from './helpers/fixtures.js';

const H = 1e-2;
const TOL = 2e-3;
type T = TF.Tensor;
type Gen = (rng: Rng, n: number) => number[];

let tf: Tf;
beforeAll(async () => {
  tf = await initTensorflow();
});

/** Uniform in [-1, 1). */
const uniform: Gen = (rng, n) => Array.from({ length: n }, () => rng.next() * 2 - 1);
/** Uniform in [0.5, 2) times a random sign: away from 0 (divisors). */
const awayFromZero: Gen = (rng, n) => Array.from({ length: n }, () => (0.5 + 1.5 * rng.next()) * (rng.next() < 0.5 ? -1 : 1));
/** Uniform in [0.5, 2): positive (log). */
const positive: Gen = (rng, n) => Array.from({ length: n }, () => 0.5 + 1.5 * rng.next());
/** Distinct values on a 0.2 grid, shuffled, plus `offset` and noise of at most 0.02: any two values (or a value and one of `grid(0.1)`) differ by more than 0.05. */
const grid = (offset: number): Gen => (rng, n) => {
  const order = Array.from({ length: n }, (_, i) => i);
  rng.shuffle(order);
  return order.map((k) => (k - Math.floor(n / 2)) * 0.2 + offset + (rng.next() - 0.5) * 0.04);
};

interface Input {
  shape: number[];
  gen?: Gen;
}
interface Case {
  kernel: (typeof GRADIENT_KERNELS)[number];
  name: string;
  inputs: Input[];
  f: (...xs: T[]) => T;
}

const s = (...shape: number[]): Input => ({ shape });
const g = (gen: Gen, ...shape: number[]): Input => ({ shape, gen });

const CASES: Case[] = [
  { kernel: 'Add', name: 'same shape', inputs: [s(2, 3), s(2, 3)], f: (a, b) => tf.add(a, b) },
  { kernel: 'Add', name: '[2,3] + [3]', inputs: [s(2, 3), s(3)], f: (a, b) => tf.add(a, b) },
  { kernel: 'Add', name: '[2,1] + [1,3]', inputs: [s(2, 1), s(1, 3)], f: (a, b) => tf.add(a, b) },
  { kernel: 'Add', name: 'scalar + [2,3]', inputs: [s(), s(2, 3)], f: (a, b) => tf.add(a, b) },
  { kernel: 'AddN', name: 'three addends', inputs: [s(2, 3), s(2, 3), s(2, 3)], f: (a, b, c) => tf.addN([a, b, c]) },
  { kernel: 'Sub', name: '[2,3] - [2,1]', inputs: [s(2, 3), s(2, 1)], f: (a, b) => tf.sub(a, b) },
  { kernel: 'Sub', name: '[3] - [2,2,3]', inputs: [s(3), s(2, 2, 3)], f: (a, b) => tf.sub(a, b) },
  { kernel: 'Multiply', name: 'same shape', inputs: [s(2, 3), s(2, 3)], f: (a, b) => tf.mul(a, b) },
  { kernel: 'Multiply', name: '[2,3,1] * [4]', inputs: [s(2, 3, 1), s(4)], f: (a, b) => tf.mul(a, b) },
  { kernel: 'RealDiv', name: 'same shape', inputs: [s(2, 3), g(awayFromZero, 2, 3)], f: (a, b) => tf.div(a, b) },
  { kernel: 'RealDiv', name: '[2,3] / [2,1]', inputs: [s(2, 3), g(awayFromZero, 2, 1)], f: (a, b) => tf.div(a, b) },
  { kernel: 'SquaredDifference', name: 'same shape', inputs: [s(2, 3), s(2, 3)], f: (a, b) => tf.squaredDifference(a, b) },
  { kernel: 'SquaredDifference', name: '[2,3] vs [3]', inputs: [s(2, 3), s(3)], f: (a, b) => tf.squaredDifference(a, b) },
  { kernel: 'Maximum', name: 'same shape', inputs: [g(grid(0), 2, 3), g(grid(0.1), 2, 3)], f: (a, b) => tf.maximum(a, b) },
  { kernel: 'Maximum', name: '[2,3] vs [3]', inputs: [g(grid(0), 2, 3), g(grid(0.1), 3)], f: (a, b) => tf.maximum(a, b) },
  { kernel: 'Neg', name: '[2,3]', inputs: [s(2, 3)], f: (x) => tf.neg(x) },
  { kernel: 'Square', name: '[2,3]', inputs: [s(2, 3)], f: (x) => tf.square(x) },
  { kernel: 'Relu', name: '[2,3], away from 0', inputs: [g(awayFromZero, 2, 3)], f: (x) => tf.relu(x) },
  { kernel: 'Tanh', name: '[2,3]', inputs: [s(2, 3)], f: (x) => tf.tanh(x) },
  { kernel: 'Sigmoid', name: '[2,3]', inputs: [s(2, 3)], f: (x) => tf.sigmoid(x) },
  { kernel: 'Exp', name: '[2,3]', inputs: [s(2, 3)], f: (x) => tf.exp(x) },
  { kernel: 'Log', name: '[2,3], positive', inputs: [g(positive, 2, 3)], f: (x) => tf.log(x) },
  { kernel: 'Cast', name: 'float32 -> float32', inputs: [s(2, 3)], f: (x) => tf.cast(x, 'float32') },
  { kernel: 'Sum', name: 'all axes', inputs: [s(2, 3)], f: (x) => tf.sum(x) },
  { kernel: 'Sum', name: 'axis 1', inputs: [s(2, 3, 2)], f: (x) => tf.sum(x, 1) },
  { kernel: 'Sum', name: 'axes [0,2], keepDims', inputs: [s(2, 3, 2)], f: (x) => tf.sum(x, [0, 2], true) },
  { kernel: 'Sum', name: 'axis -1', inputs: [s(2, 3)], f: (x) => tf.sum(x, -1) },
  { kernel: 'Mean', name: 'all axes', inputs: [s(2, 3)], f: (x) => tf.mean(x) },
  { kernel: 'Mean', name: 'axis 0, keepDims', inputs: [s(3, 2, 2)], f: (x) => tf.mean(x, 0, true) },
  { kernel: 'Mean', name: 'axes [1,2]', inputs: [s(2, 3, 2)], f: (x) => tf.mean(x, [1, 2]) },
  { kernel: 'Max', name: 'all axes', inputs: [g(grid(0), 2, 3)], f: (x) => tf.max(x) },
  { kernel: 'Max', name: 'axis 1', inputs: [g(grid(0), 3, 4)], f: (x) => tf.max(x, 1) },
  { kernel: 'Max', name: 'axis 0, keepDims', inputs: [g(grid(0), 3, 4)], f: (x) => tf.max(x, 0, true) },
  { kernel: 'Softmax', name: '[2,5] last axis', inputs: [s(2, 5)], f: (x) => tf.softmax(x) },
  { kernel: 'Softmax', name: '[2,2,3] last axis', inputs: [s(2, 2, 3)], f: (x) => tf.softmax(x) },
  { kernel: 'Reshape', name: '[2,3,2] -> [3,4]', inputs: [s(2, 3, 2)], f: (x) => tf.reshape(x, [3, 4]) },
  { kernel: 'ExpandDims', name: '[2,3] dim 1', inputs: [s(2, 3)], f: (x) => tf.expandDims(x, 1) },
  { kernel: 'Transpose', name: '[2,3,4] perm [2,0,1]', inputs: [s(2, 3, 4)], f: (x) => tf.transpose(x, [2, 0, 1]) },
  { kernel: 'Transpose', name: '[2,3]', inputs: [s(2, 3)], f: (x) => tf.transpose(x) },
  { kernel: 'Slice', name: '[3,4] begin [1,1] size [-1,2]', inputs: [s(3, 4)], f: (x) => tf.slice(x, [1, 1], [-1, 2]) },
  { kernel: 'Slice', name: '[2,3,4] begin [0,1,2] size [2,1,2]', inputs: [s(2, 3, 4)], f: (x) => tf.slice(x, [0, 1, 2], [2, 1, 2]) },
  { kernel: 'Tile', name: '[2,3] reps [2,2]', inputs: [s(2, 3)], f: (x) => tf.tile(x, [2, 2]) },
  { kernel: 'Tile', name: '[3] reps [3]', inputs: [s(3)], f: (x) => tf.tile(x, [3]) },
  { kernel: 'Concat', name: '[2,3] | [2,1] axis 1', inputs: [s(2, 3), s(2, 1)], f: (a, b) => tf.concat([a, b], 1) },
  { kernel: 'Concat', name: 'three, axis 0', inputs: [s(1, 2), s(2, 2), s(1, 2)], f: (a, b, c) => tf.concat([a, b, c], 0) },
  { kernel: 'BatchMatMul', name: '2-D', inputs: [s(3, 4), s(4, 2)], f: (a, b) => tf.matMul(a, b) },
  { kernel: 'BatchMatMul', name: '2-D transposeA', inputs: [s(4, 3), s(4, 2)], f: (a, b) => tf.matMul(a, b, true, false) },
  { kernel: 'BatchMatMul', name: '2-D transposeB', inputs: [s(3, 4), s(2, 4)], f: (a, b) => tf.matMul(a, b, false, true) },
  { kernel: 'BatchMatMul', name: '2-D both transposed', inputs: [s(4, 3), s(2, 4)], f: (a, b) => tf.matMul(a, b, true, true) },
  { kernel: 'BatchMatMul', name: '3-D batch', inputs: [s(2, 3, 4), s(2, 4, 2)], f: (a, b) => tf.matMul(a, b) },
  { kernel: 'BatchMatMul', name: '3-D both transposed', inputs: [s(2, 4, 3), s(2, 2, 4)], f: (a, b) => tf.matMul(a, b, true, true) },
  { kernel: 'BatchMatMul', name: 'batch broadcast [1,3,4] x [2,4,2]', inputs: [s(1, 3, 4), s(2, 4, 2)], f: (a, b) => tf.matMul(a, b) },
  { kernel: 'BatchMatMul', name: 'batch broadcast [2,3,4] x [1,4,2], transposeA', inputs: [s(2, 4, 3), s(1, 4, 2)], f: (a, b) => tf.matMul(a, b, true, false) },
  { kernel: 'GatherV2', name: 'axis 0, duplicate indices', inputs: [s(3, 2)], f: (x) => tf.gather(x, tf.tensor1d([0, 2, 2, 1, 2], 'int32')) },
  { kernel: 'GatherV2', name: 'axis 1, 2-D indices with duplicates', inputs: [s(2, 4)], f: (x) => tf.gather(x, tf.tensor2d([3, 3, 0, 1], [2, 2], 'int32'), 1) },
  { kernel: 'GatherV2', name: 'axis 1 of [2,3,2], outer and inner axes', inputs: [s(2, 3, 2)], f: (x) => tf.gather(x, tf.tensor1d([2, 0, 2], 'int32'), 1) },
  { kernel: 'GatherV2', name: 'vector, index repeated 3 times', inputs: [s(4)], f: (x) => tf.gather(x, tf.tensor1d([1, 1, 1, 3], 'int32')) },
];

/** Largest scaled difference between analytic and numeric gradients, and the kernels f ran. */
async function gradError(f: (...xs: T[]) => T, inputs: Input[], seed: number): Promise<{ err: number; kernels: string[] }> {
  const rng = new Rng(seed);
  const vals = inputs.map((i) => Float32Array.from((i.gen ?? uniform)(rng, i.shape.reduce((p, d) => p * d, 1))));
  const xs = inputs.map((i, k) => tf.tensor(vals[k], i.shape));
  const info = await tf.profile(() => tf.tidy(() => f(...xs))); // tidy: f may make constants (indices)
  const out = info.result as T;
  const w = Float64Array.from(uniform(rng, out.size));
  const yShape = out.shape;
  out.dispose();
  const analytic = tf.tidy(() => tf.grads(f)(xs, tf.tensor(Float32Array.from(w), yShape)).map((t, k) => {
    expect(t.shape).toEqual(inputs[k].shape);
    expect(t.dtype).toBe('float32');
    return t.dataSync().slice();
  }));
  const loss = () => {
    const y = tf.tidy(() => f(...inputs.map((i, k) => tf.tensor(vals[k], i.shape))).dataSync().slice());
    let l = 0;
    for (let j = 0; j < y.length; j++) l += w[j] * y[j];
    return l;
  };
  let err = 0;
  vals.forEach((v, k) => {
    for (let i = 0; i < v.length; i++) {
      const x0 = v[i];
      v[i] = x0 + H;
      const up = v[i];
      const lUp = loss();
      v[i] = x0 - H;
      const down = v[i];
      const lDown = loss();
      v[i] = x0;
      const numeric = (lUp - lDown) / (up - down);
      err = Math.max(err, Math.abs(analytic[k][i] - numeric) / (1 + Math.abs(numeric)));
    }
  });
  xs.forEach((x) => x.dispose());
  return { err, kernels: info.kernelNames };
}

describe('gradients against central differences', () => {
  it('every registered kernel has at least one case, and every case names a registered kernel', () => {
    expect(new Set(CASES.map((c) => c.kernel))).toEqual(new Set(GRADIENT_KERNELS));
  });

  CASES.forEach((c, n) => {
    it(`${c.kernel}: ${c.name}`, async () => {
      const before = tf.memory().numTensors;
      const r = await gradError(c.f, c.inputs, 1000 + n);
      expect(r.kernels).toContain(c.kernel); // the case really runs the kernel under test
      expect(r.err).toBeLessThanOrEqual(TOL);
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  it('the check fails for a gradient that is off by 1%', async () => {
    const wrong = (x: T) =>
      tf.customGrad((v, save) => {
        (save as TF.GradSaveFunc)([v as T]);
        return { value: tf.square(v as T), gradFunc: (dy: T, [sv]: T[]) => tf.mul(dy, tf.mul(sv, 2.02)) };
      })(x) as T;
    const r = await gradError(wrong, [g(positive, 2, 3)], 1);
    expect(r.err).toBeGreaterThan(TOL);
  });
});

describe('registration', () => {
  it('is idempotent and the process runs on tfjs-core alone (no umbrella gradients present)', () => {
    expect(registerGradients(tf)).toEqual([]);
    for (const k of GRADIENT_KERNELS) expect(tf.getGradient(k)?.kernelName).toBe(k);
    // The umbrella would register these; with core alone only ours exist.
    for (const k of ['Conv2D', 'Pow', 'Sqrt', 'Abs', 'LogSoftmax']) expect(tf.getGradient(k)).toBeUndefined();
  });
});

describe('training end to end on tfjs-core (fails on any op without a gradient)', () => {
  const small = { factors: 8, iterations: 3, seed: 7, domain: 'tgt' };
  const valid = (data: Dataset) => parseEvents('user,item,domain\ncold-a,t0,tgt\ncold-b,t1,tgt\n', { vocab: data.vocab, label: 'valid.csv' });

  it('emcdr with the MLP mapping (Dense, tanh, mean squared error, L2, Adam)', async () => {
    const { data } = twoDomains();
    const m = new Emcdr({ ...small, mapping: 'mlp', epochs: 100 });
    await m.fit(data);
    expect((m.fitReport().choices['src->tgt'] as { kind: string }).kind).toBe('mlp');
    // Trained, not just run: cold users are mapped to their group's most popular target item.
    expect(m.recommend('cold-a', { k: 1 }).items[0]).toBe('t0');
    expect(m.recommend('cold-b', { k: 1 }).items[0]).toBe('t1');
  });

  it('ptupcdr (gather, attention softmax, batched matMul, slice, log-softmax cross-entropy)', async () => {
    const { data } = twoDomains();
    const m = new Ptupcdr({ ...small, epochs: 3, negatives: 4, metaHidden: 8, attentionHidden: 4, rank: 2 });
    await m.fit(data, { valid: valid(data) });
    expect(m.recommend('cold-b', { k: 1 }).items[0]).toBe('t1');
  });

  it('mf with the long-tail item encoder (Dense, relu)', async () => {
    const { data } = twoDomains();
    const items = ['t0', 't1', 't2', 't3', 't4', 't5'];
    const values = Float32Array.from({ length: items.length * 3 }, (_, q) => ((q * 7) % 5) / 5);
    const m = new Mf({ ...small, itemFeatures: { domain: 'tgt', items, width: 3, values } });
    await m.fit(data);
    const enc = (m.fitReport().stats.domains as Record<string, { encoder?: { epochs: number; encodedItems: number } }>).tgt.encoder;
    expect(enc?.epochs).toBeGreaterThan(0);
    expect(enc?.encodedItems).toBe(1); // t4 has 4 interactions, under the default 5
  });
});
