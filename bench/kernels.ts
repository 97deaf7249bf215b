/**
 * tinybench micro-benchmarks: each wasm kernel against its TypeScript reference on the same
 * seeded inputs, printing the table and the reference/wasm time ratio per kernel.
 * usage: npx tsx bench/kernels.ts [--time 1000]
 */
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import {
  WasmKernels,
  cosineTopKReference,
  rowNorms,
  scoreDenseReference,
  scoreSparseReference,
  slotsToNeighbours,
  topkReference,
  transposeCsr,
  type Csr,
} from '../src/kernels/index.js';
import { affine, affineReference, denseForward, denseForwardReference, type Mlp } from '../src/models/nn.js';
import { Rng } from '../src/random.js';
import { loadMeter, machine } from './machine.js';

const { values } = parseArgs({ options: { time: { type: 'string', default: '1000' } } });
const time = Number(values.time);
const rng = new Rng(2024);
const wasm = new WasmKernels();
/** The same kernels with dense scoring kept in f32 (the 16-bit path off), for its ratio. */
const wasmF32 = new WasmKernels(undefined, { integerDense: false });

/** Long-tailed binary users x items matrix. */
function longTail(nUsers: number, nItems: number, meanLen: number): Csr {
  const indptr = new Uint32Array(nUsers + 1);
  const indices: number[] = [];
  for (let u = 0; u < nUsers; u++) {
    const want = Math.max(1, Math.round(Math.exp(rng.normal() * 1.0) * meanLen * 0.6));
    const row = new Set<number>();
    for (let t = 0; t < want * 3 && row.size < want; t++) row.add(Math.floor(nItems * rng.next() ** 3));
    indices.push(...[...row].sort((a, b) => a - b));
    indptr[u + 1] = indices.length;
  }
  return { nRows: nUsers, nCols: nItems, indptr, indices: Uint32Array.from(indices), data: new Float32Array(indices.length).fill(1) };
}

const x = longTail(20_000, 5_000, 10);
const xt = transposeCsr(x);
const norms = rowNorms(xt);
const knnJob = { left: xt, right: x, normsLeft: norms, normsRight: norms, k: 50, shrink: 0 };
const items = 300; // rows of the kNN bench (the reference is slow)
const nb = slotsToNeighbours(wasm.cosineTopK(knnJob, 0, xt.nRows), x.nCols);
const users = Uint32Array.from({ length: 2000 }, (_, i) => i * 10);
const sparseJob = { userRows: x, sim: nb, seen: x, n: 10 };
const dim = 64;
const nItemsDense = 20_000;
const itemVecs = Float32Array.from({ length: nItemsDense * dim }, () => rng.normal());
const denseUsers = Uint32Array.from({ length: 32 }, (_, i) => i);
const userVecs = Float32Array.from({ length: denseUsers.length * dim }, () => rng.normal());
const denseJob = { items: itemVecs, dim, seen: x.nCols === nItemsDense ? x : undefined, n: 10 };
const scores = Float32Array.from({ length: 200_000 }, () => rng.next());

/** A plain TypeScript dense scorer (f64 dot, small min-heap): what one would write without kernels. */
function plainDense(): void {
  const n = 10;
  const hs = new Float64Array(n);
  const hi = new Int32Array(n);
  for (let b = 0; b < denseUsers.length; b++) {
    let size = 0;
    for (let i = 0; i < nItemsDense; i++) {
      let s = 0;
      for (let t = 0; t < dim; t++) s += userVecs[b * dim + t] * itemVecs[i * dim + t];
      if (size < n) {
        hs[size] = s;
        hi[size++] = i;
      } else {
        let m = 0;
        for (let q = 1; q < n; q++) if (hs[q] < hs[m]) m = q;
        if (s > hs[m]) {
          hs[m] = s;
          hi[m] = i;
        }
      }
    }
  }
}

/** EMCDR's maps at the default width: 64 -> 128 (tanh) -> 64, and a 64 -> 64 linear map (bias last), on 256 users. */
const mlp: Mlp = {
  hidden: { nIn: dim, nOut: 2 * dim, w: Float32Array.from({ length: 2 * dim * dim }, () => rng.normal() * 0.1), b: Float32Array.from({ length: 2 * dim }, () => rng.normal() * 0.1) },
  out: { nIn: 2 * dim, nOut: dim, w: Float32Array.from({ length: 2 * dim * dim }, () => rng.normal() * 0.1), b: Float32Array.from({ length: dim }, () => rng.normal() * 0.1) },
  act: 'tanh',
};
const linW = Float32Array.from({ length: dim * dim }, () => rng.normal() * 0.1);
const linB = Float32Array.from({ length: dim }, () => rng.normal() * 0.1);
const mapUsers = Array.from({ length: 256 }, (_, b) => userVecs.subarray((b % denseUsers.length) * dim, (b % denseUsers.length + 1) * dim));
const mlpRun = (layer: typeof denseForward) => () => {
  for (const u of mapUsers) layer(mlp.out, layer(mlp.hidden, u, 'tanh'), 'linear');
};
const linearRun = (map: typeof affine) => () => {
  for (const u of mapUsers) map(linW, linB, dim, dim, u);
};

const bench = new Bench({ time, warmup: true, iterations: 8 });
bench
  .add('cosineTopK wasm', () => void wasm.cosineTopK(knnJob, 0, items))
  .add('cosineTopK ref', () => void cosineTopKReference(knnJob, 0, items))
  .add('scoreSparse wasm', () => void wasm.scoreSparse(sparseJob, users))
  .add('scoreSparse ref', () => void scoreSparseReference(sparseJob, users))
  .add('scoreDense wasm', () => void wasm.scoreDense(denseJob, denseUsers, userVecs))
  .add('scoreDense f32', () => void wasmF32.scoreDense(denseJob, denseUsers, userVecs))
  .add('scoreDense ref', () => void scoreDenseReference(denseJob, denseUsers, userVecs))
  .add('scoreDense plain', plainDense)
  .add('topk wasm', () => void wasm.topk(scores, 10))
  .add('topk ref', () => void topkReference(scores, 10))
  .add('denseLayer wasm', mlpRun(denseForward))
  .add('denseLayer ref', mlpRun(denseForwardReference))
  .add('affine wasm', linearRun(affine))
  .add('affine ref', linearRun(affineReference));
const stopLoad = loadMeter();
await bench.run();
const load = stopLoad();
console.table(bench.table());
const mean = (name: string) => (bench.tasks.find((t) => t.name === name)!.result as unknown as { latency: { mean: number } }).latency.mean;
const ratios: Record<string, number> = {};
for (const k of ['cosineTopK', 'scoreSparse', 'scoreDense', 'topk', 'denseLayer', 'affine']) ratios[k] = Number((mean(`${k} ref`) / mean(`${k} wasm`)).toFixed(2));
ratios['scoreDense vs plain TS loop'] = Number((mean('scoreDense plain') / mean('scoreDense wasm')).toFixed(2));
ratios['scoreDense 16-bit vs f32'] = Number((mean('scoreDense f32') / mean('scoreDense wasm')).toFixed(2));
const tasks = bench.tasks.map((t) => {
  const r = t.result as unknown as { latency: { mean: number; p50?: number; rme: number; samplesCount?: number; samples?: number[] } };
  return { name: t.name, mean_ms: Number(r.latency.mean.toFixed(4)), median_ms: Number((r.latency.p50 ?? r.latency.mean).toFixed(4)), rme_pct: Number(r.latency.rme.toFixed(2)), samples: r.latency.samplesCount ?? r.latency.samples?.length ?? 0 };
});
const inputs = { cosineTopK: `${items} of ${xt.nRows} items, 20k users, k 50`, scoreSparse: `${users.length} users, top-10`, scoreDense: `${denseUsers.length} users x ${nItemsDense} items, dim ${dim}, top-10`, topk: `top-10 of ${scores.length} scores`, denseLayer: `${mapUsers.length} users through ${dim} -> ${2 * dim} (tanh) -> ${dim}`, affine: `${mapUsers.length} users through a ${dim} -> ${dim} linear map` };
console.log(JSON.stringify({ machine: machine(), speedup_wasm_over_ref: ratios, tasks, inputs, load }));
