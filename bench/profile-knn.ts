/**
 * Kernel-only timing of the item-item cosine top-k on a CSV (one thread, no pool): prints the
 * time of each step of `itemKnn` in-process (transpose, norms, relabel, kernel with k = 1 and the
 * chosen k) so accumulation and selection can be told apart.
 * usage: npx tsx bench/profile-knn.ts FILE [k]
 */
import { WasmKernels, relabelColumns, rowNorms, transposeCsr } from '../src/kernels/index.js';
import { readUserItemCsv } from './csv.js';

const x = readUserItemCsv(process.argv[2] ?? '/tmp/migrec-peers/data/syn-1m.csv');
const k = Number(process.argv[3] ?? 50);
const w = new WasmKernels();
const time = <T>(label: string, f: () => T): T => {
  const t = performance.now();
  const r = f();
  console.log(`${label}: ${(performance.now() - t).toFixed(1)} ms`);
  return r;
};
const xt = time('transpose', () => transposeCsr(x));
const norms = time('norms', () => rowNorms(xt));
const re = time('relabel', () => relabelColumns(x, norms));
const plain = { left: xt, right: x, normsLeft: norms, normsRight: norms, k, shrink: 0 };
const job = { ...plain, right: re.m, normsRight: re.norms, rightColumnIds: re.ids };
for (let rep = 0; rep < 3; rep++) {
  time(`kernel k=${k} relabelled`, () => w.cosineTopK(job, 0, xt.nRows));
  time(`kernel k=1 relabelled`, () => w.cosineTopK({ ...job, k: 1 }, 0, xt.nRows));
  time(`kernel k=${k} original order`, () => w.cosineTopK(plain, 0, xt.nRows));
}
