import { beforeAll, describe, expect, it } from 'vitest';
import type { Csr } from '../src/kernels/types.js';
import { Rng } from '../src/random.js';
import { alsHalfStep, alsHalfStepF64, gram, type AlsSettings } from '../src/models/als.js';
import { initTensorflow, matMul2d, type Tf } from '../src/models/tf.js';

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

/** Like `factors`, and some cells of the non-zero rows are +0 or -0 too. */
function factorsWithZeros(rows: number, d: number, rng: Rng): Float32Array {
  const y = factors(rows, d, rng);
  for (let t = 0; t < y.length; t++) if (rng.next() < 0.2) y[t] = rng.next() < 0.5 ? 0 : -0;
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
    for (const [rows, d] of [[0, 4], [1, 3], [5, 8], [13, 7], [40, 16], [41, 9]]) {
      const y = factorsWithZeros(rows, d, rng);
      expect(Array.from(gram(y, d, 0.25))).toEqual(Array.from(naiveGram(y, d, 0.25)));
    }
  });

  it('the kernel half-step matches the row-by-row f64 reference, with and without rows left out', async () => {
    const rng = Rng.derive(5, 'als');
    const d = 6;
    const s: AlsSettings = { factors: d, regularization: 0.1, alpha: 10, cgSteps: 3 };
    for (let trial = 0; trial < 6; trial++) {
      const r = randomCsr(30, 12, rng);
      const y = factors(12, d, rng);
      const start = factors(30, d, rng);
      // Empty rows are u % 4 == 2; half of them start at zero (left out), half do not (kept and solved).
      // Trial 0 keeps every row, so the path without compaction is compared too.
      if (trial > 0) for (let u = 2; u < 30; u += 8) start.fill(0, u * d, (u + 1) * d);
      const a = start.slice();
      const b = start.slice();
      alsHalfStepF64(a, y, r, s);
      await alsHalfStep(b, y, r, s);
      for (let t = 0; t < a.length; t++) expect(b[t]).toBeCloseTo(a[t], 3);
      let solvedEmpty = 0;
      for (let u = 2; u < 30; u += 4) {
        const row = Array.from(b.subarray(u * d, (u + 1) * d));
        const was = Array.from(start.subarray(u * d, (u + 1) * d));
        if (was.every((v) => v === 0)) expect(row.every((v) => v === 0)).toBe(true);
        else {
          expect(row.some((v, k) => v !== was[k])).toBe(true); // an empty row with factors is solved (shrinks)
          solvedEmpty++;
        }
      }
      expect(solvedEmpty).toBeGreaterThan(0);
    }
  });
});

describe('ALS row prior', () => {
  /** Dense solve of (Y^T C_u Y + (reg + w) I) x = Y^T C_u p_u + w prior, by Gaussian elimination. */
  function exactRow(y: Float32Array, d: number, idx: ArrayLike<number>, alpha: number, reg: number, w: number, prior: ArrayLike<number>): number[] {
    const a = Array.from({ length: d }, () => new Float64Array(d + 1));
    for (let i = 0; i < y.length / d; i++) for (let p = 0; p < d; p++) for (let q = 0; q < d; q++) a[p][q] += y[i * d + p] * y[i * d + q];
    for (let t = 0; t < idx.length; t++) {
      const o = idx[t] * d;
      for (let p = 0; p < d; p++) {
        for (let q = 0; q < d; q++) a[p][q] += alpha * y[o + p] * y[o + q];
        a[p][d] += (1 + alpha) * y[o + p];
      }
    }
    for (let p = 0; p < d; p++) {
      a[p][p] += reg + w;
      a[p][d] += w * prior[p];
    }
    for (let c = 0; c < d; c++) {
      for (let r = c + 1; r < d; r++) {
        const f = a[r][c] / a[c][c];
        for (let k = c; k <= d; k++) a[r][k] -= f * a[c][k];
      }
    }
    const x = new Array<number>(d).fill(0);
    for (let r = d - 1; r >= 0; r--) {
      let t = a[r][d];
      for (let k = r + 1; k < d; k++) t -= a[r][k] * x[k];
      x[r] = t / a[r][r];
    }
    return x;
  }

  it('solves each row with its prior exactly (enough CG steps), rows without a prior as plain ALS, from zero or warm starts', async () => {
    const rng = Rng.derive(11, 'prior');
    const d = 5;
    const s: AlsSettings = { factors: d, regularization: 0.3, alpha: 4, cgSteps: 40 };
    const r = randomCsr(16, 9, rng);
    const y = factors(9, d, rng);
    const values = factors(16, d, rng);
    const has = Uint8Array.from({ length: 16 }, (_, u) => (u % 3 === 0 ? 1 : 0)); // includes u=6, a row with no entries
    // Zero starts (rows without entries, prior or factors are left out) and warm starts (every row
    // kept, and the prior's "- x" term in the residual matters), as in the coupling rounds.
    for (const [w, warm] of [[0.5, false], [20, false], [0.5, true], [20, true]] as const) {
      const x = warm ? factors(16, d, rng).map((v) => v + 0.5) : new Float32Array(16 * d);
      await alsHalfStep(x, y, r, s, { weight: w, has, values });
      for (let u = 0; u < 16; u++) {
        const idx = r.indices.subarray(r.indptr[u], r.indptr[u + 1]);
        const want = has[u] ? exactRow(y, d, idx, s.alpha, s.regularization, w, values.subarray(u * d, (u + 1) * d)) : exactRow(y, d, idx, s.alpha, s.regularization, 0, new Float32Array(d));
        for (let a = 0; a < d; a++) expect(x[u * d + a]).toBeCloseTo(want[a], 3);
      }
    }
    // A strong prior pins the row to it.
    const x = new Float32Array(16 * d);
    await alsHalfStep(x, y, r, s, { weight: 1e5, has, values });
    for (let a = 0; a < d; a++) expect(x[3 * d + a]).toBeCloseTo(values[3 * d + a], 2);
  });
});

describe('matMul2d', () => {
  it('equals tf.matMul in value and gradients for every option, and leaks no tensors', () => {
    const rng = Rng.derive(9, 'mm');
    const rand = (r: number, c: number) => tf.tensor2d(Float32Array.from({ length: r * c }, () => rng.normal()), [r, c]);
    const a = rand(5, 7);
    const b = rand(7, 3);
    const bt = rand(3, 7);
    const before = tf.memory().numTensors;
    for (const [right, transposeB] of [[b, false], [bt, true]] as const) {
      const ref = tf.tidy(() => {
        const g = tf.grads((x, y) => tf.sum(tf.square(tf.matMul(x as never, y as never, false, transposeB))))([a, right]);
        return [tf.matMul(a, right, false, transposeB), ...g].map((t) => Array.from(t.dataSync()));
      });
      const same = (got: number[], want: number[]) => {
        expect(got.length).toBe(want.length);
        got.forEach((x, j) => expect(x).toBeCloseTo(want[j], 3));
      };
      for (const constant of [undefined, 'a', 'b'] as const) {
        const ours = tf.tidy(() => {
          const value = Array.from(matMul2d(tf, a, right, { transposeB, constant }).dataSync());
          // Gradient with respect to the non-constant operand(s) only.
          // A constant made inside the differentiated function, as in PTUPCDR's forward pass: it is
          // disposed before the backward pass unless matMul2d keeps it.
          const f = (x: ReturnType<Tf['tensor']>, y: ReturnType<Tf['tensor']>) => {
            const xa = constant === 'a' ? tf.mul(x, 1) : x;
            const yb = constant === 'b' ? tf.mul(y, 1) : y;
            return tf.sum(tf.square(matMul2d(tf, xa, yb, { transposeB, constant })));
          };
          const ga = constant === 'a' ? undefined : Array.from(tf.grad((x) => f(x, right))(a).dataSync());
          const gb = constant === 'b' ? undefined : Array.from(tf.grad((y) => f(a, y))(right).dataSync());
          return { value, ga, gb };
        });
        same(ours.value, ref[0]);
        if (ours.ga) same(ours.ga, ref[1]);
        if (ours.gb) same(ours.gb, ref[2]);
      }
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(() => tf.tidy(() => matMul2d(tf, tf.zeros([2, 2, 2]), b))).toThrow(new RangeError('matMul2d needs 2-D operands (got ranks 3 and 2)'));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([a, b, bt]);
  });
});
