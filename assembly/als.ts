// Alternating least squares for implicit feedback (Hu, Koren & Volinsky, ICDM 2008), one row solve
// by a few conjugate-gradient steps warm-started from the current factors (Takacs, Pilaszy & Tikk,
// RecSys 2011). f32 throughout, f32x4 SIMD for every d-length loop, no fused multiply-add.
//
// Layout: every factor matrix is row-major with a padded stride `dp` (a multiple of 8, the padding
// columns zero), so the vector loops have no scalar tail. Rounding order (the TS twin in
// src/kernels/als-reference.ts repeats it):
//   - dot(a, b): lane l sums the products of components t = l (mod 4) in ascending t, then
//     (l0 + l1) + (l2 + l3);
//   - (v G)[a]: the products v[b] * G[b][a] summed in ascending b, starting from 0;
//   - Gram G[a][b]: the products y[i][a] * y[i][b] over the non-zero rows i in ascending order,
//     then + reg on the diagonal (a < d);
//   - element-wise updates: one rounding per multiply and per add, in the order written.
//
// Row u (confidence c_ui = 1 + alpha r_ui, preference 1 on its entries) solves
//   (G + Y^T (C_u - I) Y + w [prior u]) x = Y^T C_u 1 + w v_u,   G = Y^T Y + reg I,
// starting from its current x: r = b - A x, p = r, then per step: Ap, alpha = rs / p.Ap,
// x += alpha p, r -= alpha Ap, p = r + (rs' / rs) p. A row stops when rs <= 1e-20 or p.Ap <= 0.
// Rows are solved four at a time so that the dense part (v G for four v) reads each Gram entry
// once per four rows (a 4 x 8 register tile); each row's arithmetic is its own, so the result of
// a row does not depend on which rows share its group (any sharding gives the same factors).
//
// Cost per half-step: Gram n * dp^2 / 2 multiply-adds; rows: (steps + 1) * (dp^2 + 2 dp nnz_u).

/** Gram tile rows collected per pass (their pointers live in the `rows` scratch). */
const CHUNK: i32 = 64;

/** A row stops when its squared residual is at most this (f32). */
const TINY: f32 = 1e-20;

/** Is the f32 row at `p` (dp floats) all zero? */
@inline function zeroRow(p: usize, dp: i32): bool {
  const zero = f32x4.splat(0);
  let any = v128.splat<i32>(0);
  for (let t = 0; t < dp; t += 4) any = v128.or(any, f32x4.ne(v128.load(p + (<usize>t << 2)), zero));
  return !v128.any_true(any);
}

/**
 * Gram matrix of `n` rows at `y` (stride dp): G = Y^T Y + reg I (dp x dp, f32, padding rows and
 * columns zero). All-zero rows are skipped. Scratch: `rows` (CHUNK pointers).
 */
export function alsGram(y: usize, n: i32, dp: i32, d: i32, reg: f32, g: usize, rows: usize): void {
  const rowBytes = <usize>dp << 2;
  memory.fill(g, 0, <usize>dp * rowBytes);
  let i = 0;
  while (i < n) {
    let cnt = 0;
    while (i < n && cnt < CHUNK) {
      const p = y + <usize>i * rowBytes;
      if (!zeroRow(p, dp)) {
        store<usize>(rows + (<usize>cnt << 2), p);
        cnt++;
      }
      i++;
    }
    if (cnt == 0) break;
    for (let a0 = 0; a0 < dp; a0 += 4) {
      const ao = <usize>a0 << 2;
      for (let b0 = a0 & ~7; b0 < dp; b0 += 8) {
        const bo = <usize>b0 << 2;
        const g0 = g + <usize>a0 * rowBytes + bo;
        const g1 = g0 + rowBytes;
        const g2 = g1 + rowBytes;
        const g3 = g2 + rowBytes;
        let c00 = v128.load(g0);
        let c01 = v128.load(g0, 16);
        let c10 = v128.load(g1);
        let c11 = v128.load(g1, 16);
        let c20 = v128.load(g2);
        let c21 = v128.load(g2, 16);
        let c30 = v128.load(g3);
        let c31 = v128.load(g3, 16);
        for (let c = 0; c < cnt; c++) {
          const r = load<usize>(rows + (<usize>c << 2));
          const v0 = v128.load(r + bo);
          const v1 = v128.load(r + bo, 16);
          let s = v128.load32_splat(r + ao);
          c00 = f32x4.add(c00, f32x4.mul(s, v0));
          c01 = f32x4.add(c01, f32x4.mul(s, v1));
          s = v128.load32_splat(r + ao, 4);
          c10 = f32x4.add(c10, f32x4.mul(s, v0));
          c11 = f32x4.add(c11, f32x4.mul(s, v1));
          s = v128.load32_splat(r + ao, 8);
          c20 = f32x4.add(c20, f32x4.mul(s, v0));
          c21 = f32x4.add(c21, f32x4.mul(s, v1));
          s = v128.load32_splat(r + ao, 12);
          c30 = f32x4.add(c30, f32x4.mul(s, v0));
          c31 = f32x4.add(c31, f32x4.mul(s, v1));
        }
        v128.store(g0, c00);
        v128.store(g0, c01, 16);
        v128.store(g1, c10);
        v128.store(g1, c11, 16);
        v128.store(g2, c20);
        v128.store(g2, c21, 16);
        v128.store(g3, c30);
        v128.store(g3, c31, 16);
      }
    }
  }
  // The lower triangle from the upper one (the same products in the same order), then reg.
  for (let a = 0; a < dp; a++) {
    for (let b = 0; b < a; b++) store<f32>(g + <usize>a * rowBytes + (<usize>b << 2), load<f32>(g + <usize>b * rowBytes + (<usize>a << 2)));
  }
  for (let a = 0; a < d; a++) {
    const p = g + <usize>a * rowBytes + (<usize>a << 2);
    store<f32>(p, load<f32>(p) + reg);
  }
}

/** f32 dot product of two dp-vectors in four lanes, (l0 + l1) + (l2 + l3). */
@inline function dot(a: usize, b: usize, dp: i32): f32 {
  let acc = f32x4.splat(0);
  for (let t = 0; t < dp; t += 4) {
    const o = <usize>t << 2;
    acc = f32x4.add(acc, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  return (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
}

/** out += c * v (dp floats). */
@inline function axpy(out: usize, c: f32, v: usize, dp: i32): void {
  const s = f32x4.splat(c);
  for (let t = 0; t < dp; t += 4) {
    const o = <usize>t << 2;
    v128.store(out + o, f32x4.add(v128.load(out + o), f32x4.mul(s, v128.load(v + o))));
  }
}

/** out[q] = v[q] G for the four consecutive rows at `v` (stride dp); 4 x 8 register tile. */
function times4(v: usize, g: usize, out: usize, dp: i32): void {
  const rowBytes = <usize>dp << 2;
  for (let a0 = 0; a0 < dp; a0 += 8) {
    let c00 = f32x4.splat(0);
    let c01 = f32x4.splat(0);
    let c10 = f32x4.splat(0);
    let c11 = f32x4.splat(0);
    let c20 = f32x4.splat(0);
    let c21 = f32x4.splat(0);
    let c30 = f32x4.splat(0);
    let c31 = f32x4.splat(0);
    let gp = g + (<usize>a0 << 2);
    let vp = v;
    for (let b = 0; b < dp; b++) {
      const g0 = v128.load(gp);
      const g1 = v128.load(gp, 16);
      let s = v128.load32_splat(vp);
      c00 = f32x4.add(c00, f32x4.mul(s, g0));
      c01 = f32x4.add(c01, f32x4.mul(s, g1));
      s = v128.load32_splat(vp + rowBytes);
      c10 = f32x4.add(c10, f32x4.mul(s, g0));
      c11 = f32x4.add(c11, f32x4.mul(s, g1));
      s = v128.load32_splat(vp + 2 * rowBytes);
      c20 = f32x4.add(c20, f32x4.mul(s, g0));
      c21 = f32x4.add(c21, f32x4.mul(s, g1));
      s = v128.load32_splat(vp + 3 * rowBytes);
      c30 = f32x4.add(c30, f32x4.mul(s, g0));
      c31 = f32x4.add(c31, f32x4.mul(s, g1));
      gp += rowBytes;
      vp += 4;
    }
    const o = out + (<usize>a0 << 2);
    v128.store(o, c00);
    v128.store(o, c01, 16);
    v128.store(o + rowBytes, c10);
    v128.store(o + rowBytes, c11, 16);
    v128.store(o + 2 * rowBytes, c20);
    v128.store(o + 2 * rowBytes, c21, 16);
    v128.store(o + 3 * rowBytes, c30);
    v128.store(o + 3 * rowBytes, c31, 16);
  }
}

/**
 * Solve rows [start, end) of one half-step. `x` holds those rows (row u at (u - start) * dp),
 * updated in place; `y` the fixed factors (stride dp); `g` their Gram matrix from `alsGram`;
 * `indptr` / `indices` / `data` the CSR rows (global row numbers). Prior: `has` (u8 per global row,
 * 0 = no prior on any row) and `values` (global rows, stride dp), weight `w`. Rows with no entries,
 * no prior and zero factors are left alone. Scratch: 16 * dp f32 + 48 bytes.
 */
export function alsSolve(
  x: usize, y: usize, g: usize, indptr: usize, indices: usize, data: usize, dp: i32,
  start: i32, end: i32, alpha: f32, steps: i32, w: f32, has: usize, values: usize, scratch: usize,
): void {
  const rowBytes = <usize>dp << 2;
  const block = rowBytes << 2;
  const X = scratch;
  const R = X + block;
  const P = R + block;
  const AP = P + block;
  const meta = AP + block; // rs: f32[4], row: i32[4], live: i32[4]
  let u = start;
  while (u < end) {
    // 1. The next four rows that have something to solve (fewer at the end: zero rows, not live).
    let n = 0;
    while (u < end && n < 4) {
      const e0 = load<u32>(indptr + (<usize>u << 2));
      const e1 = load<u32>(indptr + (<usize>(u + 1) << 2));
      const xu = x + <usize>(u - start) * rowBytes;
      if (e1 > e0 || (has != 0 && load<u8>(has + <usize>u) != 0) || !zeroRow(xu, dp)) {
        memory.copy(X + <usize>n * rowBytes, xu, rowBytes);
        store<i32>(meta + 16 + (<usize>n << 2), u);
        n++;
      }
      u++;
    }
    if (n == 0) break;
    for (let q = n; q < 4; q++) memory.fill(X + <usize>q * rowBytes, 0, rowBytes);
    // 2. Residual r = b - A x, p = r.
    times4(X, g, AP, dp);
    for (let q = 0; q < 4; q++) {
      const rq = R + <usize>q * rowBytes;
      const aq = AP + <usize>q * rowBytes;
      if (q >= n) {
        memory.fill(rq, 0, rowBytes);
        memory.fill(P + <usize>q * rowBytes, 0, rowBytes);
        store<f32>(meta + (<usize>q << 2), 0);
        store<i32>(meta + 32 + (<usize>q << 2), 0);
        continue;
      }
      const xq = X + <usize>q * rowBytes;
      const row = load<i32>(meta + 16 + (<usize>q << 2));
      for (let t = 0; t < dp; t += 4) v128.store(rq + (<usize>t << 2), f32x4.neg(v128.load(aq + (<usize>t << 2))));
      const e0 = load<u32>(indptr + (<usize>row << 2));
      const e1 = load<u32>(indptr + (<usize>(row + 1) << 2));
      for (let e = e0; e < e1; e++) {
        const conf: f32 = 1 + alpha * load<f32>(data + (<usize>e << 2));
        const yi = y + <usize>load<u32>(indices + (<usize>e << 2)) * rowBytes;
        const yx = dot(yi, xq, dp);
        axpy(rq, conf - (conf - 1) * yx, yi, dp);
      }
      if (has != 0 && load<u8>(has + <usize>row) != 0) {
        const vq = values + <usize>row * rowBytes;
        const sw = f32x4.splat(w);
        for (let t = 0; t < dp; t += 4) {
          const o = <usize>t << 2;
          v128.store(rq + o, f32x4.add(v128.load(rq + o), f32x4.mul(sw, f32x4.sub(v128.load(vq + o), v128.load(xq + o)))));
        }
      }
      memory.copy(P + <usize>q * rowBytes, rq, rowBytes);
      const rs = dot(rq, rq, dp);
      store<f32>(meta + (<usize>q << 2), rs);
      store<i32>(meta + 32 + (<usize>q << 2), rs > TINY ? 1 : 0);
    }
    // 3. CG steps, the four rows in lock-step; a row that stops keeps its x.
    for (let it = 0; it < steps; it++) {
      let live = 0;
      for (let q = 0; q < 4; q++) live += load<i32>(meta + 32 + (<usize>q << 2));
      if (live == 0) break;
      times4(P, g, AP, dp);
      for (let q = 0; q < 4; q++) {
        if (load<i32>(meta + 32 + (<usize>q << 2)) == 0) continue;
        const row = load<i32>(meta + 16 + (<usize>q << 2));
        const pq = P + <usize>q * rowBytes;
        const aq = AP + <usize>q * rowBytes;
        const rq = R + <usize>q * rowBytes;
        const xq = X + <usize>q * rowBytes;
        const e0 = load<u32>(indptr + (<usize>row << 2));
        const e1 = load<u32>(indptr + (<usize>(row + 1) << 2));
        for (let e = e0; e < e1; e++) {
          const conf: f32 = 1 + alpha * load<f32>(data + (<usize>e << 2));
          const yi = y + <usize>load<u32>(indices + (<usize>e << 2)) * rowBytes;
          axpy(aq, (conf - 1) * dot(yi, pq, dp), yi, dp);
        }
        if (has != 0 && load<u8>(has + <usize>row) != 0) axpy(aq, w, pq, dp);
        const pap = dot(pq, aq, dp);
        const rs = load<f32>(meta + (<usize>q << 2));
        if (!(pap > 0)) {
          store<i32>(meta + 32 + (<usize>q << 2), 0);
          continue;
        }
        const step = rs / pap;
        axpy(xq, step, pq, dp);
        axpy(rq, -step, aq, dp);
        const next = dot(rq, rq, dp);
        const beta = next / rs;
        const sb = f32x4.splat(beta);
        for (let t = 0; t < dp; t += 4) {
          const o = <usize>t << 2;
          v128.store(pq + o, f32x4.add(v128.load(rq + o), f32x4.mul(sb, v128.load(pq + o))));
        }
        store<f32>(meta + (<usize>q << 2), next);
        store<i32>(meta + 32 + (<usize>q << 2), next > TINY ? 1 : 0);
      }
    }
    // 4. Back to the rows.
    for (let q = 0; q < n; q++) {
      const row = load<i32>(meta + 16 + (<usize>q << 2));
      memory.copy(x + <usize>(row - start) * rowBytes, X + <usize>q * rowBytes, rowBytes);
    }
  }
}
