/**
 * ALS kernels (assembly/als.ts) against their TS twin (src/kernels/als-reference.ts) and against
 * the f64 row solver, and the pooled half-step against the in-thread one.
 *
 * Tolerance: the twin rounds every f32 operation where the kernel does, in the same order, so the
 * two must agree bit for bit (tolerance 0). Against the f64 solver (a different rounding of the same
 * maths) the f32 factors agree within 2e-4 x the row's largest component + 1e-6 on well-conditioned
 * problems (reg >= 0.5, |y| ~ 0.3, 3d CG steps).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelError } from '../src/errors.js';
import { gramReference, paddedDim, solveRowsReference, type AlsInputs } from '../src/kernels/als-reference.js';
import { AlsWasm } from '../src/kernels/als-wasm.js';
import type { Csr } from '../src/kernels/types.js';
import { alsHalfStep, alsHalfStepF64, gram, type AlsSettings } from '../src/models/als.js';
import { createPool, type KernelPool } from '../src/pool/index.js';
import { Rng } from '../src/random.js';

const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Random factors: some rows all zero, some cells +0 or -0, values ~ N(0, scale). */
function factors(rows: number, d: number, rng: Rng, scale = 1): Float32Array {
  const y = new Float32Array(rows * d);
  for (let i = 0; i < rows; i++) {
    if (rng.next() < 0.2) continue;
    for (let a = 0; a < d; a++) y[i * d + a] = rng.next() < 0.1 ? (rng.next() < 0.5 ? 0 : -0) : rng.normal() * scale;
  }
  return y;
}

/** A random CSR: empty rows, and (when `dups`) rows with a column twice; positive non-binary values. */
function randomCsr(nRows: number, nCols: number, rng: Rng, dups: boolean): Csr {
  const indptr = new Uint32Array(nRows + 1);
  const idx: number[] = [];
  const val: number[] = [];
  for (let u = 0; u < nRows; u++) {
    if (nCols > 0 && rng.next() > 0.25) {
      const k = 1 + Math.floor(rng.next() * 7);
      for (let t = 0; t < k; t++) {
        const c = Math.floor(rng.next() * nCols);
        idx.push(c);
        val.push(rng.next() < 0.5 ? 1 : 0.1 + 3 * rng.next());
        if (dups && rng.next() < 0.3) {
          idx.push(c);
          val.push(1);
        }
      }
    }
    indptr[u + 1] = idx.length;
  }
  return { nRows, nCols, indptr, indices: Uint32Array.from(idx), data: Float32Array.from(val) };
}

function inputs(r: Csr, y: Float32Array, d: number, g: Float32Array, alpha: number, cgSteps: number, prior?: AlsInputs['prior']): AlsInputs {
  return { d, y, gram: g, indptr: r.indptr, indices: r.indices, data: r.data, alpha, cgSteps, prior };
}

let wasm: AlsWasm;
beforeAll(() => {
  wasm = new AlsWasm();
});

describe('ALS kernels vs the TS twin', () => {
  it('the Gram kernel equals the twin bit for bit (zero rows, signed zeros, d not a multiple of 4 or 8)', () => {
    const rng = Rng.derive(1, 'als-gram');
    for (const [n, d] of [[0, 4], [1, 1], [3, 3], [7, 5], [64, 8], [65, 9], [130, 13], [40, 16], [200, 20]]) {
      const y = factors(n, d, rng);
      const reg = rng.next();
      const k = wasm.gram(y, d, reg, {});
      const t = gramReference(y, d, reg);
      expect(k.length).toBe(paddedDim(d) ** 2);
      expect(bits(k)).toEqual(bits(t));
      // And close to the f64 Gram (the padding is zero).
      const g64 = gram(y, d, reg);
      const dp = paddedDim(d);
      for (let a = 0; a < dp; a++) {
        for (let b = 0; b < dp; b++) {
          const want = a < d && b < d ? g64[a * d + b] : 0;
          expect(Math.abs(k[a * dp + b] - want)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(want)) * Math.max(1, n));
        }
      }
    }
  });

  it('row solves equal the twin bit for bit: random sizes, empty rows, duplicate columns, zero factors, priors, any range', () => {
    const rng = Rng.derive(2, 'als-solve');
    for (let trial = 0; trial < 60; trial++) {
      const d = 1 + Math.floor(rng.next() * 19);
      const nRows = Math.floor(rng.next() * 40);
      const nCols = 1 + Math.floor(rng.next() * 25);
      const r = randomCsr(nRows, nCols, rng, trial % 2 === 0);
      const y = factors(nCols, d, rng, 0.5);
      const g = gramReference(y, d, 0.01 + rng.next());
      const x0 = factors(nRows, d, rng, 0.3);
      const prior =
        trial % 3 === 0
          ? { weight: 0.1 + 5 * rng.next(), has: Uint8Array.from({ length: nRows }, () => (rng.next() < 0.4 ? 1 : 0)), values: factors(nRows, d, rng) }
          : undefined;
      const inp = inputs(r, y, d, g, 1 + 40 * rng.next(), Math.floor(rng.next() * 6), prior);
      const start = Math.floor(rng.next() * (nRows + 1));
      const end = start + Math.floor(rng.next() * (nRows - start + 1));
      const a = x0.slice();
      const b = x0.slice();
      wasm.solve(inp, { y: {}, gram: g, indptr: r.indptr, indices: r.indices, data: r.data, has: prior?.has, values: prior?.values }, a, start, end);
      solveRowsReference(inp, b, start, end);
      expect(bits(a)).toEqual(bits(b));
      // Rows outside the range are untouched; rows with nothing to solve too.
      for (let u = 0; u < nRows; u++) {
        const empty = r.indptr[u + 1] === r.indptr[u] && !prior?.has[u] && x0.subarray(u * d, (u + 1) * d).every((v) => v === 0);
        if (u < start || u >= end || empty) expect(bits(a.subarray(u * d, (u + 1) * d))).toEqual(bits(x0.subarray(u * d, (u + 1) * d)));
      }
      // Solving the range in two pieces gives the same bits (a row's solve does not see its group).
      const c = x0.slice();
      const mid = start + Math.floor((end - start) / 2);
      wasm.solve(inp, { y: {}, gram: g, indptr: r.indptr, indices: r.indices, data: r.data, has: prior?.has, values: prior?.values }, c, start, mid);
      wasm.solve(inp, { y: {}, gram: g, indptr: r.indptr, indices: r.indices, data: r.data, has: prior?.has, values: prior?.values }, c, mid, end);
      expect(bits(c)).toEqual(bits(a));
    }
  });

  it('solves rows with entries and a non-zero start (the solve moves them)', () => {
    const rng = Rng.derive(3, 'als-moves');
    const r = randomCsr(12, 6, rng, false);
    const y = factors(6, 5, rng);
    const x = factors(12, 5, rng).map((v) => v + 1);
    const before = x.slice();
    wasm.solve(inputs(r, y, 5, gramReference(y, 5, 0.1), 10, 3), { y: {}, gram: {}, indptr: {}, indices: {}, data: {} }, x, 0, 12);
    for (let u = 0; u < 12; u++) if (r.indptr[u + 1] > r.indptr[u]) expect(bits(x.subarray(u * 5, u * 5 + 5))).not.toEqual(bits(before.subarray(u * 5, u * 5 + 5)));
  });

  it('refuses a row range outside the matrix with a KernelError', () => {
    const r = randomCsr(4, 3, Rng.derive(4, 'x'), false);
    const y = new Float32Array(6);
    const inp = inputs(r, y, 2, gramReference(y, 2, 1), 1, 1);
    expect(() => wasm.solve(inp, { y: {}, gram: {}, indptr: {}, indices: {}, data: {} }, new Float32Array(8), 2, 5)).toThrow(
      new KernelError('alsSolve: row range [2, 5) is not inside [0, 4)'),
    );
  });
});

describe('ALS half-step accuracy', () => {
  it('matches the f64 row solver on well-conditioned problems (d not a multiple of 4, warm starts, zero rows)', async () => {
    const rng = Rng.derive(5, 'als-f64');
    for (const d of [3, 7, 16]) {
      const s: AlsSettings = { factors: d, regularization: 0.5 + rng.next(), alpha: 5, cgSteps: 3 * d };
      const r = randomCsr(30, 20, rng, false);
      const y = factors(20, d, rng, 0.3);
      const x0 = factors(30, d, rng, 0.3);
      const a = x0.slice();
      const b = x0.slice();
      await alsHalfStep(a, y, r, s);
      alsHalfStepF64(b, y, r, s);
      for (let u = 0; u < 30; u++) {
        let scale = 0;
        for (let t = 0; t < d; t++) scale = Math.max(scale, Math.abs(b[u * d + t]));
        for (let t = 0; t < d; t++) expect(Math.abs(a[u * d + t] - b[u * d + t])).toBeLessThanOrEqual(2e-4 * scale + 1e-6);
      }
    }
  });
});

describe('pooled ALS half-step', () => {
  const pools: KernelPool[] = [];
  beforeAll(() => {
    for (const threads of [1, 2, 3]) pools.push(createPool({ threads }));
  });
  afterAll(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  it('gives the same factors bit for bit in this thread and on 1, 2 and 3 workers, for the wasm kernels and the js twin, with a prior', async () => {
    const rng = Rng.derive(6, 'als-pool');
    const d = 10;
    const s: AlsSettings = { factors: d, regularization: 0.1, alpha: 20, cgSteps: 3 };
    const r = randomCsr(400, 60, rng, true);
    const y = factors(60, d, rng);
    const x0 = factors(400, d, rng, 0.1);
    const prior = { weight: 2, has: Uint16Array.from({ length: 400 }, (_, u) => (u % 5 === 0 ? 2 : 0)), values: factors(400, d, rng) };
    const want = x0.slice();
    await alsHalfStep(want, y, r, s, prior, { backend: 'wasm' });
    expect(bits(want)).not.toEqual(bits(x0));
    const js = x0.slice();
    await alsHalfStep(js, y, r, s, prior, { backend: 'js' });
    expect(bits(js)).toEqual(bits(want));
    for (const pool of pools) {
      for (const backend of ['wasm', 'js'] as const) {
        const x = x0.slice();
        await alsHalfStep(x, y, r, s, prior, { pool, backend });
        expect(bits(x)).toEqual(bits(want));
      }
    }
    // A second half-step on the same pool with changed factors is not served stale inputs.
    const y2 = y.map((v) => v * 0.5);
    const want2 = want.slice();
    await alsHalfStep(want2, y2, r, s, undefined, {});
    const x2 = want.slice();
    await alsHalfStep(x2, y2, r, s, undefined, { pool: pools[1] });
    expect(bits(x2)).toEqual(bits(want2));
  });
});
