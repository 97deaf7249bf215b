/** Small dense linear algebra for the mappings (row-major f64): ridge regression by Cholesky. */

/**
 * Solve (X^T X + mu I) W = X^T Y for W (`p x q`), X `n x p`, Y `n x q`, by Cholesky; the last
 * column of X is left unpenalised when `lastUnpenalised` (an intercept column of ones).
 * @returns W, row-major `p x q`, as f32.
 */
export function ridge(x: Float64Array, y: Float64Array, n: number, p: number, q: number, mu: number, lastUnpenalised: boolean): Float32Array {
  const a = new Float64Array(p * p);
  const b = new Float64Array(p * q);
  for (let r = 0; r < n; r++) {
    const xo = r * p;
    const yo = r * q;
    for (let i = 0; i < p; i++) {
      const xi = x[xo + i];
      if (xi === 0) continue;
      for (let j = i; j < p; j++) a[i * p + j] += xi * x[xo + j];
      for (let j = 0; j < q; j++) b[i * q + j] += xi * y[yo + j];
    }
  }
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
