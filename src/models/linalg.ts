/** Small dense linear algebra for the mappings (row-major f64): ridge regression by Cholesky. */

/**
 * Solve (X^T X + mu I) W = X^T Y for W (`p x q`), X `n x p`, Y `n x q`, by Cholesky; the last
 * column of X is left unpenalised when `lastUnpenalised` (an intercept column of ones).
 * @returns W, row-major `p x q`, as f32.
 */
export function ridge(x: Float64Array, y: Float64Array, n: number, p: number, q: number, mu: number, lastUnpenalised: boolean): Float32Array {
  return ridgeSolve(normalEquations(x, y, n, p, q), p, q, mu, lastUnpenalised);
}

/**
 * `ridge` from its normal equations (`normalEquations`, left unchanged: one set serves several
 * strengths): solve (A + mu I) W = B, the last row and column unpenalised when `lastUnpenalised`.
 */
export function ridgeSolve(eq: { a: Float64Array; b: Float64Array }, p: number, q: number, mu: number, lastUnpenalised: boolean): Float32Array {
  const a = eq.a.slice();
  const b = eq.b;
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

/** Copies row r of X (p values) to `xs` at `xo` and row r of Y (q values) to `ys` at `yo`. */
type RowFetch = (r: number, xs: Float64Array, xo: number, ys: Float64Array, yo: number) => void;

/**
 * The normal equations of a least-squares fit: X^T X (upper triangle only) and X^T Y, X `n x p`,
 * Y `n x q`, row-major f64 (see `normalEquationsOf`).
 */
export function normalEquations(x: Float64Array, y: Float64Array, n: number, p: number, q: number): { a: Float64Array; b: Float64Array } {
  return normalEquationsOf(n, p, q, (r, xs, xo, ys, yo) => {
    for (let i = 0; i < p; i++) xs[xo + i] = x[r * p + i];
    for (let j = 0; j < q; j++) ys[yo + j] = y[r * q + j];
  });
}

/**
 * The normal equations of rows `rows` of `x` (`xd` values each) with a 1 appended (an intercept
 * column, last), against the same rows of `y` (`yd` values each): what `normalEquations` gives for
 * those rows copied out to f64, to the bit, without the copies (factor matrices are read in place).
 */
export function interceptNormalEquations(x: Float32Array, xd: number, y: Float32Array, yd: number, rows: ArrayLike<number>): { a: Float64Array; b: Float64Array } {
  return normalEquationsOf(rows.length, xd + 1, yd, (r, xs, xo, ys, yo) => {
    const u = rows[r];
    for (let i = 0; i < xd; i++) xs[xo + i] = x[u * xd + i];
    xs[xo + xd] = 1;
    for (let j = 0; j < yd; j++) ys[yo + j] = y[u * yd + j];
  });
}

/**
 * X^T X (upper triangle only) and X^T Y of `n` rows given by `fetch`. Four rows at a time, so each
 * cell is loaded and stored once per four rows; each cell still adds its row products in ascending
 * row order, and a zero x_ri adds a zero product (finite inputs), which leaves a sum that starts at
 * +0 unchanged: the same bits as one row at a time skipping zeros.
 */
function normalEquationsOf(n: number, p: number, q: number, fetch: RowFetch): { a: Float64Array; b: Float64Array } {
  const a = new Float64Array(p * p);
  const b = new Float64Array(p * q);
  const x = new Float64Array(4 * p);
  const y = new Float64Array(4 * q);
  const x1 = p;
  const x2 = 2 * p;
  const x3 = 3 * p;
  const y1 = q;
  const y2 = 2 * q;
  const y3 = 3 * q;
  let r = 0;
  for (; r + 4 <= n; r += 4) {
    fetch(r, x, 0, y, 0);
    fetch(r + 1, x, x1, y, y1);
    fetch(r + 2, x, x2, y, y2);
    fetch(r + 3, x, x3, y, y3);
    for (let i = 0; i < p; i++) {
      const a0 = x[i];
      const a1 = x[x1 + i];
      const a2 = x[x2 + i];
      const a3 = x[x3 + i];
      const ai = i * p;
      for (let j = i; j < p; j++) {
        let acc = a[ai + j];
        acc += a0 * x[j];
        acc += a1 * x[x1 + j];
        acc += a2 * x[x2 + j];
        acc += a3 * x[x3 + j];
        a[ai + j] = acc;
      }
      const bi = i * q;
      for (let j = 0; j < q; j++) {
        let acc = b[bi + j];
        acc += a0 * y[j];
        acc += a1 * y[y1 + j];
        acc += a2 * y[y2 + j];
        acc += a3 * y[y3 + j];
        b[bi + j] = acc;
      }
    }
  }
  for (; r < n; r++) {
    fetch(r, x, 0, y, 0);
    for (let i = 0; i < p; i++) {
      const xi = x[i];
      if (xi === 0) continue;
      for (let j = i; j < p; j++) a[i * p + j] += xi * x[j];
      for (let j = 0; j < q; j++) b[i * q + j] += xi * y[j];
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
