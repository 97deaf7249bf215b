/**
 * Weighted matrix factorisation for implicit feedback (Hu, Koren & Volinsky, ICDM 2008), solved by
 * alternating least squares with a few conjugate-gradient steps per row (Takacs, Pilaszy & Tikk,
 * RecSys 2011; the same scheme as implicit's `_least_squares_cg`). Training runs the f32 SIMD
 * kernels of `assembly/als.ts` (in this thread or sharded over the pool); fold-in and the accuracy
 * reference stay in plain f64 TypeScript. No tensors.
 *
 * Row u minimises sum_i c_ui (p_ui - x_u . y_i)^2 + reg |x_u|^2 with p_ui = 1 for observed items,
 * 0 otherwise, and confidence c_ui = 1 + alpha * r_ui.
 */
import { gramReference, solveRowsReference, type AlsInputs } from '../kernels/als-reference.js';
import { AlsWasm } from '../kernels/als-wasm.js';
import { balancedRanges } from '../kernels/csr.js';
import { getKernels } from '../kernels/index.js';
import type { BackendName, Csr } from '../kernels/types.js';
import type { AlsTask } from '../pool/als-task.js';
import type { KernelPool } from '../pool/index.js';
import type { Rng } from '../random.js';

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

/** Small random factors, N(0, 1) * scale, from a seeded generator (written into `a` when given). */
export function randomFactors(rows: number, d: number, rng: Rng, scale = 0.01, a: Float32Array = new Float32Array(rows * d)): Float32Array {
  if (a.length !== rows * d) throw new RangeError(`randomFactors: the output holds ${a.length} values, not ${rows} x ${d}`);
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
 * One half-iteration in plain f64 TypeScript, one row at a time: the fold-in solver applied to
 * every row. The accuracy reference of the f32 kernels in tests; models use {@link alsHalfStep}.
 * @param x row factors, updated in place (`r.nRows x d`).
 * @param y column factors (`r.nCols x d`).
 */
export function alsHalfStepF64(x: Float32Array, y: Float32Array, r: Csr, s: AlsSettings): void {
  const d = s.factors;
  const g = gram(y, d, s.regularization);
  const buf = new CgBuffers(d);
  for (let u = 0; u < r.nRows; u++) solveRow(x, u * d, y, g, r.indices, r.data, r.indptr[u], r.indptr[u + 1], s, s.cgSteps, buf);
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

/** Where a half-step runs. */
export interface AlsRun {
  /** Pool to shard the rows over (undefined: this thread). */
  pool?: KernelPool;
  /** `wasm` kernels, the `js` twin, or `auto` (wasm, else the twin). @default 'auto' */
  backend?: BackendName | 'auto';
}

let inThread: AlsWasm | undefined;

/** The wasm ALS kernels of this thread, or undefined when the backend resolves to the TS twin. */
function wasmAls(backend: BackendName | 'auto'): AlsWasm | undefined {
  if (getKernels(backend).backend !== 'wasm') return undefined;
  inThread ??= new AlsWasm();
  return inThread;
}

function toShared(a: Float32Array): Float32Array {
  const s = new Float32Array(new SharedArrayBuffer(a.byteLength));
  s.set(a);
  return s;
}

/**
 * One half-iteration: update every row of `x` (rows of `r`) with `y` fixed, by the f32 SIMD kernels
 * of `assembly/als.ts` (or their TS twin for the `js` backend): the Gram matrix once, in this
 * thread, then every row's CG solve, sharded over the pool's workers in ranges of balanced work
 * when a pool is given. A row's result depends only on its own inputs, so the factors are the same
 * for any pool size (and for either backend: the twin rounds like the kernel). Rows with no
 * entries, no prior and zero factors (users absent from the domain) are left alone.
 * @param x row factors, updated in place (`r.nRows x d`).
 * @param y column factors (`r.nCols x d`).
 * @throws {KernelError} when a pool worker fails, or `wasm` is requested and cannot load.
 */
export async function alsHalfStep(x: Float32Array, y: Float32Array, r: Csr, s: AlsSettings, prior?: RowPrior, run: AlsRun = {}): Promise<void> {
  const d = s.factors;
  const n = r.nRows;
  if (n === 0) return;
  const backend = run.backend ?? 'auto';
  const wasm = wasmAls(backend);
  const token = {};
  const g = wasm ? wasm.gram(y, d, s.regularization, token) : gramReference(y, d, s.regularization);
  const has = prior ? Uint8Array.from({ length: n }, (_, u) => (prior.has[u] ? 1 : 0)) : undefined;
  const inp: AlsInputs = { d, y, gram: g, indptr: r.indptr, indices: r.indices, data: r.data, alpha: s.alpha, cgSteps: s.cgSteps };
  if (prior) inp.prior = { weight: prior.weight, has: has!, values: prior.values };
  const pool = run.pool;
  if (!pool) {
    if (wasm) wasm.solve(inp, { y: token, gram: g, indptr: r.indptr, indices: r.indices, data: r.data, has, values: prior?.values }, x, 0, n);
    else solveRowsReference(inp, x, 0, n);
    return;
  }
  // Work per row: the Gram products (~ dp / 2 entry-equivalents) when it has entries, plus its entries.
  const cost = new Float64Array(n);
  for (let u = 0; u < n; u++) {
    const nnz = r.indptr[u + 1] - r.indptr[u];
    cost[u] = nnz > 0 || (has && has[u]) ? d / 2 + nnz : 0;
  }
  const bounds = balancedRanges(cost, pool.threads * 4);
  // Factors that live on a SharedArrayBuffer (see `sharedFactors`) are solved in place.
  const xs = x.buffer instanceof SharedArrayBuffer ? x : toShared(x);
  const base: Omit<AlsTask, 'start' | 'end'> = {
    backend,
    d,
    alpha: s.alpha,
    cgSteps: s.cgSteps,
    // Factors change every half-step: fresh ids, so no worker keeps an older copy (the CSR arrays never change).
    y: pool.shareChanged(y),
    gram: pool.shareChanged(g),
    indptr: pool.share(r.indptr),
    indices: pool.share(r.indices),
    data: pool.share(r.data),
    prior: prior ? { weight: prior.weight, has: pool.share(has!), values: pool.shareChanged(prior.values) } : undefined,
    x: xs,
  };
  const tasks: AlsTask[] = [];
  for (let b = 0; b + 1 < bounds.length; b++) if (bounds[b] < bounds[b + 1]) tasks.push({ ...base, start: bounds[b], end: bounds[b + 1] });
  await pool.runAll('alsRows', tasks);
  if (xs !== x) x.set(xs);
}

/** Zeroed factors, on a SharedArrayBuffer when a pool will solve them (no copy per half-step). */
export function sharedFactors(length: number, run: AlsRun): Float32Array {
  return run.pool ? new Float32Array(new SharedArrayBuffer(length * 4)) : new Float32Array(length);
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

/**
 * Whether every value is finite: x * 0 is (+/-)0 for a finite x and NaN for NaN or an infinity, and
 * a NaN stays in the sums. No branch per value (it runs on every factor after each ALS iteration).
 */
export function allFinite(a: ArrayLike<number>): boolean {
  const n = a.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * 0;
    s1 += a[i + 1] * 0;
    s2 += a[i + 2] * 0;
    s3 += a[i + 3] * 0;
  }
  for (; i < n; i++) s0 += a[i] * 0;
  return s0 + s1 + s2 + s3 === 0;
}
