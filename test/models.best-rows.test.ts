/** selectBest (models/best-rows.ts): the best `keep` entries, higher score first, ties by the lower column. */
import { describe, expect, it } from 'vitest';
import { RowBuffer, selectBest } from '../src/models/best-rows.js';
import { Rng } from '../src/random.js';

describe('selectBest', () => {
  it('equals a full sort cut to keep (random rows: ties, negative scores, a skipped column, empty rows)', () => {
    const rng = new Rng(8);
    const out = new RowBuffer();
    for (let trial = 0; trial < 500; trial++) {
      const n = rng.int(trial % 10 === 0 ? 1 : 60);
      const cols = new Uint32Array(n);
      const scores = new Float32Array(n);
      const perm = Array.from({ length: 200 }, (_, i) => i); // distinct columns, shuffled below
      for (let i = perm.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [perm[i], perm[j]] = [perm[j], perm[i]];
      }
      for (let t = 0; t < n; t++) {
        cols[t] = perm[t];
        scores[t] = Math.fround((rng.int(7) - 2) / 4); // few values: many ties
      }
      const keep = 1 + rng.int(12);
      const skip = n > 0 && rng.next() < 0.5 ? cols[rng.int(n)] : -1;
      const want = Array.from(cols.keys())
        .filter((t) => cols[t] !== skip)
        .sort((a, b) => scores[b] - scores[a] || cols[a] - cols[b])
        .slice(0, keep);
      const at = out.n;
      const got = selectBest(cols, scores, 0, n, keep, skip, out);
      expect(got).toBe(want.length);
      expect(Array.from(out.idx.subarray(at, at + got)), `trial ${trial}`).toEqual(want.map((t) => cols[t]));
      expect(Array.from(out.val.subarray(at, at + got))).toEqual(want.map((t) => scores[t]));
    }
  });
});
