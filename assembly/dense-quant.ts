// Dense scoring through 16-bit integers, with exact results.
//
// The f32 dot products of `scoreDense` cost one multiply and one add per four components. Here
// the user and item vectors are first rounded to integers of at most Q in magnitude (one scale
// for all items, one per user), and `i32x4.dot_i16x8_s` does eight components in one instruction
// and one add. Q is chosen so that no partial sum can overflow an i32 (dimP * Q^2 < 2^31, dimP =
// dim rounded up to a multiple of 8). Those integer scores only choose candidates; every
// candidate is then scored again exactly as the f32 kernel does, so the output is the same.
//
// Why the candidates hold the whole top n. For user u and item i let f = the f32 score the exact
// kernel computes, A = c * D the integer score (D the integer dot product, c = the two scales).
// |f - A| <= M for every item, with
//   M = gamma * |u| * max|v|            (f32 rounding of f against the real u.v; gamma from dim)
//     + (dim + 8) 2^-149                  (the same rounding where values fall below f32's normal range)
//     + |u| * max|v - v~| + |u - u~| * max|v~|   (u.v - u~.v~ = u.(v - v~) + (u - u~).v~)
// (|.| Euclidean norms; v~, u~ the rounded vectors; maxima over the items). Let X be a value
// that at least n allowed, unseen items reach with their D: on long rows the block-maximum
// threshold of topk.ts (a lower bound of the n-th largest D, without sorting), else the n-th
// largest D itself. Those n items have f >= c X - M, so the n-th best f is at least that, and
// every item of the top n (ties included) has A >= f - M >= c X - 2M, i.e. D >= X - 2M / c.
// D is compared as f32 (rounding to nearest is monotone), with a slack for that rounding.
// Candidates are put in increasing item order, scored exactly, and the best n of them kept with
// ties by the lower item.
//
// A group of users with a non-finite or all-zero vector (quantUser returns 0), and items with a
// non-finite component, all zero, or magnitudes where f32 could overflow (quantItems returns 0),
// take the f32 path.

import { blockThreshold, keyHeapDump, keyPush, packKey, topk } from './topk';

/** Components per row of the integer vectors: dim rounded up to a multiple of 8 (16-byte rows). */
@inline export function paddedDim(dim: i32): i32 {
  return (dim + 7) & ~7;
}

/** Largest integer magnitude: dimP * Q^2 stays below 2^31, so no i32 lane or sum overflows. */
@inline function quantMax(dimP: i32): f64 {
  return Math.floor(Math.sqrt(2147483647.0 / <f64>max(dimP, 1)));
}

/** Bytes of `scoreDense`'s per-call buffers for this path: four rounded user rows, candidates. */
export function quantWorkBytes(nItems: i32, dim: i32, n: i32): usize {
  const dimP = <usize>paddedDim(dim);
  return (4 * dimP << 1) + (<usize>max(nItems, 0) << 3) + (<usize>max(n, 0) << 3) + 64;
}

/**
 * Bytes of the rounded item matrix (`quantItems`): blocks of four items (the last one padded
 * with zero items), each block a run of dimP / 2 vectors of 8 i16. Vector p of a block holds
 * components 2p and 2p + 1 of its four items, item by item, so that one `i32x4.dot_i16x8_s` with a
 * user's pair (2p, 2p + 1) in every lane adds that pair's products to the four items' lanes.
 */
export function quantItemsBytes(nItems: i32, dim: i32): usize {
  return <usize>((max(nItems, 0) + 3) & ~3) * <usize>paddedDim(dim) << 1;
}

// Results in globals, not objects: the module's own allocator (memory.ts) owns the heap, so
// nothing here may allocate.
/** The last row rounded by `quantRow`: |v - v~|, |v~|, |v|. */
export let rowErr: f64 = 0;
let rowNormQ: f64 = 0;
export let rowNorm: f64 = 0;

/** Byte offset of component t: plain rows (slot < 0), or item `slot` of a block of four. */
@inline function at(t: i32, slot: i32): usize {
  return slot < 0 ? <usize>t << 1 : (<usize>(t >> 1) << 4) + (<usize>slot << 2) + (<usize>(t & 1) << 1);
}

/** Max |x| of `len` f32 at `p`; NaN or an infinity gives Infinity. */
function maxAbs(p: usize, len: i32): f64 {
  let m: f64 = 0;
  for (let t = 0; t < len; t++) {
    const x = Math.abs(<f64>load<f32>(p + (<usize>t << 2)));
    if (!(x <= m)) m = x != x ? Infinity : x;
  }
  return m;
}

/**
 * Round `len` f32 at `src` to i16 (scale `s`, magnitude at most `q`), zero-padded to `lenP`:
 * component t at `dst` + 2t (`slot` < 0), or at its place in a block of four items (item `slot`
 * of the block at `dst`, see quantItemsBytes). Leaves |v - v~|, |v~|, |v| in rowErr, rowNormQ,
 * rowNorm.
 */
function quantRow(src: usize, len: i32, lenP: i32, dst: usize, slot: i32, s: f64, q: f64): void {
  const inv = 1.0 / s;
  let err: f64 = 0;
  let normQ: f64 = 0;
  let norm: f64 = 0;
  for (let t = 0; t < len; t++) {
    const x = <f64>load<f32>(src + (<usize>t << 2));
    const r = min(q, max(-q, nearest(x * inv)));
    store<i16>(dst + at(t, slot), <i16>r);
    const back = r * s;
    err += (x - back) * (x - back);
    normQ += back * back;
    norm += x * x;
  }
  for (let t = len; t < lenP; t++) store<i16>(dst + at(t, slot), 0);
  // Inflated a little for the rounding of these f64 sums themselves.
  rowErr = Math.sqrt(err) * (1 + 1e-9);
  rowNormQ = Math.sqrt(normQ) * (1 + 1e-9);
  rowNorm = Math.sqrt(norm) * (1 + 1e-9);
}

/**
 * Round the item matrix into `qItems` (`quantItemsBytes`), and write its scale and the maxima the
 * bound M needs to `stats` (four f64: scale, max |v - v~|, max |v~|, max |v|). Returns 0 when the
 * items cannot take the integer path (all zero, a non-finite component, or near f32 overflow).
 */
export function quantItems(items: usize, nItems: i32, dim: i32, qItems: usize, stats: usize): i32 {
  const dimP = paddedDim(dim);
  const m = maxAbs(items, nItems * dim);
  if (!(m > 0) || m > 1e15) return 0;
  const q = quantMax(dimP);
  const s = m / q;
  let maxErr: f64 = 0;
  let maxNormQ: f64 = 0;
  let maxNorm: f64 = 0;
  for (let i = 0; i < nItems; i++) {
    quantRow(items + (<usize>i * <usize>dim << 2), dim, dimP, qItems + (<usize>(i >> 2) * <usize>dimP << 3), i & 3, s, q);
    maxErr = max(maxErr, rowErr);
    maxNormQ = max(maxNormQ, rowNormQ);
    maxNorm = max(maxNorm, rowNorm);
  }
  // Zero the padding items of the last block (their scores are never read).
  for (let i = nItems; i < ((nItems + 3) & ~3); i++) {
    for (let t = 0; t < dimP; t++) store<i16>(qItems + (<usize>(i >> 2) * <usize>dimP << 3) + at(t, i & 3), 0);
  }
  store<f64>(stats, s);
  store<f64>(stats, maxErr, 8);
  store<f64>(stats, maxNormQ, 16);
  store<f64>(stats, maxNorm, 24);
  return 1;
}

/**
 * Integer scores of four rounded user rows (q0..q3, dimP i16 each) against every rounded item
 * (blocks of four, see quantItemsBytes), as f32, into the four score rows at `scores` (`stride`
 * f32 each, stride >= nItems rounded up to 4). Two blocks per pass: eight accumulators, each
 * holding one user's scores of four items, so no lanes are summed across.
 */
export function integerScores(q0: usize, q1: usize, q2: usize, q3: usize, qItems: usize, nItems: i32, dimP: i32, scores: usize, stride: i32): void {
  const blockBytes = <usize>dimP << 3;
  const pairs = dimP >> 1;
  const sc0 = scores;
  const sc1 = scores + (<usize>stride << 2);
  const sc2 = scores + (<usize>stride << 3);
  const sc3 = scores + <usize>stride * 12;
  const nBlocks = (nItems + 3) >> 2;
  const n2 = nBlocks & ~1;
  let x = qItems;
  for (let k = 0; k < n2; k += 2) {
    const y = x + blockBytes;
    let a0 = i32x4.splat(0);
    let a1 = a0;
    let a2 = a0;
    let a3 = a0;
    let b0 = a0;
    let b1 = a0;
    let b2 = a0;
    let b3 = a0;
    for (let p = 0; p < pairs; p++) {
      const vx = v128.load(x + (<usize>p << 4));
      const vy = v128.load(y + (<usize>p << 4));
      const o = <usize>p << 2;
      const s0 = v128.load32_splat(q0 + o);
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(s0, vx));
      b0 = i32x4.add(b0, i32x4.dot_i16x8_s(s0, vy));
      const s1 = v128.load32_splat(q1 + o);
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(s1, vx));
      b1 = i32x4.add(b1, i32x4.dot_i16x8_s(s1, vy));
      const s2 = v128.load32_splat(q2 + o);
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(s2, vx));
      b2 = i32x4.add(b2, i32x4.dot_i16x8_s(s2, vy));
      const s3 = v128.load32_splat(q3 + o);
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(s3, vx));
      b3 = i32x4.add(b3, i32x4.dot_i16x8_s(s3, vy));
    }
    const io = <usize>k << 4; // 4 items x 4 bytes per block
    v128.store(sc0 + io, f32x4.convert_i32x4_s(a0));
    v128.store(sc1 + io, f32x4.convert_i32x4_s(a1));
    v128.store(sc2 + io, f32x4.convert_i32x4_s(a2));
    v128.store(sc3 + io, f32x4.convert_i32x4_s(a3));
    v128.store(sc0 + io, f32x4.convert_i32x4_s(b0), 16);
    v128.store(sc1 + io, f32x4.convert_i32x4_s(b1), 16);
    v128.store(sc2 + io, f32x4.convert_i32x4_s(b2), 16);
    v128.store(sc3 + io, f32x4.convert_i32x4_s(b3), 16);
    x += blockBytes << 1;
  }
  if (n2 < nBlocks) {
    let a0 = i32x4.splat(0);
    let a1 = a0;
    let a2 = a0;
    let a3 = a0;
    for (let p = 0; p < pairs; p++) {
      const vx = v128.load(x + (<usize>p << 4));
      const o = <usize>p << 2;
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load32_splat(q0 + o), vx));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load32_splat(q1 + o), vx));
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load32_splat(q2 + o), vx));
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load32_splat(q3 + o), vx));
    }
    const io = <usize>n2 << 4;
    v128.store(sc0 + io, f32x4.convert_i32x4_s(a0));
    v128.store(sc1 + io, f32x4.convert_i32x4_s(a1));
    v128.store(sc2 + io, f32x4.convert_i32x4_s(a2));
    v128.store(sc3 + io, f32x4.convert_i32x4_s(a3));
  }
}

/** Round user row `u` into `dst`; returns its scale (norms in the row globals), 0 when it cannot take this path. */
export function quantUser(u: usize, dim: i32, dst: usize): f64 {
  const dimP = paddedDim(dim);
  const m = maxAbs(u, dim);
  if (!(m > 0) || m > 1e15) return 0;
  const s = m / quantMax(dimP);
  quantRow(u, dim, dimP, dst, -1, s, quantMax(dimP));
  return s;
}

/**
 * The exact f32 score of user row `u` and item row `v`, in the order of `scoreDense` (four lanes
 * over dim & ~3 components, lanes (l0 + l1) + (l2 + l3), then the rest in order).
 */
@inline function exactDot(u: usize, v: usize, dim: i32): f32 {
  const d4 = dim & ~3;
  let a = f32x4.splat(0);
  for (let t = 0; t < d4; t += 4) {
    const off = <usize>t << 2;
    a = f32x4.add(a, f32x4.mul(v128.load(u + off), v128.load(v + off)));
  }
  let s: f32 = (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1)) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
  for (let t = d4; t < dim; t++) {
    const off = <usize>t << 2;
    s += load<f32>(u + off) * load<f32>(v + off);
  }
  return s;
}

/**
 * Finish one user from its integer scores `sc` (filtered items already -Infinity): the k-th best
 * integer score, the candidates within the bound, their exact scores, and the top n of those into
 * `outIdx` / `outScore` (best first; in heap order when `unordered`). `c` = user scale x item
 * scale, `margin` = M. Returns the count written.
 */
export function finishQuantUser(
  sc: usize, nItems: i32, n: i32, u: usize, items: usize, dim: i32, c: f64, margin: f64,
  candIdx: usize, candSc: usize, tmpIdx: usize, tmpSc: usize, top: usize, outIdx: usize, outScore: usize, unordered: bool,
): i32 {
  // X: a value that at least n selectable integer scores reach. On long rows the threshold of
  // `topk` (block maxima) serves and saves the heap; else the n-th best itself. Without one
  // (fewer than n selectable items), every selectable item is a candidate.
  let x: f32 = -Infinity;
  if (nItems >= 32 * n) x = blockThreshold(sc, nItems, n, top);
  if (!(x > -Infinity) && topk(sc, nItems, n, tmpIdx, tmpSc, top) == n) x = load<f32>(tmpSc + (<usize>(n - 1) << 2));
  let limit: f32 = -3.4028234663852886e38;
  if (x > -Infinity) {
    const dk = <f64>x;
    const gap = 2 * margin / c;
    const t = dk - gap - ((Math.abs(dk) + gap) * 9.5367431640625e-7 + 1); // slack 2^-20 relative, +1
    limit = <f32>t;
  }
  // Gather, four scores at a time; whole blocks below the limit are skipped.
  const lim = f32x4.splat(limit);
  const n4 = nItems & ~3;
  let cnt = 0;
  let i = 0;
  for (; i < n4; i += 4) {
    const x = v128.load(sc + (<usize>i << 2));
    if (!v128.any_true(f32x4.ge(x, lim))) continue;
    for (let l = 0; l < 4; l++) {
      if (load<f32>(sc + (<usize>(i + l) << 2)) >= limit) {
        store<u32>(candIdx + (<usize>cnt << 2), i + l);
        cnt++;
      }
    }
  }
  for (; i < nItems; i++) {
    if (load<f32>(sc + (<usize>i << 2)) >= limit) {
      store<u32>(candIdx + (<usize>cnt << 2), i);
      cnt++;
    }
  }
  const rowBytes = <usize>dim << 2;
  for (let e = 0; e < cnt; e++) {
    const item = load<u32>(candIdx + (<usize>e << 2));
    store<f32>(candSc + (<usize>e << 2), exactDot(u, items + <usize>item * rowBytes, dim));
  }
  let got: i32;
  if (unordered) {
    // The top n of the candidates by packed key (position order = item order, so ties go to the
    // lower item), left unsorted; scores are copied back from candSc so that -0 stays -0.
    let size = 0;
    for (let e = 0; e < cnt; e++) size = keyPush(top, size, n, packKey(load<f32>(candSc + (<usize>e << 2)) + 0, <u32>e));
    got = keyHeapDump(top, size, outIdx, outScore);
    for (let e = 0; e < got; e++) store<f32>(outScore + (<usize>e << 2), load<f32>(candSc + (<usize>load<u32>(outIdx + (<usize>e << 2)) << 2)));
  } else {
    got = topk(candSc, cnt, n, outIdx, outScore, top);
  }
  for (let e = 0; e < got; e++) {
    const at = outIdx + (<usize>e << 2);
    store<u32>(at, load<u32>(candIdx + (<usize>load<u32>(at) << 2)));
  }
  return got;
}
