/**
 * Best-first (column, score) lists: the ranking of similarity lists (higher score first, then the
 * lower column, as the kernels rank them) and a bounded-heap selection of the best entries.
 */

/** Ranks (score, column) before (s2, c2): higher score first, then the lower column. */
export function before(s: number, c: number, s2: number, c2: number): boolean {
  return s > s2 || (s === s2 && c < c2);
}

/** Growable (column, score) lists, one slice per row. */
export class RowBuffer {
  idx = new Uint32Array(4096);
  val = new Float32Array(4096);
  n = 0;
  reserve(extra: number): void {
    if (this.n + extra <= this.idx.length) return;
    const size = Math.max(this.idx.length * 2, this.n + extra);
    const idx = new Uint32Array(size);
    idx.set(this.idx.subarray(0, this.n));
    const val = new Float32Array(size);
    val.set(this.val.subarray(0, this.n));
    this.idx = idx;
    this.val = val;
  }
}

/**
 * The best `keep` of the (column, score) pairs `cols[from..to)`, `scores[from..to)` (column `skip`
 * left out), appended to `out` best first; returns how many. A bounded heap whose root is the
 * worst entry kept, so a long row costs n log keep.
 */
export function selectBest(cols: Uint32Array, scores: Float32Array, from: number, to: number, keep: number, skip: number, out: RowBuffer): number {
  out.reserve(keep);
  const hi = out.idx;
  const hv = out.val;
  const base = out.n;
  let size = 0;
  for (let t = from; t < to; t++) {
    const c = cols[t];
    if (c === skip) continue;
    const s = scores[t];
    if (size < keep) {
      // Sift up: parents rank before children.
      let i = size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!before(hv[base + p], hi[base + p], s, c)) break;
        hi[base + i] = hi[base + p];
        hv[base + i] = hv[base + p];
        i = p;
      }
      hi[base + i] = c;
      hv[base + i] = s;
    } else if (before(s, c, hv[base], hi[base])) {
      siftDown(hi, hv, base, size, c, s);
    }
  }
  // Pop the worst to the end: the slice ends up best first.
  for (let end = size - 1; end > 0; end--) {
    const c = hi[base + end];
    const s = hv[base + end];
    hi[base + end] = hi[base];
    hv[base + end] = hv[base];
    siftDown(hi, hv, base, end, c, s);
  }
  out.n += size;
  return size;
}

/** Put (c, s) at the root of a heap of `size` entries at `base` (worst at the root) and sift it down. */
function siftDown(hi: Uint32Array, hv: Float32Array, base: number, size: number, c: number, s: number): void {
  let i = 0;
  for (;;) {
    let w = 2 * i + 1;
    if (w >= size) break;
    if (w + 1 < size && before(hv[base + w], hi[base + w], hv[base + w + 1], hi[base + w + 1])) w++;
    if (!before(s, c, hv[base + w], hi[base + w])) break;
    hi[base + i] = hi[base + w];
    hv[base + i] = hv[base + w];
    i = w;
  }
  hi[base + i] = c;
  hv[base + i] = s;
}
