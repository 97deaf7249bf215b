/**
 * Weighted matrix factorisation for implicit feedback (Hu, Koren & Volinsky, ICDM 2008), solved by
 * alternating least squares with a few conjugate-gradient steps per row (Takacs, Pilaszy & Tikk,
 * RecSys 2011; the same scheme as implicit's `_least_squares_cg`). Plain TypeScript over typed
 * arrays: at this size it trains in seconds and needs no tensors at all.
 *
 * Row u minimises sum_i c_ui (p_ui - x_u . y_i)^2 + reg |x_u|^2 with p_ui = 1 for observed items,
 * 0 otherwise, and confidence c_ui = 1 + alpha * r_ui.
 */
import type { Csr } from '../kernels/types.js';
import type { Rng } from '../random.js';
import type { Tf } from './tf.js';

/** Settings of one ALS solve. */
export interface AlsSettings {
  /** Latent dimension. */
  factors: number;
  /** L2 regularisation. */
  regularization: number;
  /** Confidence slope: c = 1 + alpha * weight. */
  alpha: number;
  /** Conjugate-gradient steps per row and half-iteration. */
  cgSteps: number;
}

/** Small random factors, N(0, 1) * scale, from a seeded generator. */
export function randomFactors(rows: number, d: number, rng: Rng, scale = 0.01): Float32Array {
  const a = new Float32Array(rows * d);
  for (let t = 0; t < a.length; t++) a[t] = rng.normal() * scale;
  return a;
}

/**
 * Gram matrix Y^T Y + reg I (d x d, f64). All-zero rows (users with no rows in the domain) are
 * skipped; the others go four at a time, so each cell is loaded and stored once per four rows.
 * Every cell still adds its row products in ascending row order, so the result is bit-identical
 * to the one-row-at-a-time sum.
 */
export function gram(y: Float32Array, d: number, reg: number): Float64Array {
  const g = new Float64Array(d * d);
  const n = y.length / d;
  const rows: number[] = [];
  for (let i = 0; i < n; i++) {
    const o = i * d;
    for (let a = 0; a < d; a++) {
      if (y[o + a] !== 0) {
        rows.push(o);
        break;
      }
    }
  }
  let q = 0;
  for (; q + 4 <= rows.length; q += 4) {
    const o0 = rows[q];
    const o1 = rows[q + 1];
    const o2 = rows[q + 2];
    const o3 = rows[q + 3];
    for (let a = 0; a < d; a++) {
      const y0 = y[o0 + a];
      const y1 = y[o1 + a];
      const y2 = y[o2 + a];
      const y3 = y[o3 + a];
      const ga = a * d;
      for (let b = a; b < d; b++) {
        let acc = g[ga + b];
        acc += y0 * y[o0 + b];
        acc += y1 * y[o1 + b];
        acc += y2 * y[o2 + b];
        acc += y3 * y[o3 + b];
        g[ga + b] = acc;
      }
    }
  }
  for (; q < rows.length; q++) {
    const o = rows[q];
    for (let a = 0; a < d; a++) {
      const ya = y[o + a];
      const ga = a * d;
      for (let b = a; b < d; b++) g[ga + b] += ya * y[o + b];
    }
  }
  for (let a = 0; a < d; a++) {
    g[a * d + a] += reg;
    for (let b = 0; b < a; b++) g[a * d + b] = g[b * d + a];
  }
  return g;
}

/**
 * One half-iteration: update every row of `x` (rows of `r`) with `y` fixed.
 * @param x row factors, updated in place (`r.nRows x d`).
 * @param y column factors (`r.nCols x d`).
 */
export function alsHalfStep(x: Float32Array, y: Float32Array, r: Csr, s: AlsSettings): void {
  const d = s.factors;
  const g = gram(y, d, s.regularization);
  const buf = new CgBuffers(d);
  for (let u = 0; u < r.nRows; u++) solveRow(x, u * d, y, g, r.indices, r.data, r.indptr[u], r.indptr[u + 1], s, s.cgSteps, buf);
}

/**
 * One half-iteration with every row's conjugate-gradient steps run in lock-step, so the dense
 * part (rows times the Gram matrix) is one tfjs matrix product per step on the wasm backend; the
 * sparse part (the observed items' confidence terms) stays in plain loops. Same arithmetic as
 * `alsHalfStep`. Rows with no entries and zero factors (users absent from the domain) have nothing
 * to solve and are left out of the products.
 */
export function alsHalfStepBatched(tf: Tf, x: Float32Array, y: Float32Array, r: Csr, s: AlsSettings, prior?: RowPrior): void {
  const d = s.factors;
  if (r.nRows === 0) return;
  const active: number[] = [];
  for (let u = 0; u < r.nRows; u++) {
    if (r.indptr[u + 1] > r.indptr[u] || (prior && prior.has[u])) active.push(u);
    else for (let a = 0; a < d; a++) if (x[u * d + a] !== 0) {
      active.push(u);
      break;
    }
  }
  if (active.length === 0) return;
  if (active.length === r.nRows) {
    cgRows(tf, x, y, r.indptr.subarray(0, r.nRows), r.indptr.subarray(1), r, s, prior);
    return;
  }
  const xc = new Float32Array(active.length * d);
  const starts = new Uint32Array(active.length);
  const ends = new Uint32Array(active.length);
  const pc = prior ? { weight: prior.weight, has: new Uint8Array(active.length), values: new Float32Array(active.length * d) } : undefined;
  active.forEach((u, q) => {
    xc.set(x.subarray(u * d, (u + 1) * d), q * d);
    starts[q] = r.indptr[u];
    ends[q] = r.indptr[u + 1];
    if (pc && prior!.has[u]) {
      pc.has[q] = 1;
      pc.values.set(prior!.values.subarray(u * d, (u + 1) * d), q * d);
    }
  });
  cgRows(tf, xc, y, starts, ends, r, s, pc);
  active.forEach((u, q) => x.set(xc.subarray(q * d, (q + 1) * d), u * d));
}

/**
 * A Gaussian prior on some rows: row u with `has[u]` minimises the ALS objective plus
 * `weight * |x_u - values_u|^2`, i.e. solves (A_u + weight I) x = b_u + weight * values_u.
 */
export interface RowPrior {
  weight: number;
  has: ArrayLike<number>;
  /** `nRows x d`, read only where `has` is set. */
  values: Float32Array;
}

/** The lock-step CG of `alsHalfStepBatched` over rows whose entries are r[starts[q]..ends[q]). */
function cgRows(tf: Tf, x: Float32Array, y: Float32Array, starts: Uint32Array, ends: Uint32Array, r: Csr, s: AlsSettings, prior?: RowPrior): void {
  const d = s.factors;
  const n = starts.length;
  const g = Float32Array.from(gram(y, d, s.regularization));
  const gT = tf.tensor2d(g, [d, d]);
  const timesGram = (v: Float32Array): Float32Array => {
    const t = tf.tensor2d(v, [n, d]);
    const out = tf.matMul(t, gT);
    const a = out.dataSync() as Float32Array;
    t.dispose();
    out.dispose();
    return a;
  };
  try {
    const { indices, data } = r;
    // 1. residual R = B - A X
    const res = timesGram(x);
    for (let t = 0; t < res.length; t++) res[t] = -res[t];
    for (let u = 0; u < n; u++) {
      const o = u * d;
      for (let e = starts[u]; e < ends[u]; e++) {
        const conf = 1 + s.alpha * data[e];
        const yo = indices[e] * d;
        let yx = 0;
        for (let a = 0; a < d; a++) yx += y[yo + a] * x[o + a];
        const c = conf - (conf - 1) * yx;
        for (let a = 0; a < d; a++) res[o + a] += c * y[yo + a];
      }
    }
    if (prior) {
      const w = prior.weight;
      for (let u = 0; u < n; u++) {
        if (!prior.has[u]) continue;
        const o = u * d;
        for (let a = 0; a < d; a++) res[o + a] += w * (prior.values[o + a] - x[o + a]);
      }
    }
    const p = res.slice();
    const rs = new Float64Array(n);
    for (let u = 0; u < n; u++) rs[u] = dotRange(res, res, u * d, d);
    // 2. CG steps, all rows together; a converged row keeps p = 0.
    for (let it = 0; it < s.cgSteps; it++) {
      for (let u = 0; u < n; u++) if (!(rs[u] > 1e-20)) p.fill(0, u * d, (u + 1) * d);
      const ap = timesGram(p);
      for (let u = 0; u < n; u++) {
        if (!(rs[u] > 1e-20)) continue;
        const o = u * d;
        for (let e = starts[u]; e < ends[u]; e++) {
          const conf = 1 + s.alpha * data[e];
          const yo = indices[e] * d;
          let yp = 0;
          for (let a = 0; a < d; a++) yp += y[yo + a] * p[o + a];
          const c = (conf - 1) * yp;
          for (let a = 0; a < d; a++) ap[o + a] += c * y[yo + a];
        }
        if (prior?.has[u]) for (let a = 0; a < d; a++) ap[o + a] += prior.weight * p[o + a];
        const pap = dotRange(p, ap, o, d);
        if (!(pap > 0)) {
          rs[u] = 0;
          continue;
        }
        const step = rs[u] / pap;
        let next = 0;
        for (let a = 0; a < d; a++) {
          x[o + a] += step * p[o + a];
          const ra = res[o + a] - step * ap[o + a];
          res[o + a] = ra;
          next += ra * ra;
        }
        const beta = next / rs[u];
        for (let a = 0; a < d; a++) p[o + a] = res[o + a] + beta * p[o + a];
        rs[u] = next;
      }
    }
  } finally {
    gT.dispose();
  }
}

function dotRange(a: Float32Array, b: Float32Array, o: number, d: number): number {
  let acc = 0;
  for (let i = 0; i < d; i++) acc += a[o + i] * b[o + i];
  return acc;
}

/**
 * The factors of one row from scratch (fold-in of a new or changed user): CG from zero with
 * `steps` steps (d steps solve exactly in exact arithmetic).
 */
export function solveNewRow(y: Float32Array, g: Float64Array, idx: Uint32Array, val: Float32Array, s: AlsSettings, steps: number): Float32Array {
  const out = new Float32Array(s.factors);
  solveRow(out, 0, y, g, idx, val, 0, idx.length, s, steps, new CgBuffers(s.factors));
  return out;
}

class CgBuffers {
  readonly r: Float64Array;
  readonly p: Float64Array;
  readonly ap: Float64Array;
  readonly x: Float64Array;
  constructor(d: number) {
    this.r = new Float64Array(d);
    this.p = new Float64Array(d);
    this.ap = new Float64Array(d);
    this.x = new Float64Array(d);
  }
}

/** CG on (G + Y^T (C_u - I) Y) x = Y^T C_u p_u, warm-started from x[off..off+d). */
function solveRow(
  xs: Float32Array,
  off: number,
  y: Float32Array,
  g: Float64Array,
  idx: Uint32Array,
  val: Float32Array,
  start: number,
  end: number,
  s: AlsSettings,
  steps: number,
  b: CgBuffers,
): void {
  const d = s.factors;
  const { r, p, ap, x } = b;
  for (let a = 0; a < d; a++) x[a] = xs[off + a];
  // 1. residual r = b - A x
  mulGram(g, x, r, d);
  for (let a = 0; a < d; a++) r[a] = -r[a];
  for (let t = start; t < end; t++) {
    const conf = 1 + s.alpha * val[t];
    const o = idx[t] * d;
    let yx = 0;
    for (let a = 0; a < d; a++) yx += y[o + a] * x[a];
    const c = conf - (conf - 1) * yx;
    for (let a = 0; a < d; a++) r[a] += c * y[o + a];
  }
  for (let a = 0; a < d; a++) p[a] = r[a];
  let rs = dot(r, r, d);
  // 2. CG steps
  for (let it = 0; it < steps && rs > 1e-20; it++) {
    mulGram(g, p, ap, d);
    for (let t = start; t < end; t++) {
      const conf = 1 + s.alpha * val[t];
      const o = idx[t] * d;
      let yp = 0;
      for (let a = 0; a < d; a++) yp += y[o + a] * p[a];
      const c = (conf - 1) * yp;
      for (let a = 0; a < d; a++) ap[a] += c * y[o + a];
    }
    const pap = dot(p, ap, d);
    if (!(pap > 0)) break;
    const step = rs / pap;
    for (let a = 0; a < d; a++) {
      x[a] += step * p[a];
      r[a] -= step * ap[a];
    }
    const next = dot(r, r, d);
    for (let a = 0; a < d; a++) p[a] = r[a] + (next / rs) * p[a];
    rs = next;
  }
  for (let a = 0; a < d; a++) xs[off + a] = x[a];
}

function mulGram(g: Float64Array, v: Float64Array, out: Float64Array, d: number): void {
  for (let a = 0; a < d; a++) {
    let acc = 0;
    const o = a * d;
    for (let b = 0; b < d; b++) acc += g[o + b] * v[b];
    out[a] = acc;
  }
}

function dot(a: Float64Array, b: Float64Array, d: number): number {
  let acc = 0;
  for (let i = 0; i < d; i++) acc += a[i] * b[i];
  return acc;
}

/** Whether every value is finite. */
export function allFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}
