// Dense scoring: user vectors times item embeddings (f32x4 SIMD), then top-n per user.
//
// Algorithm: users are taken four at a time so that each item vector is loaded once per group
// (register blocking: the item matrix is streamed nUsers/4 times instead of nUsers times), and
// items two at a time so that each user row chunk loaded serves both. For
// user q and item i the dot product runs in four f32 lanes over the first dim & ~3 components
// (lane l sums components t with t % 4 == l, multiply then add, no fused multiply-add), the lanes
// are summed as (l0 + l1) + (l2 + l3), and the remaining dim % 4 components are added in order.
// Then disallowed items (a u32 mask per item, all ones = disallowed) and the user's seen items
// are set to -Infinity, and `topk` (a block-maximum threshold, then a heap of the scores that
// reach it) picks the best n.
//
// Cost: nUsers * nItems * dim multiply-adds (4 per SIMD op), nItems * dim * 4 bytes read per
// group of four users, plus top-k: O(nItems) SIMD scan + O(m log n) heap updates per user.

import { topk } from './topk';
import {
  finishQuantUser, integerScores, paddedDim, quantUser, quantWorkBytes, rowErr, rowNorm,
} from './dense-quant';

/**
 * Finish one item's four dot products: lanes summed as (l0 + l1) + (l2 + l3), then the last
 * dim % 4 components in order, stored at byte offset `io` of the four score rows.
 */
@inline function finishItem(
  a0: v128, a1: v128, a2: v128, a3: v128, v: usize, u0: usize, u1: usize, u2: usize, u3: usize,
  d4: i32, dim: i32, sc0: usize, sc1: usize, sc2: usize, sc3: usize, io: usize,
): void {
  let s0: f32 = (f32x4.extract_lane(a0, 0) + f32x4.extract_lane(a0, 1)) + (f32x4.extract_lane(a0, 2) + f32x4.extract_lane(a0, 3));
  let s1: f32 = (f32x4.extract_lane(a1, 0) + f32x4.extract_lane(a1, 1)) + (f32x4.extract_lane(a1, 2) + f32x4.extract_lane(a1, 3));
  let s2: f32 = (f32x4.extract_lane(a2, 0) + f32x4.extract_lane(a2, 1)) + (f32x4.extract_lane(a2, 2) + f32x4.extract_lane(a2, 3));
  let s3: f32 = (f32x4.extract_lane(a3, 0) + f32x4.extract_lane(a3, 1)) + (f32x4.extract_lane(a3, 2) + f32x4.extract_lane(a3, 3));
  for (let t = d4; t < dim; t++) {
    const off = <usize>t << 2;
    const x = load<f32>(v + off);
    s0 += load<f32>(u0 + off) * x;
    s1 += load<f32>(u1 + off) * x;
    s2 += load<f32>(u2 + off) * x;
    s3 += load<f32>(u3 + off) * x;
  }
  store<f32>(sc0 + io, s0);
  store<f32>(sc1 + io, s1);
  store<f32>(sc2 + io, s2);
  store<f32>(sc3 + io, s3);
}

/**
 * Exact f32 scores of four user rows (u0..u3; a short group repeats its last row) against every
 * item, into the four score rows at `scores` (`stride` f32 apart).
 */
function exactScores(u0: usize, u1: usize, u2: usize, u3: usize, items: usize, nItems: i32, dim: i32, scores: usize, stride: i32): void {
  const d4 = dim & ~3;
  const rowBytes = <usize>dim << 2;
  const sc0 = scores;
  const sc1 = scores + (<usize>stride << 2);
  const sc2 = scores + (<usize>stride << 3);
  const sc3 = scores + <usize>stride * 12;
  // Two items per pass (8 accumulators: each user row load serves both); an odd last item alone.
  const n2 = nItems & ~1;
  let v = items;
  for (let i = 0; i < n2; i += 2) {
    const w = v + rowBytes;
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0);
    let b1 = f32x4.splat(0);
    let b2 = f32x4.splat(0);
    let b3 = f32x4.splat(0);
    for (let t = 0; t < d4; t += 4) {
      const off = <usize>t << 2;
      const x = v128.load(v + off);
      const y = v128.load(w + off);
      const p0 = v128.load(u0 + off);
      const p1 = v128.load(u1 + off);
      const p2 = v128.load(u2 + off);
      const p3 = v128.load(u3 + off);
      a0 = f32x4.add(a0, f32x4.mul(p0, x));
      b0 = f32x4.add(b0, f32x4.mul(p0, y));
      a1 = f32x4.add(a1, f32x4.mul(p1, x));
      b1 = f32x4.add(b1, f32x4.mul(p1, y));
      a2 = f32x4.add(a2, f32x4.mul(p2, x));
      b2 = f32x4.add(b2, f32x4.mul(p2, y));
      a3 = f32x4.add(a3, f32x4.mul(p3, x));
      b3 = f32x4.add(b3, f32x4.mul(p3, y));
    }
    finishItem(a0, a1, a2, a3, v, u0, u1, u2, u3, d4, dim, sc0, sc1, sc2, sc3, <usize>i << 2);
    finishItem(b0, b1, b2, b3, w, u0, u1, u2, u3, d4, dim, sc0, sc1, sc2, sc3, <usize>(i + 1) << 2);
    v += rowBytes << 1;
  }
  if (n2 < nItems) {
    let a0 = f32x4.splat(0);
    let a1 = f32x4.splat(0);
    let a2 = f32x4.splat(0);
    let a3 = f32x4.splat(0);
    for (let t = 0; t < d4; t += 4) {
      const off = <usize>t << 2;
      const x = v128.load(v + off);
      a0 = f32x4.add(a0, f32x4.mul(v128.load(u0 + off), x));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(u1 + off), x));
      a2 = f32x4.add(a2, f32x4.mul(v128.load(u2 + off), x));
      a3 = f32x4.add(a3, f32x4.mul(v128.load(u3 + off), x));
    }
    finishItem(a0, a1, a2, a3, v, u0, u1, u2, u3, d4, dim, sc0, sc1, sc2, sc3, <usize>n2 << 2);
  }
}

/** Scratch bytes `scoreDense` needs in `work` for the integer path. */
export function scoreDenseWorkBytes(nItems: i32, dim: i32, n: i32): usize {
  return quantWorkBytes(nItems, dim, n);
}

// Per user of a group: scale, |u - u~|, |u| (globals: nothing here may allocate, see memory.ts).
let scale0: f64 = 0, scale1: f64 = 0, scale2: f64 = 0, scale3: f64 = 0;
let err0: f64 = 0, err1: f64 = 0, err2: f64 = 0, err3: f64 = 0;
let norm0: f64 = 0, norm1: f64 = 0, norm2: f64 = 0, norm3: f64 = 0;

/** Round user q of the group; false when it cannot take the integer path. */
function quantGroupUser(q: i32, u: usize, dim: i32, dst: usize): bool {
  const s = quantUser(u, dim, dst);
  if (q == 0) { scale0 = s; err0 = rowErr; norm0 = rowNorm; }
  else if (q == 1) { scale1 = s; err1 = rowErr; norm1 = rowNorm; }
  else if (q == 2) { scale2 = s; err2 = rowErr; norm2 = rowNorm; }
  else { scale3 = s; err3 = rowErr; norm3 = rowNorm; }
  return s != 0;
}

/**
 * Top-n items for `nUsers` user vectors at `uVec` (row-major nUsers x dim, f32) against `nItems`
 * item vectors at `items` (row-major nItems x dim). `users` (u32) names each vector's row of the
 * seen matrix (`seenIndices` = 0: none); `mask` = 0: no filter, else u32 per item.
 * Scratch: scores (4 rows of nItems rounded up to 4, f32), `top` (`topkScratchBytes(n)` bytes) and `work`
 * (`scoreDenseWorkBytes(nItems, dim, n)` bytes, 16-aligned). `qItems` / `qStats`: the items as
 * `quantItems` rounded them (0: every score is computed in f32, see dense-quant.ts).
 * User b writes counts[b] entries to slots [b*n, b*n + counts[b]), best first, or in no particular
 * order when `unordered` is 1 (the same entries).
 */
export function scoreDense(
  uVec: usize, users: usize, nUsers: i32, items: usize, nItems: i32, dim: i32,
  seenIndptr: usize, seenIndices: usize, mask: usize, n: i32,
  scores: usize, top: usize, work: usize, qItems: usize, qStats: usize, outCounts: usize, outIdx: usize, outScore: usize,
  unordered: i32,
): void {
  const rowBytes = <usize>dim << 2;
  const negInf = f32x4.splat(-Infinity);
  const dimP = paddedDim(dim);
  const stride = (nItems + 3) & ~3; // score row length: the integer path writes whole blocks of four
  // The integer path pays for the user rounding and the exact rescoring when the catalogue is
  // large against n. `work` holds four rounded user rows, then the candidate buffers.
  const quant = qItems != 0 && work != 0 && n > 0 && nItems >= 4 * n;
  const qUsers = work;
  const candIdx = qUsers + (<usize>(4 * dimP) << 1);
  const candSc = candIdx + (<usize>nItems << 2);
  const tmpIdx = candSc + (<usize>nItems << 2);
  const tmpSc = tmpIdx + (<usize>max(n, 0) << 2);
  const itemScale = quant ? load<f64>(qStats) : 0;
  const itemMaxErr = quant ? load<f64>(qStats, 8) : 0;
  const itemMaxNormQ = quant ? load<f64>(qStats, 16) : 0;
  const itemMaxNorm = quant ? load<f64>(qStats, 24) : 0;
  const gamma: f64 = (<f64>dim + 8) * 5.9604644775390625e-8 * 1.01; // (dim + 8) 2^-24, with room
  // Products or sums below f32's normal range round with an absolute error up to 2^-150 each,
  // which the relative term misses: (dim + 8) of those, doubled.
  const tiny: f64 = (<f64>dim + 8) * 1.401298464324817e-45;
  for (let b0 = 0; b0 < nUsers; b0 += 4) {
    const g = min(4, nUsers - b0);
    // Rows of the group; a short group repeats its last row (computed, never used).
    const u0 = uVec + <usize>b0 * rowBytes;
    const u1 = g > 1 ? u0 + rowBytes : u0;
    const u2 = g > 2 ? u0 + 2 * rowBytes : u1;
    const u3 = g > 3 ? u0 + 3 * rowBytes : u2;
    let groupQuant = quant;
    for (let q = 0; q < g && groupQuant; q++) {
      groupQuant = quantGroupUser(q, u0 + <usize>q * rowBytes, dim, qUsers + (<usize>(q * dimP) << 1));
    }
    if (groupQuant) {
      const last = qUsers + (<usize>((g - 1) * dimP) << 1);
      const q0 = qUsers;
      const q1 = g > 1 ? q0 + (<usize>dimP << 1) : last;
      const q2 = g > 2 ? q0 + (<usize>(2 * dimP) << 1) : last;
      const q3 = g > 3 ? q0 + (<usize>(3 * dimP) << 1) : last;
      integerScores(q0, q1, q2, q3, qItems, nItems, dimP, scores, stride);
    } else {
      exactScores(u0, u1, u2, u3, items, nItems, dim, scores, stride);
    }
    for (let q = 0; q < g; q++) {
      const sc = scores + <usize>q * (<usize>stride << 2);
      // Filter: bitselect -Infinity where the mask is all ones.
      if (mask != 0) {
        const n4 = nItems & ~3;
        let i = 0;
        for (; i < n4; i += 4) {
          const o = <usize>i << 2;
          v128.store(sc + o, v128.bitselect(negInf, v128.load(sc + o), v128.load(mask + o)));
        }
        for (; i < nItems; i++) {
          if (load<u32>(mask + (<usize>i << 2)) != 0) store<f32>(sc + (<usize>i << 2), -Infinity);
        }
      }
      const b = b0 + q;
      if (seenIndices != 0) {
        const u = load<u32>(users + (<usize>b << 2));
        const zb = load<u32>(seenIndptr + (<usize>u << 2));
        const ze = load<u32>(seenIndptr + (<usize>(u + 1) << 2));
        for (let e = zb; e < ze; e++) {
          store<f32>(sc + (<usize>load<u32>(seenIndices + (<usize>e << 2)) << 2), -Infinity);
        }
      }
      const oi = outIdx + (<usize>(b * n) << 2);
      const os = outScore + (<usize>(b * n) << 2);
      let m: i32;
      if (groupQuant) {
        const uNorm = q == 0 ? norm0 : q == 1 ? norm1 : q == 2 ? norm2 : norm3;
        const uErr = q == 0 ? err0 : q == 1 ? err1 : q == 2 ? err2 : err3;
        const uScale = q == 0 ? scale0 : q == 1 ? scale1 : q == 2 ? scale2 : scale3;
        const margin = (gamma * uNorm * itemMaxNorm + uNorm * itemMaxErr + uErr * itemMaxNormQ + tiny) * (1 + 1e-6);
        m = finishQuantUser(
          sc, nItems, n, u0 + <usize>q * rowBytes, items, dim, uScale * itemScale, margin,
          candIdx, candSc, tmpIdx, tmpSc, top, oi, os, unordered != 0,
        );
      } else {
        m = topk(sc, nItems, n, oi, os, top);
      }
      store<u32>(outCounts + (<usize>b << 2), m);
    }
  }
}
