// Cosine top-k neighbours through a shared middle index (item-item, user-user, cross-domain).
//
// Algorithm (row-by-row sparse product, Gustavson's SpGEMM with a dense accumulator, as in
// implicit's and scipy's item kNN): for each row i of `left` (an item, as its list of users),
//   1. for each entry (i, u, l) of left row i, for each entry (u, j, r) of right row u:
//        acc[j] += l * r            (first touch of j appends j to the `touched` list)
//   2. for each touched j: s = acc[j] / (normL[i] * normR[j] + shrink); acc[j] = 0;
//      zero sums are dropped; the rest go through a bounded min-heap of k packed (score, index)
//      keys (see topk.ts: one u64 compare orders by score, then lower index), filtered first by
//      the float test s >= score of the heap's root
//   3. drain the heap best first (ties by the lower column index) into the row's output slots.
// First-touch tracking is branch-free: the column is always written at touched[nt] and nt moves on
// only when acc[j] was zero (about 60% of updates are first touches on long-tail data, so a branch
// there mispredicts). That test is exact when every value is positive (`positive = 1`); otherwise a
// byte flag per column marks touched columns (`positive = 0`). All arithmetic is f32, in the order
// above, so the TypeScript reference reproduces every score bit for bit.
//
// Column relabelling: when `colIds` is given, the columns of `right` (and normR) are relabelled,
// column c being original column colIds[c]; ties break and outputs are written by original id.
// (Numbering columns by decreasing popularity packs the hot part of the accumulator into a few
// cache lines; measured on syn-1m it changed nothing, so the pool does not do it by default.)
//
// Cost: W_i = sum over the users u of item i of n_u scattered read-modify-writes for row i, so
// W = sum over users of n_u^2 for all rows of an item-item fit; plus O(T + m log k) selection over
// the T touched columns (T <= W; m = keys that enter the heap, about k ln(T/k) in random order),
// O(k log k) per row to drain, and O(nCols) scratch: acc (f32), touched (u32), flags (u8).
// Measured on syn-1m (k = 50, one thread): about 0.13 s for steps 1-2 with k = 1, 0.4-0.45 s
// with k = 50, i.e. selection, not accumulation, is most of the time there.

import { keyHeapDrain, keyHeapify, keyScore, keySiftDown, packKey } from './topk';

/**
 * Top-k cosine neighbours of rows [start, end) of `left` against the columns of `right`.
 * `lData`/`rData` = 0 means every value is 1 (binary data, the values are not read).
 * Row r = i - start writes counts[r] entries to outIdx/outScore slots [r*k, r*k + counts[r]).
 * Scratch: acc (nCols f32), touched (nCols + 1 u32), flags (nCols u8), heap (k + 1 u64); zeroed here.
 */
export function cosineTopK(
  lIndptr: usize, lIndices: usize, lData: usize,
  rIndptr: usize, rIndices: usize, rData: usize, nCols: i32,
  normL: usize, normR: usize, colIds: usize,
  start: i32, end: i32, k: i32, shrink: f32, positive: i32,
  acc: usize, touched: usize, flags: usize, heap: usize,
  outCounts: usize, outIdx: usize, outScore: usize,
): void {
  memory.fill(acc, 0, <usize>nCols << 2);
  if (!positive) memory.fill(flags, 0, <usize>nCols);
  for (let i = start; i < end; i++) {
    const r = i - start;
    // Step 1: accumulate the row's co-occurrences.
    let nt = 0;
    const lb = load<u32>(lIndptr + (<usize>i << 2));
    const le = load<u32>(lIndptr + (<usize>(i + 1) << 2));
    for (let e = lb; e < le; e++) {
      const u = load<u32>(lIndices + (<usize>e << 2));
      const lv: f32 = lData ? load<f32>(lData + (<usize>e << 2)) : <f32>1.0;
      const rb = load<u32>(rIndptr + (<usize>u << 2));
      const re = load<u32>(rIndptr + (<usize>(u + 1) << 2));
      let p = rIndices + (<usize>rb << 2);
      const pe = rIndices + (<usize>re << 2);
      if (positive) {
        if (rData == 0) {
          while (p < pe) {
            const j = load<u32>(p);
            const pa = acc + (<usize>j << 2);
            const a = load<f32>(pa);
            store<u32>(touched + (<usize>nt << 2), j);
            nt += <i32>(a == 0);
            store<f32>(pa, a + lv);
            p += 4;
          }
        } else {
          let q = rData + (<usize>rb << 2);
          while (p < pe) {
            const j = load<u32>(p);
            const pa = acc + (<usize>j << 2);
            const a = load<f32>(pa);
            store<u32>(touched + (<usize>nt << 2), j);
            nt += <i32>(a == 0);
            store<f32>(pa, a + lv * load<f32>(q));
            p += 4;
            q += 4;
          }
        }
      } else {
        let q = rData + (<usize>rb << 2);
        while (p < pe) {
          const j = load<u32>(p);
          const pa = acc + (<usize>j << 2);
          const pf = flags + <usize>j;
          store<u32>(touched + (<usize>nt << 2), j);
          nt += 1 - <i32>load<u8>(pf);
          store<u8>(pf, 1);
          const rv: f32 = rData ? load<f32>(q) : <f32>1.0;
          store<f32>(pa, load<f32>(pa) + lv * rv);
          p += 4;
          q += 4;
        }
      }
    }
    // Step 2: normalise, reset the accumulator, keep the k best packed keys in a min-heap.
    const ni = load<f32>(normL + (<usize>i << 2));
    let size = 0;
    let root: u64 = 0;
    let rootScore: f32 = -Infinity;
    for (let t = 0; t < nt; t++) {
      const j = load<u32>(touched + (<usize>t << 2));
      const pa = acc + (<usize>j << 2);
      const a = load<f32>(pa);
      store<f32>(pa, 0);
      if (!positive) store<u8>(flags + <usize>j, 0);
      if (a == 0) continue;
      const s: f32 = a / (ni * load<f32>(normR + (<usize>j << 2)) + shrink);
      if (!(s > -Infinity)) continue;
      if (size < k) {
        store<u64>(heap + (<usize>size << 3), packKey(s + 0, colIds ? load<u32>(colIds + (<usize>j << 2)) : j));
        size++;
        if (size == k) {
          keyHeapify(heap, k);
          root = load<u64>(heap);
          rootScore = keyScore(root);
        }
      } else if (s >= rootScore) {
        const key = packKey(s + 0, colIds ? load<u32>(colIds + (<usize>j << 2)) : j);
        if (key > root) {
          keySiftDown(heap, k, 0, key);
          root = load<u64>(heap);
          rootScore = keyScore(root);
        }
      }
    }
    // Step 3: best first, into the row's output slots.
    if (size < k) keyHeapify(heap, size);
    keyHeapDrain(heap, size, outIdx + (<usize>(r * k) << 2), outScore + (<usize>(r * k) << 2));
    store<u32>(outCounts + (<usize>r << 2), size);
  }
}
