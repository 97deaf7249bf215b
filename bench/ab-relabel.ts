/**
 * A/B of the column relabelling on the in-process cosine kernel: alternates original and
 * popularity-relabelled columns and prints the CPU time of each call (CPU time is less sensitive
 * than wall time to other load on a shared machine). usage: npx tsx bench/ab-relabel.ts FILE [k] [reps]
 */
import { WasmKernels, relabelColumns, rowNorms, transposeCsr } from '../src/kernels/index.js';
import { readUserItemCsv } from './csv.js';
import { median } from './machine.js';

const x = readUserItemCsv(process.argv[2] ?? '/tmp/migrec-peers/data/syn-1m.csv');
const k = Number(process.argv[3] ?? 50);
const reps = Number(process.argv[4] ?? 5);
const w = new WasmKernels();
const xt = transposeCsr(x);
const norms = rowNorms(xt);
const re = relabelColumns(x, norms);
const plain = { left: xt, right: x, normsLeft: norms, normsRight: norms, k, shrink: 0 };
const relabelled = { ...plain, right: re.m, normsRight: re.norms, rightColumnIds: re.ids };
const cpu = (f: () => void) => {
  const u = process.cpuUsage();
  f();
  const d = process.cpuUsage(u);
  return (d.user + d.system) / 1e6;
};
const a: number[] = [];
const b: number[] = [];
cpu(() => w.cosineTopK(plain, 0, xt.nRows));
for (let r = 0; r < reps; r++) {
  a.push(cpu(() => w.cosineTopK(plain, 0, xt.nRows)));
  b.push(cpu(() => w.cosineTopK(relabelled, 0, xt.nRows)));
}
console.log(JSON.stringify({ k, original_cpu_s: a, relabelled_cpu_s: b, median_ratio: median(b) / median(a) }));
