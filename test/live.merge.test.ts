/**
 * mergeRows (engine/live.ts): new (user, item, weight) rows merged into a users x items matrix give
 * the matrix a build of old and new rows together gives: pairs summed in float32 in row order.
 */
import { describe, expect, it } from 'vitest';
import { mergeRows } from '../src/engine/live.js';
import type { Csr } from '../src/kernels/types.js';
import { Rng } from '../src/random.js';

/** Rows as a CSR, duplicates summed in float32 in the order given. */
function build(nRows: number, nCols: number, rows: Array<[number, number, number]>): Csr {
  const cells = new Map<number, number>();
  for (const [u, i, w] of rows) {
    const key = u * nCols + i;
    const v = cells.get(key);
    cells.set(key, v === undefined ? w : Math.fround(v + w));
  }
  const keys = [...cells.keys()].sort((a, b) => a - b);
  const indptr = new Uint32Array(nRows + 1);
  for (const k of keys) indptr[Math.floor(k / nCols) + 1]++;
  for (let r = 0; r < nRows; r++) indptr[r + 1] += indptr[r];
  return { nRows, nCols, indptr, indices: Uint32Array.from(keys, (k) => k % nCols), data: Float32Array.from(keys, (k) => cells.get(k)!) };
}

describe('mergeRows', () => {
  it('equals a build of old and new rows together (random cases: duplicates, empty rows, new rows and columns)', () => {
    const rng = new Rng(21);
    for (let trial = 0; trial < 200; trial++) {
      const nRows = 1 + rng.int(12);
      const nCols = 1 + rng.int(9);
      const grow = rng.int(3);
      const old: Array<[number, number, number]> = [];
      for (let n = rng.int(30); n > 0; n--) old.push([rng.int(nRows), rng.int(nCols), Math.fround(0.1 + rng.next() * 3)]);
      const added: Array<[number, number, number]> = [];
      for (let n = rng.int(trial % 5 === 0 ? 1 : 20); n >= 0; n--) added.push([rng.int(nRows + grow), rng.int(nCols + grow), Math.fround(0.1 + rng.next() * 3)]);
      const m = build(nRows, nCols, old);
      const got = mergeRows(
        m,
        nRows + grow,
        nCols + grow,
        Uint32Array.from(added, (x) => x[0]),
        Uint32Array.from(added, (x) => x[1]),
        Float32Array.from(added, (x) => x[2]),
        () => new Error('overflow'),
      );
      // Old pairs come first in row order: their stored sums, then the new weights added one by one.
      const want = build(nRows + grow, nCols + grow, [...old, ...added]);
      expect(Array.from(got.indptr), `trial ${trial}`).toEqual(Array.from(want.indptr));
      expect(Array.from(got.indices), `trial ${trial}`).toEqual(Array.from(want.indices));
      expect(Array.from(got.data), `trial ${trial}`).toEqual(Array.from(want.data));
    }
  });

  it('reports the row whose float32 sum overflows', () => {
    const m = build(2, 2, [[1, 1, 3e38]]);
    expect(() => mergeRows(m, 2, 2, Uint32Array.of(0, 1), Uint32Array.of(0, 1), Float32Array.of(1, 3e38), (q) => new Error(`row ${q}`))).toThrow('row 1');
  });
});
