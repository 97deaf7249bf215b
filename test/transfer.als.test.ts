import { beforeAll, describe, expect, it } from 'vitest';
import type { Csr } from '../src/kernels/types.js';
import { Rng } from '../src/random.js';
import { alsHalfStep, alsHalfStepBatched, gram, type AlsSettings } from '../src/transfer/als.js';
import { initTensorflow, matMul2d, type Tf } from '../src/transfer/tf.js';

let tf: Tf;
beforeAll(async () => {
  tf = await initTensorflow();
});

/** Random factors where every third row is all zero (a user absent from the domain). */
function factors(rows: number, d: number, rng: Rng): Float32Array {
  const y = new Float32Array(rows * d);
  for (let i = 0; i < rows; i++) if (i % 3 !== 1) for (let a = 0; a < d; a++) y[i * d + a] = rng.normal();
  return y;
}

/** The plain definition: every row's outer product added in row order, in f64. */
function naiveGram(y: Float32Array, d: number, reg: number): Float64Array {
  const g = new Float64Array(d * d);
  for (let i = 0; i < y.length / d; i++) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) g[a * d + b] += y[i * d + a] * y[i * d + b];
  for (let a = 0; a < d; a++) g[a * d + a] += reg;
  return g;
}

/** A random 0/1 matrix with empty rows and duplicate-free rows. */
function randomCsr(nRows: number, nCols: number, rng: Rng): Csr {
  const indptr = new Uint32Array(nRows + 1);
  const idx: number[] = [];
  for (let u = 0; u < nRows; u++) {
    if (u % 4 !== 2) {
      const cols = new Set<number>();
      const k = 1 + Math.floor(rng.next() * 6);
      while (cols.size < Math.min(k, nCols)) cols.add(Math.floor(rng.next() * nCols));
      idx.push(...[...cols].sort((a, b) => a - b));
    }
    indptr[u + 1] = idx.length;
  }
  return { nRows, nCols, indptr, indices: Uint32Array.from(idx), data: new Float32Array(idx.length).fill(1) };
}

describe('ALS building blocks', () => {
  it('gram is bit-identical to the row-order f64 sum, with zero rows and any row count', () => {
    const rng = Rng.derive(3, 'gram');
    for (const [rows, d] of [[0, 4], [1, 3], [5, 8], [13, 7], [40, 16]]) {
      const y = factors(rows, d, rng);
      expect(Array.from(gram(y, d, 0.25))).toEqual(Array.from(naiveGram(y, d, 0.25)));
    }
  });

  it('the batched half-step matches the row-by-row reference, and leaves empty zero rows at zero', () => {
    const rng = Rng.derive(5, 'als');
    const d = 6;
    const s: AlsSettings = { factors: d, regularization: 0.1, alpha: 10, cgSteps: 3 };
    for (let trial = 0; trial < 5; trial++) {
      const r = randomCsr(30, 12, rng);
      const y = factors(12, d, rng);
      const start = factors(30, d, rng);
      for (let u = 0; u < 30; u++) if (r.indptr[u + 1] === r.indptr[u] && u % 2 === 0) start.fill(0, u * d, (u + 1) * d);
      const a = start.slice();
      const b = start.slice();
      alsHalfStep(a, y, r, s);
      alsHalfStepBatched(tf, b, y, r, s);
      for (let t = 0; t < a.length; t++) expect(b[t]).toBeCloseTo(a[t], 3);
      for (let u = 0; u < 30; u += 2) if (r.indptr[u + 1] === r.indptr[u]) expect(Array.from(b.subarray(u * d, (u + 1) * d)).every((v) => v === 0)).toBe(true);
    }
  });
});

describe('matMul2d', () => {
  it('equals tf.matMul in value and gradients, with and without a transposed right operand, and leaks no tensors', () => {
    const rng = Rng.derive(9, 'mm');
    const rand = (r: number, c: number) => tf.tensor2d(Float32Array.from({ length: r * c }, () => rng.normal()), [r, c]);
    const a = rand(5, 7);
    const b = rand(7, 3);
    const bt = rand(3, 7);
    const before = tf.memory().numTensors;
    for (const [right, tb] of [[b, false], [bt, true]] as const) {
      const ours = tf.tidy(() => {
        const g = tf.grads((x, y) => tf.sum(tf.square(matMul2d(tf, x, y, tb))))([a, right]);
        return [matMul2d(tf, a, right, tb), ...g].map((t) => Array.from(t.dataSync()));
      });
      const ref = tf.tidy(() => {
        const g = tf.grads((x, y) => tf.sum(tf.square(tf.matMul(x as never, y as never, false, tb))))([a, right]);
        return [tf.matMul(a, right, false, tb), ...g].map((t) => Array.from(t.dataSync()));
      });
      ours.forEach((v, i) => v.forEach((x, j) => expect(x).toBeCloseTo(ref[i][j], 3)));
    }
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b, bt]);
  });
});
