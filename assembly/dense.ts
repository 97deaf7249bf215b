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
 * Top-n items for `nUsers` user vectors at `uVec` (row-major nUsers x dim, f32) against `nItems`
 * item vectors at `items` (row-major nItems x dim). `users` (u32) names each vector's row of the
 * seen matrix (`seenIndices` = 0: none); `mask` = 0: no filter, else u32 per item.
 * Scratch: scores (4 * nItems f32) and `top` (`topkScratchBytes(n)` bytes). User b writes
 * counts[b] entries to slots [b*n, b*n + counts[b]).
 */
export function scoreDense(
  uVec: usize, users: usize, nUsers: i32, items: usize, nItems: i32, dim: i32,
  seenIndptr: usize, seenIndices: usize, mask: usize, n: i32,
  scores: usize, top: usize, outCounts: usize, outIdx: usize, outScore: usize,
): void {
  const d4 = dim & ~3;
  const rowBytes = <usize>dim << 2;
  const negInf = f32x4.splat(-Infinity);
  for (let b0 = 0; b0 < nUsers; b0 += 4) {
    const g = min(4, nUsers - b0);
    // Rows of the group; a short group repeats its last row (computed, never used).
    const u0 = uVec + <usize>b0 * rowBytes;
    const u1 = g > 1 ? u0 + rowBytes : u0;
    const u2 = g > 2 ? u0 + 2 * rowBytes : u1;
    const u3 = g > 3 ? u0 + 3 * rowBytes : u2;
    const sc0 = scores;
    const sc1 = scores + (<usize>nItems << 2);
    const sc2 = scores + (<usize>nItems << 3);
    const sc3 = scores + <usize>nItems * 12;
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
    for (let q = 0; q < g; q++) {
      const sc = scores + <usize>q * (<usize>nItems << 2);
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
      const m = topk(sc, nItems, n, outIdx + (<usize>(b * n) << 2), outScore + (<usize>(b * n) << 2), top);
      store<u32>(outCounts + (<usize>b << 2), m);
    }
  }
}
