import { describe, expect, it } from 'vitest';
import { allFinite, randomFactors } from '../src/models/als.js';
import { interceptNormalEquations, normalEquations, ridge, ridgeSolve } from '../src/models/linalg.js';
import { Rng } from '../src/random.js';

/** X^T X (upper triangle) and X^T Y one row at a time, skipping zero x_ri: the reference of `normalEquations`. */
function rowByRow(x: Float64Array, y: Float64Array, n: number, p: number, q: number): { a: Float64Array; b: Float64Array } {
  const a = new Float64Array(p * p);
  const b = new Float64Array(p * q);
  for (let r = 0; r < n; r++) {
    for (let i = 0; i < p; i++) {
      const xi = x[r * p + i];
      if (xi === 0) continue;
      for (let j = i; j < p; j++) a[i * p + j] += xi * x[r * p + j];
      for (let j = 0; j < q; j++) b[i * q + j] += xi * y[r * q + j];
    }
  }
  return { a, b };
}

describe('linalg and ALS helpers', () => {
  it('normalEquations takes four rows at a time with the bits of one row at a time (zeros, negative values, n not a multiple of 4)', () => {
    const rng = new Rng(3);
    for (const [n, p, q] of [[0, 3, 2], [1, 4, 3], [7, 5, 4], [37, 9, 6], [64, 65, 64]]) {
      // f32 values in f64 (as the mappings pass factors), a fifth of them zero, last column the intercept.
      const x = Float64Array.from({ length: n * p }, (_, t) => (t % p === p - 1 ? 1 : rng.int(5) === 0 ? 0 : Math.fround(rng.normal())));
      const y = Float64Array.from({ length: n * q }, () => Math.fround(rng.normal()));
      const got = normalEquations(x, y, n, p, q);
      const ref = rowByRow(x, y, n, p, q);
      expect(Array.from(got.a)).toEqual(Array.from(ref.a));
      expect(Array.from(got.b)).toEqual(Array.from(ref.b));
      expect(Object.is(got.a[0], -0)).toBe(false);
    }
  });

  it('ridge solves the normal equations: recovers an exact linear map with a tiny penalty', () => {
    const rng = new Rng(5);
    const n = 50;
    const x = Float64Array.from({ length: n * 3 }, (_, t) => (t % 3 === 2 ? 1 : rng.normal()));
    // y = 2 x0 - x1 + 0.5 (intercept, unpenalised)
    const y = Float64Array.from({ length: n }, (_, r) => 2 * x[r * 3] - x[r * 3 + 1] + 0.5);
    const w = ridge(x, y, n, 3, 1, 1e-9, true);
    expect(w[0]).toBeCloseTo(2, 4);
    expect(w[1]).toBeCloseTo(-1, 4);
    expect(w[2]).toBeCloseTo(0.5, 4);
  });

  it('interceptNormalEquations reads rows of factor matrices in place with the bits of normalEquations on the copied rows; ridgeSolve serves several strengths', () => {
    const rng = new Rng(8);
    const [users, xd, yd] = [23, 5, 4];
    const xs = Float32Array.from({ length: users * xd }, () => (rng.int(6) === 0 ? 0 : rng.normal()));
    const ys = Float32Array.from({ length: users * yd }, () => rng.normal());
    for (const rows of [Uint32Array.of(), Uint32Array.of(4), Uint32Array.of(0, 3, 4, 9, 10, 17, 22), Uint32Array.from({ length: users }, (_, u) => u)]) {
      const n = rows.length;
      const x1 = new Float64Array(n * (xd + 1));
      const y64 = new Float64Array(n * yd);
      rows.forEach((u, r) => {
        for (let a = 0; a < xd; a++) x1[r * (xd + 1) + a] = xs[u * xd + a];
        x1[r * (xd + 1) + xd] = 1;
        for (let a = 0; a < yd; a++) y64[r * yd + a] = ys[u * yd + a];
      });
      const eq = interceptNormalEquations(xs, xd, ys, yd, rows);
      const ref = normalEquations(x1, y64, n, xd + 1, yd);
      expect(Array.from(eq.a)).toEqual(Array.from(ref.a));
      expect(Array.from(eq.b)).toEqual(Array.from(ref.b));
      const before = eq.a.slice();
      for (const mu of [1000, 10, 0.1]) expect(Array.from(ridgeSolve(eq, xd + 1, yd, mu, true))).toEqual(Array.from(ridge(x1, y64, n, xd + 1, yd, mu, true)));
      expect(eq.a).toEqual(before);
    }
  });

  it('allFinite: false for NaN and infinities anywhere, true otherwise (also -0 and empty)', () => {
    expect(allFinite(new Float32Array(0))).toBe(true);
    expect(allFinite(Float32Array.of(-0, 1e-45, -3.4e38, 0))).toBe(true);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (let at = 0; at < 7; at++) {
        const a = new Float32Array(7).fill(1);
        a[at] = bad;
        expect(allFinite(a)).toBe(false);
        expect(allFinite(Array.from(a))).toBe(false);
      }
    }
  });

  it('randomFactors writes into a given array the values it would return', () => {
    const fresh = randomFactors(5, 3, new Rng(9));
    const into = new Float32Array(new SharedArrayBuffer(15 * 4));
    expect(randomFactors(5, 3, new Rng(9), 0.01, into)).toBe(into);
    expect(Array.from(into)).toEqual(Array.from(fresh));
    expect(() => randomFactors(5, 3, new Rng(9), 0.01, new Float32Array(14))).toThrow(RangeError);
  });
});

