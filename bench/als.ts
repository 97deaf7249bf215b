/**
 * ALS per-iteration time on Amazon Toys <-> Video Games train (both half-steps of one domain):
 * the tfjs lock-step path that models used before the kernels (src/models/als.ts at `--old`,
 * loaded from git, run on the tfjs wasm backend) vs the SIMD kernels in this thread vs the kernels
 * on a pool. Every method starts from the same warm factors (two iterations in) and runs once
 * untimed; then rounds alternate the methods, and each figure is the median over the rounds. Also prints how far each result is
 * from the kernel's in this thread (max |diff| / max |value|; the pool must give 0).
 *
 *   npx tsx bench/als.ts [--dims 128,64] [--rounds 3] [--threads 2] [--old 3f5b957] [--data dir]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Dataset, loadEvents } from '../src/index.js';
import { transposeCsr } from '../src/kernels/csr.js';
import type { Csr } from '../src/kernels/types.js';
import { alsHalfStep, randomFactors, type AlsSettings } from '../src/models/als.js';
import { initTensorflow, type Tf } from '../src/models/tf.js';
import { createPool } from '../src/pool/index.js';
import { Rng } from '../src/random.js';
import { machine, median } from './machine.js';

const { values } = parseArgs({
  options: {
    dims: { type: 'string', default: '128,64' },
    rounds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    old: { type: 'string', default: '3f5b957' },
    data: { type: 'string', default: '../shared/data/amazon-toys-videogames' },
  },
});
const dims = values.dims!.split(',').map(Number);
const rounds = Number(values.rounds);
const threads = Number(values.threads);

// The old path, verbatim from git (its imports are type-only, so the file runs on its own).
type OldStep = (tf: Tf, x: Float32Array, y: Float32Array, r: Csr, s: AlsSettings) => void;
const oldSource = execFileSync('git', ['show', `${values.old}:src/models/als.ts`], { encoding: 'utf8' });
const oldFile = join(mkdtempSync(join(tmpdir(), 'migrec-als-old-')), 'als-old.ts');
writeFileSync(oldFile, oldSource);
const oldStep = ((await import(oldFile)) as { alsHalfStepBatched: OldStep }).alsHalfStepBatched;
const tf = await initTensorflow();

const train = await loadEvents(`${values.data}/train.csv`);
const data = Dataset.fromEvents(train);
const pool = createPool({ threads });
console.log(JSON.stringify({ machine: machine(), threads, rounds, old: values.old, tfBackend: tf.getBackend() }));

const sec = (t0: number) => (performance.now() - t0) / 1000;
const maxDiff = (a: Float32Array, b: Float32Array) => {
  let m = 0;
  let s = 0;
  for (let t = 0; t < a.length; t++) {
    m = Math.max(m, Math.abs(a[t] - b[t]));
    s = Math.max(s, Math.abs(b[t]));
  }
  return s > 0 ? m / s : m;
};

try {
  for (const d of dims) {
    for (let dom = 0; dom < data.vocab.domains.list().length; dom++) {
      const name = data.vocab.domains.id(dom);
      const m = data.matrix(dom);
      const mt = transposeCsr(m);
      const s: AlsSettings = { factors: d, regularization: 0.05, alpha: 40, cgSteps: 3 };
      // Warm factors: two iterations from the seeded start.
      const items0 = randomFactors(m.nCols, d, Rng.derive(0, `als:${name}`));
      const users0 = new Float32Array(m.nRows * d);
      for (let it = 0; it < 2; it++) {
        await alsHalfStep(users0, items0, m, s);
        await alsHalfStep(items0, users0, mt, s);
      }
      const methods: Record<string, (u: Float32Array, i: Float32Array) => Promise<void>> = {
        'old tfjs': async (u, i) => {
          oldStep(tf, u, i, m, s);
          oldStep(tf, i, u, mt, s);
        },
        'kernel in-thread': async (u, i) => {
          await alsHalfStep(u, i, m, s);
          await alsHalfStep(i, u, mt, s);
        },
        [`kernel pool ${threads}`]: async (u, i) => {
          await alsHalfStep(u, i, m, s, undefined, { pool });
          await alsHalfStep(i, u, mt, s, undefined, { pool });
        },
      };
      const times: Record<string, number[]> = {};
      const out: Record<string, Float32Array> = {};
      // One untimed run of each (tfjs kernel set-up, pool workers starting, wasm compiling), then the rounds.
      for (const run of Object.values(methods)) await run(users0.slice(), items0.slice());
      for (let r = 0; r < rounds; r++) {
        for (const [label, run] of Object.entries(methods)) {
          const u = users0.slice();
          const i = items0.slice();
          const t0 = performance.now();
          await run(u, i);
          (times[label] ??= []).push(sec(t0));
          out[label] = i;
        }
      }
      const old = median(times['old tfjs']);
      const ref = out['kernel in-thread'];
      for (const [label, ts] of Object.entries(times)) {
        const med = median(ts);
        console.log(
          `d=${d} ${name.padEnd(10)} ${label.padEnd(16)} median ${med.toFixed(3)} s/iteration [${ts.map((t) => t.toFixed(3)).join(', ')}]  old/this ${(old / med).toFixed(2)}x  item factors vs in-thread kernel: ${maxDiff(out[label], ref).toExponential(2)}`,
        );
      }
    }
  }
} finally {
  await pool.close();
}
