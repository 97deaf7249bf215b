/**
 * The dense scoring kernel's 16-bit path (assembly/dense-quant.ts) against the f32 reference, and
 * the unordered outputs of the scoring kernels. The integer scores only choose candidates, so
 * every case must give the reference's lists bit for bit: indices, scores, ties by lower index.
 */
import { describe, expect, it } from 'vitest';
import { WasmKernels, scoreDenseReference, scoreSparseReference, type DenseScoreJob, type SparseRows, type TopKRows } from '../src/kernels/index.js';
import { Rng } from '../src/random.js';

const wasm = new WasmKernels();
/** The same kernels with the 16-bit path off: every score in f32. */
const wasmF32 = new WasmKernels(undefined, { integerDense: false });

function expectSame(a: TopKRows, b: TopKRows, label: string): void {
  expect(Array.from(a.counts), label).toEqual(Array.from(b.counts));
  expect(Array.from(a.indices), label).toEqual(Array.from(b.indices));
  // Bit patterns (so that -0 and +0 differ).
  expect(Array.from(new Uint32Array(a.scores.buffer, a.scores.byteOffset, a.scores.length)), label).toEqual(
    Array.from(new Uint32Array(b.scores.buffer, b.scores.byteOffset, b.scores.length)),
  );
}

/** Each row's entries sorted best first, ties by the lower index (how sorted rows come). */
function sortRows(r: TopKRows): TopKRows {
  const out: TopKRows = { k: r.k, counts: r.counts.slice(), indices: r.indices.slice(), scores: r.scores.slice() };
  for (let b = 0; b < r.counts.length; b++) {
    const o = b * r.k;
    const e = Array.from({ length: r.counts[b] }, (_, t) => ({ i: r.indices[o + t], s: r.scores[o + t] }));
    e.sort((x, y) => y.s - x.s || x.i - y.i);
    e.forEach((x, t) => {
      out.indices[o + t] = x.i;
      out.scores[o + t] = x.s;
    });
  }
  return out;
}

function randomSeen(rng: Rng, nRows: number, nCols: number, density: number): SparseRows {
  const indptr = new Uint32Array(nRows + 1);
  const indices: number[] = [];
  for (let r = 0; r < nRows; r++) {
    for (let c = 0; c < nCols; c++) if (rng.next() < density) indices.push(c);
    indptr[r + 1] = indices.length;
  }
  return { nRows, nCols, indptr, indices: Uint32Array.from(indices), data: new Float32Array(indices.length).fill(1) };
}

type Kind = 'normal' | 'ties' | 'near' | 'scales' | 'tiny' | 'huge';
const KINDS: Kind[] = ['normal', 'ties', 'near', 'scales', 'tiny', 'huge'];

/** Item and user vectors of one kind: near = copies of a few rows moved by about 1e-6 (ties the integers cannot separate). */
function vectors(rng: Rng, kind: Kind, rows: number, dim: number): Float32Array {
  const a = new Float32Array(rows * dim);
  const base = Float32Array.from({ length: 3 * dim }, () => rng.normal());
  for (let r = 0; r < rows; r++) {
    const scale = kind === 'scales' ? 10 ** (rng.int(7) - 3) : kind === 'tiny' ? 1e-20 : kind === 'huge' ? 1e12 : 1;
    const b = rng.int(3) * dim;
    for (let t = 0; t < dim; t++) {
      let v: number;
      if (kind === 'ties') v = rng.int(3) - 1;
      else if (kind === 'near') v = base[b + t] * (1 + (rng.int(3) - 1) * 1e-6);
      else v = rng.normal();
      a[r * dim + t] = v * scale;
    }
  }
  return a;
}

describe('scoreDense: the 16-bit path gives the reference lists', () => {
  it('matches on 160 random cases (dims 1-65, ties, near-ties, scales, seen items, masks)', () => {
    const rng = new Rng(41);
    for (let t = 0; t < 160; t++) {
      const kind = KINDS[t % KINDS.length];
      const dim = [1, 2, 3, 5, 7, 8, 9, 13, 16, 31, 64, 65][rng.int(12)];
      const n = [1, 3, 10, 40][rng.int(4)];
      const nItems = 4 * n + rng.int(1500); // the integer path needs nItems >= 4n
      const nUsers = rng.int(10);
      const items = vectors(rng, kind, nItems, dim);
      const vecs = vectors(rng, kind === 'scales' ? 'normal' : kind, nUsers, dim);
      if (nUsers > 1 && rng.int(4) === 0) vecs.fill(0, dim, 2 * dim); // an all-zero user: f32 path for its group
      const seen = randomSeen(rng, 12, nItems, 0.02);
      const users = Uint32Array.from({ length: nUsers }, () => rng.int(12));
      const allowed = rng.int(3) === 0 ? Uint8Array.from({ length: nItems }, () => (rng.int(4) === 0 ? 0 : 1)) : undefined;
      const job: DenseScoreJob = { items, dim, seen: rng.int(3) === 0 ? undefined : seen, allowed, n };
      const ref = scoreDenseReference(job, users, vecs);
      expectSame(wasm.scoreDense(job, users, vecs), ref, `dense ${t} ${kind} d=${dim} n=${n} items=${nItems}`);
      expectSame(wasmF32.scoreDense(job, users, vecs), ref, `dense f32 ${t} ${kind} d=${dim} n=${n} items=${nItems}`);
    }
  });

  it('matches on long catalogues (block threshold) with near-ties and heavy masks', () => {
    const rng = new Rng(42);
    for (let t = 0; t < 10; t++) {
      const dim = [16, 64, 33][t % 3];
      const n = [10, 100][t % 2];
      const nItems = 32 * n + rng.int(4000);
      const kind: Kind = t % 2 === 0 ? 'near' : 'normal';
      const items = vectors(rng, kind, nItems, dim);
      const vecs = vectors(rng, kind, 1 + rng.int(7), dim);
      const nUsers = vecs.length / dim;
      const users = Uint32Array.from({ length: nUsers }, () => rng.int(4));
      const allowed = t % 3 === 1 ? Uint8Array.from({ length: nItems }, () => (rng.int(20) === 0 ? 1 : 0)) : undefined;
      const job: DenseScoreJob = { items, dim, seen: randomSeen(rng, 4, nItems, 0.01), allowed, n };
      expectSame(wasm.scoreDense(job, users, vecs), scoreDenseReference(job, users, vecs), `dense long ${t} ${kind} d=${dim} n=${n}`);
    }
  });

  it('matches where products fall below the normal f32 range (near-ties at 1e-21)', () => {
    // Subnormal products round with an absolute error the relative bound misses: without the
    // bound's absolute term (dense.ts, `tiny`) two of these 300 cases come out wrong.
    const rng = new Rng(77);
    for (let t = 0; t < 300; t++) {
      const dim = [3, 8, 16, 64][t % 4];
      const n = [1, 5, 20][t % 3];
      const nItems = 4 * n + rng.int(20 * n);
      const scale = [1e-21, 3e-22, 1e-20][t % 3];
      const items = vectors(rng, 'near', nItems, dim).map((x) => x * scale);
      const vecs = vectors(rng, 'normal', 5, dim).map((x) => x * scale);
      const users = Uint32Array.from({ length: 5 }, (_, b) => b);
      const job: DenseScoreJob = { items, dim, n };
      expectSame(wasm.scoreDense(job, users, vecs), scoreDenseReference(job, users, vecs), `subnormal ${t} d=${dim} n=${n} items=${nItems}`);
    }
  });

  it('falls back to f32 for non-finite vectors and keeps their lists', () => {
    const rng = new Rng(43);
    const dim = 8;
    const nItems = 400;
    const items = vectors(rng, 'normal', nItems, dim);
    const vecs = vectors(rng, 'normal', 6, dim);
    vecs[3] = NaN; // user 0
    vecs[2 * dim] = Infinity; // user 2
    const users = Uint32Array.from({ length: 6 }, (_, b) => b);
    const job: DenseScoreJob = { items, dim, n: 10 };
    expectSame(wasm.scoreDense(job, users, vecs), scoreDenseReference(job, users, vecs), 'non-finite users');
    const bad = items.slice();
    bad[5 * dim + 1] = NaN;
    const job2: DenseScoreJob = { items: bad, dim, n: 10 };
    expectSame(wasm.scoreDense(job2, users, vecs), scoreDenseReference(job2, users, vecs), 'a non-finite item');
  });

  it('gives the same lists on a second call (rounded items cached) and after forget()', () => {
    const rng = new Rng(44);
    const k = new WasmKernels();
    const dim = 24;
    const items = vectors(rng, 'normal', 3000, dim);
    const vecs = vectors(rng, 'normal', 9, dim);
    const users = Uint32Array.from({ length: 9 }, (_, b) => b);
    const job: DenseScoreJob = { items, dim, n: 50 };
    const ref = scoreDenseReference(job, users, vecs);
    expectSame(k.scoreDense(job, users, vecs), ref, 'first');
    expectSame(k.scoreDense(job, users, vecs), ref, 'second');
    k.forget();
    expectSame(k.scoreDense(job, users, vecs), ref, 'after forget');
  });
});

describe('unordered outputs', () => {
  it('scoreDense rows hold the sorted rows entries', () => {
    const rng = new Rng(45);
    for (let t = 0; t < 40; t++) {
      const dim = 1 + rng.int(40);
      const n = [1, 7, 30][t % 3];
      const nItems = 1 + rng.int(2500);
      const kind = KINDS[t % KINDS.length];
      const items = vectors(rng, kind, nItems, dim);
      const vecs = vectors(rng, kind, 1 + rng.int(6), dim);
      const users = Uint32Array.from({ length: vecs.length / dim }, () => rng.int(5));
      const job: DenseScoreJob = { items, dim, seen: randomSeen(rng, 5, nItems, 0.05), n };
      const sorted = wasm.scoreDense(job, users, vecs);
      expectSame(sorted, scoreDenseReference(job, users, vecs), `dense sorted ${t}`);
      expectSame(sortRows(wasm.scoreDense({ ...job, unordered: true }, users, vecs)), sorted, `dense unordered ${t}`);
    }
  });

  it('scoreSparse rows hold the sorted rows entries', () => {
    const rng = new Rng(46);
    for (let t = 0; t < 40; t++) {
      const nItems = 1 + rng.int(300);
      const nSource = 1 + rng.int(60);
      const userRows = randomSeen(rng, 8, nSource, 0.2);
      const sim = randomSeen(rng, nSource, nItems, 0.1);
      sim.data = Float32Array.from(sim.data, () => (rng.int(4) === 0 ? 1 : rng.next()));
      const users = Uint32Array.from({ length: 1 + rng.int(8) }, () => rng.int(8));
      const job = { userRows, sim, seen: randomSeen(rng, 8, nItems, 0.05), n: [1, 5, 50][t % 3] };
      const sorted = wasm.scoreSparse(job, users);
      expectSame(sorted, scoreSparseReference(job, users), `sparse sorted ${t}`);
      expectSame(sortRows(wasm.scoreSparse({ ...job, unordered: true }, users)), sorted, `sparse unordered ${t}`);
    }
  });
});
