// Sparse scoring: user rows times a top-k similarity matrix, then top-n per user.
//
// Algorithm: for each user u of the batch,
//   1. for each entry (u, j, x) of the user's row, for each entry (j, i, s) of similarity row j:
//        acc[i] += x * s      (a byte flag per item records first touches, branch-free)
//   2. seen items of u (its row of `seen`) that were touched get acc = -Infinity
//   3. for each touched i: take acc[i] and reset acc/flag; keep it when it is > 0 and the item is
//      allowed, in a bounded min-heap of n packed (score, index) keys; drain it best first into
//      the user's output slots (ties by the lower item index).
// f32 arithmetic in exactly this order, so the TypeScript reference matches bit for bit.
//
// Cost per user: sum over the user's items of the similarity row length (<= n_u * k updates),
// plus O(T log n) heap work over the T touched items and O(n_u) for the seen mask.

import { keyHeapDrain, keyHeapDump, keyHeapify, keySiftDown, packKey } from './topk';

/**
 * Top-n items for `nUsers` users (u32 row ids at `users`). `xData` = 0: binary user rows.
 * `seenIndices` = 0: nothing excluded; `allowed` = 0: every item allowed (else u8 per item).
 * Scratch: acc (nTarget f32), flags (nTarget u8), touched (nTarget + 1 u32), heap (n + 1 u64).
 * User b writes counts[b] entries to outIdx/outScore slots [b*n, b*n + counts[b]), best first, or
 * in no particular order when `unordered` is 1 (the same entries; saves the final sort).
 */
export function scoreSparse(
  xIndptr: usize, xIndices: usize, xData: usize,
  sIndptr: usize, sIndices: usize, sData: usize, nTarget: i32,
  users: usize, nUsers: i32,
  seenIndptr: usize, seenIndices: usize, allowed: usize, n: i32,
  acc: usize, flags: usize, touched: usize, heap: usize,
  outCounts: usize, outIdx: usize, outScore: usize, unordered: i32,
): void {
  memory.fill(acc, 0, <usize>nTarget << 2);
  memory.fill(flags, 0, <usize>nTarget);
  for (let b = 0; b < nUsers; b++) {
    const u = load<u32>(users + (<usize>b << 2));
    // Step 1: accumulate.
    let nt = 0;
    const xb = load<u32>(xIndptr + (<usize>u << 2));
    const xe = load<u32>(xIndptr + (<usize>(u + 1) << 2));
    for (let e = xb; e < xe; e++) {
      const j = load<u32>(xIndices + (<usize>e << 2));
      const sb = load<u32>(sIndptr + (<usize>j << 2));
      const se = load<u32>(sIndptr + (<usize>(j + 1) << 2));
      let p = sIndices + (<usize>sb << 2);
      const pe = sIndices + (<usize>se << 2);
      let q = sData + (<usize>sb << 2);
      if (xData == 0) {
        while (p < pe) {
          const i = load<u32>(p);
          const pf = flags + <usize>i;
          store<u32>(touched + (<usize>nt << 2), i);
          nt += 1 - <i32>load<u8>(pf);
          store<u8>(pf, 1);
          const pa = acc + (<usize>i << 2);
          store<f32>(pa, load<f32>(pa) + load<f32>(q));
          p += 4;
          q += 4;
        }
      } else {
        const x = load<f32>(xData + (<usize>e << 2));
        while (p < pe) {
          const i = load<u32>(p);
          const pf = flags + <usize>i;
          store<u32>(touched + (<usize>nt << 2), i);
          nt += 1 - <i32>load<u8>(pf);
          store<u8>(pf, 1);
          const pa = acc + (<usize>i << 2);
          store<f32>(pa, load<f32>(pa) + x * load<f32>(q));
          p += 4;
          q += 4;
        }
      }
    }
    // Step 2: mask seen items that were touched (untouched ones are never candidates).
    if (seenIndices != 0) {
      const zb = load<u32>(seenIndptr + (<usize>u << 2));
      const ze = load<u32>(seenIndptr + (<usize>(u + 1) << 2));
      for (let e = zb; e < ze; e++) {
        const i = load<u32>(seenIndices + (<usize>e << 2));
        if (load<u8>(flags + <usize>i)) store<f32>(acc + (<usize>i << 2), -Infinity);
      }
    }
    // Step 3: select.
    let size = 0;
    let root: u64 = 0;
    for (let t = 0; t < nt; t++) {
      const i = load<u32>(touched + (<usize>t << 2));
      const pa = acc + (<usize>i << 2);
      const a = load<f32>(pa);
      store<f32>(pa, 0);
      store<u8>(flags + <usize>i, 0);
      if (!(a > 0)) continue;
      if (allowed != 0 && load<u8>(allowed + <usize>i) == 0) continue;
      const key = packKey(a, i);
      if (size < n) {
        store<u64>(heap + (<usize>size << 3), key);
        size++;
        if (size == n) {
          keyHeapify(heap, n);
          root = load<u64>(heap);
        }
      } else if (key > root) {
        keySiftDown(heap, n, 0, key);
        root = load<u64>(heap);
      }
    }
    if (unordered != 0) keyHeapDump(heap, size, outIdx + (<usize>(b * n) << 2), outScore + (<usize>(b * n) << 2));
    else {
      if (size < n) keyHeapify(heap, size);
      keyHeapDrain(heap, size, outIdx + (<usize>(b * n) << 2), outScore + (<usize>(b * n) << 2));
    }
    store<u32>(outCounts + (<usize>b << 2), size);
  }
}
