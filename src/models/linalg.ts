/** Small dense linear algebra for the mappings (row-major f64): ridge regression by Cholesky. */

/**
 * Solve (X^T X + mu I) W = X^T Y for W (`p x q`), X `n x p`, Y `n x q`, by Cholesky; the last
 * column of X is left unpenalised when `lastUnpenalised` (an intercept column of ones).
 * @returns W, row-major `p x q`, as f32.
 */
export function ridge(x: Float64Array, y: Float64Array, n: number, p: number, q: number, mu: number, lastUnpenalised: boolean): Float32Array {
  const { a, b } = normalEquations(x, y, n, p, q);
  for (let i = 0; i < p; i++) {
    for (let j = 0; j < i; j++) a[i * p + j] = a[j * p + i];
    if (!(lastUnpenalised && i === p - 1)) a[i * p + i] += mu;
    a[i * p + i] += 1e-9; // keeps the factorisation defined for an all-zero column
  }
  cholesky(a, p);
  const w = new Float32Array(p * q);
  const col = new Float64Array(p);
  for (let j = 0; j < q; j++) {
    for (let i = 0; i < p; i++) col[i] = b[i * q + j];
    choleskySolve(a, p, col);
    for (let i = 0; i < p; i++) w[i * q + j] = col[i];
  }
  return w;
}

/**
 * The normal equations of a least-squares fit: X^T X (upper triangle only) and X^T Y, X `n x p`,
 * Y `n x q`, row-major f64. Four rows at a time, so each cell is loaded and stored once per four
 * rows; each cell still adds its row products in ascending row order, and a zero x_ri adds a zero
 * product (finite inputs), which leaves a sum that starts at +0 unchanged: the same bits as one row
 * at a time skipping zeros.
 */
export function normalEquations(x: Float64Array, y: Float64Array, n: number, p: number, q: number): { a: Float64Array; b: Float64Array } {
  const a = new Float64Array(p * p);
  const b = new Float64Array(p * q);
  let r = 0;
  for (; r + 4 <= n; r += 4) {
    const x0 = r * p;
    const x1 = x0 + p;
    const x2 = x1 + p;
    const x3 = x2 + p;
    const y0 = r * q;
    const y1 = y0 + q;
    const y2 = y1 + q;
    const y3 = y2 + q;
    for (let i = 0; i < p; i++) {
      const a0 = x[x0 + i];
      const a1 = x[x1 + i];
      const a2 = x[x2 + i];
      const a3 = x[x3 + i];
      const ai = i * p;
      for (let j = i; j < p; j++) {
        let acc = a[ai + j];
        acc += a0 * x[x0 + j];
        acc += a1 * x[x1 + j];
        acc += a2 * x[x2 + j];
        acc += a3 * x[x3 + j];
        a[ai + j] = acc;
      }
      const bi = i * q;
      for (let j = 0; j < q; j++) {
        let acc = b[bi + j];
        acc += a0 * y[y0 + j];
        acc += a1 * y[y1 + j];
        acc += a2 * y[y2 + j];
        acc += a3 * y[y3 + j];
        b[bi + j] = acc;
      }
    }
  }
  for (; r < n; r++) {
    const xo = r * p;
    const yo = r * q;
    for (let i = 0; i < p; i++) {
      const xi = x[xo + i];
      if (xi === 0) continue;
      for (let j = i; j < p; j++) a[i * p + j] += xi * x[xo + j];
      for (let j = 0; j < q; j++) b[i * q + j] += xi * y[yo + j];
    }
  }
  return { a, b };
}

/** In-place lower Cholesky factor of an SPD matrix (upper part left as is). */
function cholesky(a: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) {
    let s = a[j * n + j];
    for (let k = 0; k < j; k++) s -= a[j * n + k] * a[j * n + k];
    const l = Math.sqrt(Math.max(s, 1e-12));
    a[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let t = a[i * n + j];
      for (let k = 0; k < j; k++) t -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = t / l;
    }
  }
}

/** Solve L L^T x = b in place, L from `cholesky`. */
function choleskySolve(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * b[k];
    b[i] = s / l[i * n + i];
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * b[k];
    b[i] = s / l[i * n + i];
  }
}
