/**
 * The ALS kernels' shared shapes and their pure-TypeScript twin (see `assembly/als.ts`): the test
 * oracle and the `js` backend. Same padded layout (row stride `dp`, a multiple of 8, padding
 * zero), same f32 rounding points (`Math.fround` after every f32 operation of the kernel), same
 * summation orders: the twin's factors equal the kernel's bit for bit. One row at a time (the
 * kernel's groups of four rows do not change any row's arithmetic).
 */
import { dotF32x4Order } from './reference.js';

const fround = Math.fround;
/** A row stops when its squared residual is at most this (as an f32, like the kernel). */
const TINY = fround(1e-20);

/** The padded stride of dimension d: the next multiple of 8. */
export function paddedDim(d: number): number {
  return (d + 7) & ~7;
}

/** Copy rows [start, end) of a row-major `? x d` matrix into a fresh `(end - start) x dp` one (padding zero). */
export function padRows(a: Float32Array, d: number, dp: number, start = 0, end = a.length / d, out = new Float32Array((end - start) * dp)): Float32Array {
  if (d === dp) out.set(a.subarray(start * d, end * d));
  else {
    out.fill(0); // `out` may be reused memory
    for (let u = start; u < end; u++) out.set(a.subarray(u * d, (u + 1) * d), (u - start) * dp);
  }
  return out;
}

/** Copy `rows` padded rows back into rows [start, start + rows) of a `? x d` matrix. */
export function unpadRows(p: Float32Array, d: number, dp: number, out: Float32Array, start: number, rows: number): void {
  if (d === dp) out.set(p.subarray(0, rows * d), start * d);
  else for (let q = 0; q < rows; q++) out.set(p.subarray(q * dp, q * dp + d), (start + q) * d);
}

/** A Gaussian prior on some rows: row u with `has[u]` is pulled towards `values` row u with `weight`. */
export interface AlsPriorInput {
  weight: number;
  /** 1 for the rows with a prior, per row of the matrix being solved. */
  has: Uint8Array;
  /** `nRows x d`, read only where `has` is set. */
  values: Float32Array;
}

/** What a row solve reads: the fixed side, its Gram matrix, the rows' entries, the settings. */
export interface AlsInputs {
  /** Latent dimension. */
  d: number;
  /** Fixed factors, `nCols x d`. */
  y: Float32Array;
  /** Gram matrix of `y` plus reg I, padded: `dp x dp` (from `gramReference` or the kernel). */
  gram: Float32Array;
  /** The rows' entries (CSR, `nRows + 1` pointers, columns index rows of `y`). */
  indptr: Uint32Array;
  indices: Uint32Array;
  data: Float32Array;
  /** Confidence slope: c = 1 + alpha * value. */
  alpha: number;
  /** Conjugate-gradient steps per row. */
  cgSteps: number;
  prior?: AlsPriorInput;
}

/** Y^T Y + reg I of `n x d` factors (all-zero rows skipped), padded to `dp x dp`, in the kernel's order. */
export function gramReference(y: Float32Array, d: number, reg: number): Float32Array {
  const dp = paddedDim(d);
  const n = d === 0 ? 0 : y.length / d;
  const g = new Float32Array(dp * dp);
  const yp = padRows(y, d, dp);
  for (let i = 0; i < n; i++) {
    const o = i * dp;
    let zero = true;
    for (let a = 0; a < dp; a++) if (yp[o + a] !== 0) zero = false;
    if (zero) continue;
    for (let a = 0; a < dp; a++) {
      const ya = yp[o + a];
      for (let b = 0; b < dp; b++) g[a * dp + b] = fround(g[a * dp + b] + fround(ya * yp[o + b]));
    }
  }
  const r = fround(reg);
  for (let a = 0; a < d; a++) g[a * dp + a] = fround(g[a * dp + a] + r);
  return g;
}

/** out = v G (sum over b in ascending order from 0). */
function timesGram(v: Float32Array, g: Float32Array, out: Float32Array, dp: number): void {
  for (let a = 0; a < dp; a++) {
    let acc = 0;
    for (let b = 0; b < dp; b++) acc = fround(acc + fround(v[b] * g[b * dp + a]));
    out[a] = acc;
  }
}

/** out += c * v, one rounding per multiply and per add. */
function axpy(out: Float32Array, oo: number, c: number, v: Float32Array, vo: number, dp: number): void {
  for (let a = 0; a < dp; a++) out[oo + a] = fround(out[oo + a] + fround(c * v[vo + a]));
}

/**
 * Solve rows [start, end) of `x` (`nRows x d`, updated in place) against `inp`: the twin of the
 * kernel's `alsSolve`. Rows with no entries, no prior and zero factors are left alone.
 */
export function solveRowsReference(inp: AlsInputs, x: Float32Array, start: number, end: number): void {
  const { d, indptr, indices, data, cgSteps, gram: g, prior } = inp;
  const dp = paddedDim(d);
  const y = padRows(inp.y, d, dp);
  const alpha = fround(inp.alpha);
  const w = prior ? fround(prior.weight) : 0;
  const xq = new Float32Array(dp);
  const r = new Float32Array(dp);
  const p = new Float32Array(dp);
  const ap = new Float32Array(dp);
  const v = new Float32Array(dp);
  for (let u = start; u < end; u++) {
    const e0 = indptr[u];
    const e1 = indptr[u + 1];
    const withPrior = prior !== undefined && prior.has[u] !== 0;
    xq.fill(0);
    xq.set(x.subarray(u * d, (u + 1) * d));
    if (e1 === e0 && !withPrior && xq.every((t) => t === 0)) continue;
    // 1. r = b - A x, p = r
    timesGram(xq, g, ap, dp);
    for (let a = 0; a < dp; a++) r[a] = -ap[a];
    for (let e = e0; e < e1; e++) {
      const conf = fround(1 + fround(alpha * data[e]));
      const yo = indices[e] * dp;
      const yx = dotF32x4Order(y, yo, xq, 0, dp);
      axpy(r, 0, fround(conf - fround(fround(conf - 1) * yx)), y, yo, dp);
    }
    if (withPrior) {
      v.fill(0);
      v.set(prior.values.subarray(u * d, (u + 1) * d));
      for (let a = 0; a < dp; a++) r[a] = fround(r[a] + fround(w * fround(v[a] - xq[a])));
    }
    p.set(r);
    let rs = dotF32x4Order(r, 0, r, 0, dp);
    // 2. CG steps
    for (let it = 0; it < cgSteps && rs > TINY; it++) {
      timesGram(p, g, ap, dp);
      for (let e = e0; e < e1; e++) {
        const conf = fround(1 + fround(alpha * data[e]));
        const yo = indices[e] * dp;
        axpy(ap, 0, fround(fround(conf - 1) * dotF32x4Order(y, yo, p, 0, dp)), y, yo, dp);
      }
      if (withPrior) axpy(ap, 0, w, p, 0, dp);
      const pap = dotF32x4Order(p, 0, ap, 0, dp);
      if (!(pap > 0)) break;
      const step = fround(rs / pap);
      axpy(xq, 0, step, p, 0, dp);
      axpy(r, 0, -step, ap, 0, dp);
      const next = dotF32x4Order(r, 0, r, 0, dp);
      const beta = fround(next / rs);
      for (let a = 0; a < dp; a++) p[a] = fround(r[a] + fround(beta * p[a]));
      rs = next;
    }
    x.set(xq.subarray(0, d), u * d);
  }
}
