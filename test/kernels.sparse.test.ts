import { describe, expect, it } from 'vitest';
import {
  WasmKernels,
  columnNorms,
  cosineTopKReference,
  dotF32x4Order,
  relabelColumns,
  rowNorms,
  scoreDenseReference,
  scoreSparseReference,
  slotsToNeighbours,
  transposeCsr,
  type CosineJob,
  type Csr,
  type TopKRows,
} from '../src/kernels/index.js';
import { forOneCall } from '../src/kernels/per-call.js';
import { Rng } from '../src/random.js';

const wasm = new WasmKernels();

type ValueMode = 'ones' | 'ints' | 'floats' | 'signed';
const MODES: ValueMode[] = ['ones', 'ints', 'floats', 'signed'];

/** A random CSR with empty rows, empty columns and the chosen kind of values. */
function randomCsr(rng: Rng, nRows: number, nCols: number, density: number, mode: ValueMode): Csr {
  const activeCols = Array.from({ length: nCols }, (_, c) => c).filter(() => rng.next() < 0.8);
  const indptr = new Uint32Array(nRows + 1);
  const indices: number[] = [];
  const data: number[] = [];
  for (let r = 0; r < nRows; r++) {
    if (rng.next() >= 0.15) {
      for (const c of activeCols) {
        if (rng.next() < density) {
          indices.push(c);
          if (mode === 'ones') data.push(1);
          else if (mode === 'ints') data.push(1 + rng.int(3));
          else if (mode === 'floats') data.push(0.05 + rng.next());
          else data.push(rng.int(5) === 0 ? 0 : rng.int(3) === 0 ? -rng.int(3) : rng.int(4) * 0.5);
        }
      }
    }
    indptr[r + 1] = indices.length;
  }
  return { nRows, nCols, indptr, indices: Uint32Array.from(indices), data: Float32Array.from(data) };
}

function expectRowsEqual(a: TopKRows, b: TopKRows, label: string): void {
  expect(a.k, label).toBe(b.k);
  expect(Array.from(a.counts), label).toEqual(Array.from(b.counts));
  expect(Array.from(a.indices), label).toEqual(Array.from(b.indices));
  for (let t = 0; t < a.scores.length; t++) {
    const x = a.scores[t];
    const y = b.scores[t];
    if (x !== y && !(Math.abs(x - y) <= 1e-5 * Math.max(Math.abs(x), Math.abs(y)))) {
      expect.fail(`${label}: score slot ${t}: ${x} vs ${y}`);
    }
  }
  // Same f32 operations in the same order: the scores are in fact bit-identical.
  expect(Array.from(a.scores), label).toEqual(Array.from(b.scores));
}

function itemJob(x: Csr, k: number, shrink: number): CosineJob {
  const xt = transposeCsr(x);
  const norms = rowNorms(xt);
  return { left: xt, right: x, normsLeft: norms, normsRight: norms, k, shrink };
}

describe('csr helpers', () => {
  it('transposeCsr is an involution and keeps indices sorted', () => {
    const rng = new Rng(1);
    for (let t = 0; t < 30; t++) {
      const x = randomCsr(rng, 1 + rng.int(30), 1 + rng.int(30), 0.2, MODES[t % 4]);
      const xt = transposeCsr(x);
      expect(xt.nRows).toBe(x.nCols);
      for (let r = 0; r < xt.nRows; r++) {
        for (let e = xt.indptr[r] + 1; e < xt.indptr[r + 1]; e++) expect(xt.indices[e]).toBeGreaterThan(xt.indices[e - 1]);
      }
      const back = transposeCsr(xt);
      expect(Array.from(back.indptr)).toEqual(Array.from(x.indptr));
      expect(Array.from(back.indices)).toEqual(Array.from(x.indices));
      expect(Array.from(back.data)).toEqual(Array.from(x.data));
      expect(Array.from(columnNorms(x))).toEqual(Array.from(rowNorms(xt)));
    }
  });
});

describe('cosineTopK: wasm vs reference', () => {
  it('item-item on 120 random matrices (empty rows/cols, ties, signed values, k > candidates)', () => {
    const rng = new Rng(7);
    for (let t = 0; t < 120; t++) {
      const mode = MODES[t % 4];
      const x = randomCsr(rng, 1 + rng.int(60), 1 + rng.int(50), [0.05, 0.2, 0.6][rng.int(3)], mode);
      const k = [1, 2, 5, 10, 100][rng.int(5)];
      const shrink = rng.int(3) === 0 ? rng.int(10) : 0;
      const job = itemJob(x, k, shrink);
      const start = rng.int(x.nCols);
      const end = start + rng.int(x.nCols - start + 1);
      const label = `case ${t} (${mode}, ${x.nRows}x${x.nCols}, k=${k}, shrink=${shrink}, [${start},${end}))`;
      expectRowsEqual(wasm.cosineTopK(job, start, end), cosineTopKReference(job, start, end), label);
      const whole = cosineTopKReference(job, 0, x.nCols);
      expectRowsEqual(wasm.cosineTopK(job, 0, x.nCols), whole, label);
      // Relabelling the columns by popularity changes nothing in the output.
      const re = relabelColumns(job.right, job.normsRight);
      const rjob = { ...job, right: re.m, normsRight: re.norms, rightColumnIds: re.ids };
      expectRowsEqual(wasm.cosineTopK(rjob, 0, x.nCols), whole, `${label} relabelled`);
      expectRowsEqual(cosineTopKReference(rjob, 0, x.nCols), whole, `${label} relabelled (reference)`);
    }
  });

  it('user-user (X vs X^T) and cross-domain (A^T vs B through shared users)', () => {
    const rng = new Rng(8);
    for (let t = 0; t < 60; t++) {
      const mode = MODES[t % 4];
      const x = randomCsr(rng, 1 + rng.int(40), 1 + rng.int(40), 0.2, mode);
      const xt = transposeCsr(x);
      const uu: CosineJob = { left: x, right: xt, normsLeft: rowNorms(x), normsRight: columnNorms(xt), k: 1 + rng.int(8), shrink: 0 };
      expectRowsEqual(wasm.cosineTopK(uu, 0, x.nRows), cosineTopKReference(uu, 0, x.nRows), `user-user ${t}`);
      const b = randomCsr(rng, x.nRows, 1 + rng.int(40), 0.3, MODES[(t + 1) % 4]);
      const cross: CosineJob = { left: xt, right: b, normsLeft: rowNorms(xt), normsRight: columnNorms(b), k: 1 + rng.int(8), shrink: rng.int(2) };
      expectRowsEqual(wasm.cosineTopK(cross, 0, xt.nRows), cosineTopKReference(cross, 0, xt.nRows), `cross ${t}`);
    }
  });

  it('keeps the item itself, drops zero similarities, breaks ties by the lower index', () => {
    // users x items; items 0 and 2 are identical, item 3 is never seen.
    const x: Csr = {
      nRows: 3,
      nCols: 4,
      indptr: Uint32Array.from([0, 2, 4, 5]),
      indices: Uint32Array.from([0, 2, 0, 2, 1]),
      data: Float32Array.from([1, 1, 1, 1, 1]),
    };
    for (const kern of [wasm, { cosineTopK: cosineTopKReference }]) {
      const nb = slotsToNeighbours(kern.cosineTopK(itemJob(x, 5, 0), 0, 4), 4);
      expect(Array.from(nb.indptr)).toEqual([0, 2, 3, 5, 5]);
      expect(Array.from(nb.indices)).toEqual([0, 2, 1, 0, 2]);
      for (const v of nb.data) expect(v).toBeCloseTo(1, 6);
    }
    // A single item.
    const one: Csr = { nRows: 2, nCols: 1, indptr: Uint32Array.from([0, 1, 1]), indices: Uint32Array.from([0]), data: Float32Array.from([2]) };
    const r = wasm.cosineTopK(itemJob(one, 3, 0), 0, 1);
    expect(Array.from(r.counts)).toEqual([1]);
    expect(r.scores[0]).toBe(1);
  });

  it('agrees with a float64 dense cosine (the scipy peer formula) on binary data', () => {
    const rng = new Rng(9);
    const x = randomCsr(rng, 80, 40, 0.15, 'ones');
    const k = 6;
    const job = itemJob(x, k, 0);
    const got = wasm.cosineTopK(job, 0, x.nCols);
    const dense = Array.from({ length: x.nCols }, () => new Float64Array(x.nCols));
    for (let u = 0; u < x.nRows; u++) {
      for (let e = x.indptr[u]; e < x.indptr[u + 1]; e++) {
        for (let f = x.indptr[u]; f < x.indptr[u + 1]; f++) dense[x.indices[e]][x.indices[f]] += 1;
      }
    }
    for (let i = 0; i < x.nCols; i++) {
      const cos = Array.from(dense[i], (d, j) => (d === 0 ? 0 : d / Math.sqrt(dense[i][i] * dense[j][j])));
      const sorted = cos.filter((c) => c > 0).sort((a, b) => b - a);
      expect(got.counts[i]).toBe(Math.min(k, sorted.length));
      for (let t = 0; t < got.counts[i]; t++) {
        const j = got.indices[i * k + t];
        expect(got.scores[i * k + t]).toBeCloseTo(cos[j], 5);
        expect(got.scores[i * k + t]).toBeCloseTo(sorted[t], 5);
      }
    }
  });
});

describe('scoreSparse: wasm vs reference', () => {
  it('matches on 100 random cases (seen exclusion, whitelist/blacklist, k > candidates)', () => {
    const rng = new Rng(11);
    for (let t = 0; t < 100; t++) {
      const mode = MODES[t % 4];
      const x = randomCsr(rng, 1 + rng.int(50), 1 + rng.int(40), 0.15, mode);
      const nb = slotsToNeighbours(wasm.cosineTopK(itemJob(x, 1 + rng.int(12), 0), 0, x.nCols), x.nCols);
      const nUsers = rng.int(x.nRows + 1);
      const users = Uint32Array.from({ length: nUsers }, () => rng.int(x.nRows));
      let allowed: Uint8Array | undefined;
      if (rng.int(3) === 0) allowed = Uint8Array.from({ length: x.nCols }, () => (rng.int(3) === 0 ? 0 : 1));
      const job = { userRows: x, sim: nb, seen: rng.int(4) === 0 ? undefined : x, allowed, n: [1, 3, 10, 60][rng.int(4)] };
      expectRowsEqual(wasm.scoreSparse(job, users), scoreSparseReference(job, users), `sparse ${t} (${mode})`);
    }
  });
});

describe('scoreDense: wasm vs reference', () => {
  it('matches on 60 random cases (dims not a multiple of 4, ties, filters)', () => {
    const rng = new Rng(12);
    for (let t = 0; t < 60; t++) {
      const dim = 1 + rng.int(19);
      const nItems = 1 + rng.int(70);
      const nUsers = rng.int(11);
      const ties = rng.int(2) === 0;
      const val = () => (ties ? rng.int(3) - 1 : rng.normal());
      const items = Float32Array.from({ length: nItems * dim }, val);
      const vecs = Float32Array.from({ length: nUsers * dim }, val);
      const seen = randomCsr(rng, 12, nItems, 0.2, 'ones');
      const users = Uint32Array.from({ length: nUsers }, () => rng.int(12));
      const allowed = rng.int(3) === 0 ? Uint8Array.from({ length: nItems }, () => rng.int(2)) : undefined;
      const job = { items, dim, seen: rng.int(3) === 0 ? undefined : seen, allowed, n: [1, 5, 10, 100][rng.int(4)] };
      expectRowsEqual(wasm.scoreDense(job, users, vecs), scoreDenseReference(job, users, vecs), `dense ${t} d=${dim}`);
    }
  });

  it('matches on catalogues long enough for the threshold top-k (ties, seen items, masks)', () => {
    const rng = new Rng(14);
    for (let t = 0; t < 12; t++) {
      const dim = [3, 8, 16][t % 3];
      const nItems = 3200 + rng.int(3000);
      const nUsers = 1 + rng.int(9);
      const ties = t % 2 === 0;
      const val = () => (ties ? rng.int(3) - 1 : rng.normal());
      const items = Float32Array.from({ length: nItems * dim }, val);
      const vecs = Float32Array.from({ length: nUsers * dim }, val);
      const seen = randomCsr(rng, 12, nItems, 0.05, 'ones');
      const users = Uint32Array.from({ length: nUsers }, () => rng.int(12));
      const allowed = t % 4 === 1 ? Uint8Array.from({ length: nItems }, () => (rng.int(10) === 0 ? 1 : 0)) : undefined;
      const job = { items, dim, seen: t % 3 === 2 ? undefined : seen, allowed, n: [10, 100][t % 2] };
      expectRowsEqual(wasm.scoreDense(job, users, vecs), scoreDenseReference(job, users, vecs), `dense long ${t} d=${dim} items=${nItems}`);
    }
  });

  it('dotF32x4Order is an ordinary dot product up to rounding', () => {
    const a = Float32Array.from([1, 2, 3, 4, 5, 6, 7]);
    const b = Float32Array.from([7, 6, 5, 4, 3, 2, 1]);
    expect(dotF32x4Order(a, 0, b, 0, 7)).toBe(84);
  });
});

describe('resident inputs', () => {
  it('reuses resident copies across calls and replaces them for new arrays', () => {
    const rng = new Rng(13);
    const x = randomCsr(rng, 30, 20, 0.3, 'floats');
    const job = itemJob(x, 4, 0);
    const a = wasm.cosineTopK(job, 0, 10);
    const b = wasm.cosineTopK(job, 10, 20);
    const all = cosineTopKReference(job, 0, 20);
    expect(Array.from(a.indices).concat(Array.from(b.indices))).toEqual(Array.from(all.indices));
    // The same binary array as user rows (values, resident as 'all ones') and as similarities.
    const bin = randomCsr(rng, 20, 20, 0.3, 'ones');
    const sjob = { userRows: bin, sim: bin, seen: undefined, n: 5 };
    const users = Uint32Array.from({ length: 20 }, (_, i) => i);
    expectRowsEqual(wasm.scoreSparse(sjob, users), scoreSparseReference(sjob, users), 'binary matrix as its own similarity');
    const y = randomCsr(rng, 30, 20, 0.3, 'ints');
    const jy = itemJob(y, 4, 0);
    expectRowsEqual(wasm.cosineTopK(jy, 0, 20), cosineTopKReference(jy, 0, 20), 'after switching data');
  });

  it('copies arrays marked forOneCall on every call, however large, so a refilled buffer is read afresh', () => {
    // User rows over 256 KiB (past the size that is kept resident) in buffers refilled between calls.
    const rng = new Rng(17);
    const sim = randomCsr(rng, 40, 40, 0.3, 'floats');
    const first = randomCsr(rng, 6000, 40, 0.5, 'floats');
    const second = randomCsr(rng, 6000, 40, 0.5, 'ints');
    const nnz = Math.max(first.indptr[6000], second.indptr[6000]);
    expect(nnz * 4).toBeGreaterThan(256 * 1024);
    const buffers = () => ({ indptr: new Uint32Array(6001), indices: new Uint32Array(nnz), data: new Float32Array(nnz) });
    let buf = buffers();
    const fill = (m: Csr, mark: boolean): Csr => {
      buf.indptr.set(m.indptr);
      buf.indices.set(m.indices);
      buf.data.set(m.data);
      const rows = { ...m, indptr: buf.indptr, indices: buf.indices, data: buf.data };
      if (mark) [rows.indptr, rows.indices, rows.data].forEach((a) => forOneCall(a));
      return rows;
    };
    const users = Uint32Array.from({ length: 6000 }, (_, i) => i);
    const k = new WasmKernels();
    for (const m of [first, second, first]) {
      const job = { userRows: fill(m, true), sim, seen: undefined, n: 6 };
      expectRowsEqual(k.scoreSparse(job, users), scoreSparseReference({ ...job, userRows: m }, users), 'refilled one-call rows');
    }
    // Unmarked, the same refilled buffers are served from the resident copy (why the mark exists).
    buf = buffers();
    const plain = new WasmKernels();
    plain.scoreSparse({ userRows: fill(first, false), sim, seen: undefined, n: 6 }, users);
    const stale = plain.scoreSparse({ userRows: fill(second, false), sim, seen: undefined, n: 6 }, users);
    expect(Array.from(stale.scores)).not.toEqual(Array.from(scoreSparseReference({ userRows: second, sim, seen: undefined, n: 6 }, users).scores));
  });
});
