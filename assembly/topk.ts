// Top-k selection over a dense score vector.
//
// Algorithm, for long vectors (n >= 32k): a threshold first, then a heap over the few scores
// that reach it. The first 2k * L scores (L = n / 2k rounded down to a multiple of 16) split into
// 2k blocks of L; each block contributes its maximum (SIMD pseudo-max, NaN and -Infinity
// ignored), and T = the k-th largest of those maxima (a min-heap of k packed keys). The k blocks
// whose maxima reach T hold k distinct scores >= T, so the k-th best score is >= T and every
// entry of the top k is among the scores >= T: a SIMD pass over all n scores keeps those, in a
// packed-key min-heap of size k (see below). For independent scores about 1.4k entries (estimate)
// reach T, against about k ln(n/k) heap updates for the scan below.
//
// Otherwise (short vectors, or fewer than k blocks with a selectable score): a bounded binary
// min-heap of size k whose root is the current worst kept entry (lowest score; among equal
// scores the highest index). Indices are visited in increasing order, so a later entry can only
// displace the root with a strictly greater score; this keeps the contract "ties break by the
// lower index" without comparing indices in the scan. Once the heap is full, a SIMD pre-filter
// compares four scores at a time against the root's score and skips blocks where no lane can
// enter. Entries that are NaN or -Infinity are never selected (callers mask filtered items with
// -Infinity).
//
// Cost: threshold path two O(n) SIMD passes + O(k log k) for T + O(c log k) heap updates for the
// c >= k entries >= T; heap path O(n) scan + O(m log k) heap updates, m = entries that beat
// the running threshold (about k ln(n/k) in random order); both + O(k log k) for the final sort.

/** Is (sa, ia) worse than (sb, ib)? Lower score is worse; equal scores: higher index is worse. */
@inline function worse(sa: f32, ia: u32, sb: f32, ib: u32): bool {
  return sa < sb || (sa == sb && ia > ib);
}

@inline function siftDown(hs: usize, hi: usize, size: i32, start: i32): void {
  let pos = start;
  const s = load<f32>(hs + (<usize>pos << 2));
  const i = load<u32>(hi + (<usize>pos << 2));
  while (true) {
    let child = 2 * pos + 1;
    if (child >= size) break;
    let cs = load<f32>(hs + (<usize>child << 2));
    let ci = load<u32>(hi + (<usize>child << 2));
    const right = child + 1;
    if (right < size) {
      const rs = load<f32>(hs + (<usize>right << 2));
      const ri = load<u32>(hi + (<usize>right << 2));
      if (worse(rs, ri, cs, ci)) { child = right; cs = rs; ci = ri; }
    }
    if (!worse(cs, ci, s, i)) break;
    store<f32>(hs + (<usize>pos << 2), cs);
    store<u32>(hi + (<usize>pos << 2), ci);
    pos = child;
  }
  store<f32>(hs + (<usize>pos << 2), s);
  store<u32>(hi + (<usize>pos << 2), i);
}

@inline function siftUp(hs: usize, hi: usize, start: i32): void {
  let pos = start;
  const s = load<f32>(hs + (<usize>pos << 2));
  const i = load<u32>(hi + (<usize>pos << 2));
  while (pos > 0) {
    const parent = (pos - 1) >> 1;
    const ps = load<f32>(hs + (<usize>parent << 2));
    const pi = load<u32>(hi + (<usize>parent << 2));
    if (!worse(s, i, ps, pi)) break;
    store<f32>(hs + (<usize>pos << 2), ps);
    store<u32>(hi + (<usize>pos << 2), pi);
    pos = parent;
  }
  store<f32>(hs + (<usize>pos << 2), s);
  store<u32>(hi + (<usize>pos << 2), i);
}

/**
 * Push (score, index) into a heap of current size `size` and capacity `k`; returns the new size.
 * Exported for the other kernels of this module; the caller scans indices in increasing order.
 */
@inline export function heapPush(hs: usize, hi: usize, size: i32, k: i32, score: f32, index: u32): i32 {
  if (size < k) {
    store<f32>(hs + (<usize>size << 2), score);
    store<u32>(hi + (<usize>size << 2), index);
    siftUp(hs, hi, size);
    return size + 1;
  }
  if (worse(load<f32>(hs), load<u32>(hi), score, index)) {
    store<f32>(hs, score);
    store<u32>(hi, index);
    siftDown(hs, hi, size, 0);
  }
  return size;
}

/**
 * Turn a heap of `size` entries into a list sorted best first (heap sort in place: repeatedly
 * move the worst entry to the end).
 */
export function heapSortDescending(hs: usize, hi: usize, size: i32): void {
  let n = size;
  while (n > 1) {
    n--;
    const s = load<f32>(hs);
    const i = load<u32>(hi);
    store<f32>(hs, load<f32>(hs + (<usize>n << 2)));
    store<u32>(hi, load<u32>(hi + (<usize>n << 2)));
    store<f32>(hs + (<usize>n << 2), s);
    store<u32>(hi + (<usize>n << 2), i);
    siftDown(hs, hi, n, 0);
  }
}

/** Scratch bytes `topk` needs for `k` outputs (a heap of 2k + 1 packed keys). */
export function topkScratchBytes(k: i32): usize {
  return (<usize>(2 * max(k, 0)) + 1) << 3;
}

/**
 * Select the k best of `n` f32 scores at `scores` into `outIdx` (u32) / `outScore` (f32), best
 * first, ties by lower index. NaN and -Infinity are skipped. Returns the number written (<= k).
 * `scratch`: `topkScratchBytes(k)` bytes, 8-aligned (0: the heap path only).
 */
export function topk(scores: usize, n: i32, k: i32, outIdx: usize, outScore: usize, scratch: usize): i32 {
  if (k <= 0 || n <= 0) return 0;
  if (scratch != 0 && n >= 32 * k) {
    const m = topkByThreshold(scores, n, k, outIdx, outScore, scratch);
    if (m >= 0) return m;
  }
  return topkByHeap(scores, n, k, outIdx, outScore);
}

/** The maximum of `len` (a multiple of 16) scores at `p`, NaN and -Infinity counting as -Infinity. */
@inline function blockMax(p: usize, len: i32): f32 {
  // pmax(a, b) = a < b ? b : a: a NaN in b leaves a, and a never holds NaN.
  let a = f32x4.splat(-Infinity);
  let b = a;
  let c = a;
  let d = a;
  const end = p + (<usize>len << 2);
  for (let q = p; q < end; q += 64) {
    a = f32x4.pmax(a, v128.load(q));
    b = f32x4.pmax(b, v128.load(q, 16));
    c = f32x4.pmax(c, v128.load(q, 32));
    d = f32x4.pmax(d, v128.load(q, 48));
  }
  a = f32x4.pmax(f32x4.pmax(a, b), f32x4.pmax(c, d));
  a = f32x4.pmax(a, v128.shuffle<f32>(a, a, 2, 3, 0, 1));
  a = f32x4.pmax(a, v128.shuffle<f32>(a, a, 1, 0, 3, 2));
  return f32x4.extract_lane(a, 0);
}

/** Push `key` into the min-heap of capacity k at `heap` (size entries); returns the new size. */
@inline export function keyPush(heap: usize, size: i32, k: i32, key: u64): i32 {
  if (size < k) {
    store<u64>(heap + (<usize>size << 3), key);
    size++;
    if (size == k) keyHeapify(heap, k);
    return size;
  }
  if (key > load<u64>(heap)) keySiftDown(heap, k, 0, key);
  return size;
}

/**
 * T of the threshold path: the k-th largest maximum of 2k blocks of L = (n / 2k) & ~15 scores
 * (needs n >= 32k; `heap`: `topkScratchBytes(k)` bytes). At least k scores reach T, so T is a
 * lower bound of the k-th best score. -Infinity when fewer than k blocks have a selectable score.
 */
export function blockThreshold(scores: usize, n: i32, k: i32, heap: usize): f32 {
  const nb = 2 * k;
  const len = (n / nb) & ~15;
  let size = 0;
  for (let b = 0; b < nb; b++) size = keyPush(heap, size, k, packKey(blockMax(scores + (<usize>(b * len) << 2), len) + 0, <u32>b));
  return keyScore(load<u64>(heap));
}

/** The threshold path of `topk` (see the header); -1 when fewer than k blocks have a selectable score. */
function topkByThreshold(scores: usize, n: i32, k: i32, outIdx: usize, outScore: usize, heap: usize): i32 {
  const t = blockThreshold(scores, n, k, heap);
  if (!(t > -Infinity)) return -1;
  let size = 0;
  const tv = f32x4.splat(t);
  const n4 = n & ~3;
  let j = 0;
  for (; j < n4; j += 4) {
    const p = scores + (<usize>j << 2);
    if (!v128.any_true(f32x4.ge(v128.load(p), tv))) continue;
    for (let q = 0; q < 4; q++) {
      const s = load<f32>(p + (<usize>q << 2));
      if (s >= t) size = keyPush(heap, size, k, packKey(s + 0, <u32>(j + q)));
    }
  }
  for (; j < n; j++) {
    const s = load<f32>(scores + (<usize>j << 2));
    if (s >= t) size = keyPush(heap, size, k, packKey(s + 0, <u32>j));
  }
  if (size < k) keyHeapify(heap, size); // cannot happen (k blocks reach t); kept for safety
  keyHeapDrain(heap, size, outIdx, outScore);
  // The scores as given (a key holds -0 as +0).
  for (let r = 0; r < size; r++) {
    const i = load<u32>(outIdx + (<usize>r << 2));
    store<f32>(outScore + (<usize>r << 2), load<f32>(scores + (<usize>i << 2)));
  }
  return size;
}

/** The heap path of `topk` (see the header). */
function topkByHeap(scores: usize, n: i32, k: i32, outIdx: usize, outScore: usize): i32 {
  let size = 0;
  let j = 0;
  // Phase 1: fill the heap with the first k selectable entries.
  while (j < n && size < k) {
    const s = load<f32>(scores + (<usize>j << 2));
    if (s > -Infinity) size = heapPush(outScore, outIdx, size, k, s, <u32>j);
    j++;
  }
  if (size < k) {
    heapSortDescending(outScore, outIdx, size);
    return size;
  }
  // Phase 2: scalar until 4-aligned, then SIMD blocks of four against the threshold.
  while (j < n && (j & 3) != 0) {
    const s = load<f32>(scores + (<usize>j << 2));
    if (s > load<f32>(outScore)) size = heapPush(outScore, outIdx, size, k, s, <u32>j);
    j++;
  }
  const n4 = n & ~3;
  while (j < n4) {
    const v = v128.load(scores + (<usize>j << 2));
    const thr = f32x4.splat(load<f32>(outScore));
    if (v128.any_true(f32x4.gt(v, thr))) {
      for (let q = 0; q < 4; q++) {
        const s = load<f32>(scores + (<usize>(j + q) << 2));
        if (s > load<f32>(outScore)) size = heapPush(outScore, outIdx, size, k, s, <u32>(j + q));
      }
    }
    j += 4;
  }
  while (j < n) {
    const s = load<f32>(scores + (<usize>j << 2));
    if (s > load<f32>(outScore)) size = heapPush(outScore, outIdx, size, k, s, <u32>j);
    j++;
  }
  heapSortDescending(outScore, outIdx, size);
  return size;
}

// ---- Packed-key heap, for the sparse kernels -------------------------------------------------
// A (score, index) pair packs into one u64 whose unsigned order is the ranking order: the high
// word is the f32 bit pattern mapped to an order-preserving u32 (flip all bits of negatives, the
// sign bit of positives), the low word is ~index (so that among equal scores the lower index is
// the larger key). One integer compare per heap step instead of two float loads and a compound
// test. Scores must not be NaN; -0 must be canonicalised to +0 by the caller (`s + 0`).

/** The order-preserving packed key of (score, index). */
@inline export function packKey(s: f32, i: u32): u64 {
  const b = reinterpret<u32>(s);
  const m = b ^ (<u32>(<i32>b >> 31) | 0x80000000);
  return (<u64>m << 32) | <u64>(~i);
}

/** Score of a packed key. */
@inline export function keyScore(key: u64): f32 {
  const m = <u32>(key >> 32);
  return reinterpret<f32>(m ^ (<u32>((<i32>m >> 31) ^ -1) | 0x80000000));
}

/** Index of a packed key. */
@inline export function keyIndex(key: u64): u32 {
  return ~<u32>key;
}

/** Largest key: the sentinel kept just past the end of a packed-key heap. */
const KEY_MAX: u64 = 0xffffffffffffffff;

/**
 * Put `key` at `pos` of the min-heap `h` of `size` keys and sift it down. Needs the sentinel
 * `h[size] = KEY_MAX`, so that every internal node has two children to compare: the child choice
 * is then a branch-free select (the branchy version mispredicts on about every level).
 */
@inline export function keySiftDown(h: usize, size: i32, pos: i32, key: u64): void {
  let c = 2 * pos + 1;
  while (c < size) {
    const lk = load<u64>(h + (<usize>c << 3));
    const rk = load<u64>(h + (<usize>(c + 1) << 3));
    const right = rk < lk;
    c += <i32>right;
    const ck = select<u64>(rk, lk, right);
    if (ck >= key) break;
    store<u64>(h + (<usize>pos << 3), ck);
    pos = c;
    c = 2 * pos + 1;
  }
  store<u64>(h + (<usize>pos << 3), key);
}

/** Make the first `size` keys at `h` a min-heap (root = smallest = worst kept); sets the sentinel. */
export function keyHeapify(h: usize, size: i32): void {
  store<u64>(h + (<usize>size << 3), KEY_MAX);
  for (let p = (size >> 1) - 1; p >= 0; p--) keySiftDown(h, size, p, load<u64>(h + (<usize>p << 3)));
}

/**
 * Empty a heapified min-heap of `size` keys into indices / scores, best first (the worst is
 * taken first and written last). Returns `size`.
 */
export function keyHeapDrain(h: usize, size: i32, outIdx: usize, outScore: usize): i32 {
  let n = size;
  while (n > 0) {
    const worst = load<u64>(h);
    n--;
    const last = load<u64>(h + (<usize>n << 3));
    store<u64>(h + (<usize>n << 3), KEY_MAX);
    if (n > 0) keySiftDown(h, n, 0, last);
    store<u32>(outIdx + (<usize>n << 2), keyIndex(worst));
    store<f32>(outScore + (<usize>n << 2), keyScore(worst));
  }
  return size;
}

/**
 * Write the `size` keys of a key heap to indices / scores as they lie (heap order, not sorted):
 * for callers that only need the set. Returns `size`.
 */
export function keyHeapDump(h: usize, size: i32, outIdx: usize, outScore: usize): i32 {
  for (let r = 0; r < size; r++) {
    const key = load<u64>(h + (<usize>r << 3));
    store<u32>(outIdx + (<usize>r << 2), keyIndex(key));
    store<f32>(outScore + (<usize>r << 2), keyScore(key));
  }
  return size;
}
