/**
 * Item-kNN fit benchmark on a `user,item` CSV: prints one JSON line
 * {similarity_s, runs_s, threads, W, ns_per_W, peak_rss_mb, users, items, nnz, k, recommend...}.
 * `similarity_s` is the median over `--repeat` fits of `itemKnn` (transpose, norms, sharded
 * cosine top-k); pool start-up and CSV loading are not counted. `--threads 0` runs in-process.
 * With `--recommend N`, also times top-10 recommendation (sparse scoring, seen items excluded)
 * for N users spread over the user range.
 *
 * Peak RSS is the whole process's (workers are threads): after loading, after the first fit, and
 * at the end; run with `node --expose-gc --import tsx` so that repeats do not pile up garbage.
 *
 * usage: npx tsx bench/knn.ts --csv FILE [--k 50] [--threads 1] [--repeat 3] [--recommend 100000] [--backend wasm|js]
 */
import { parseArgs } from 'node:util';
import type { BackendName } from '../src/kernels/types.js';
import { createPool, itemKnn, scoreSparse } from '../src/pool/index.js';
import { readUserItemCsv, workW } from './csv.js';
import { busyFraction, cpuTimes, median } from './machine.js';

const { values } = parseArgs({
  options: {
    csv: { type: 'string' },
    k: { type: 'string', default: '50' },
    threads: { type: 'string', default: '1' },
    repeat: { type: 'string', default: '3' },
    recommend: { type: 'string', default: '0' },
    backend: { type: 'string', default: 'wasm' },
  },
});
if (!values.csv) {
  process.stderr.write('usage: bench/knn.ts --csv FILE [--k 50] [--threads 1] [--repeat 3] [--recommend N]\n');
  process.exit(2);
}
const k = Number(values.k);
const threads = Number(values.threads);
const repeat = Number(values.repeat);
const backend = values.backend as BackendName;

const tl = performance.now();
const x = readUserItemCsv(values.csv);
const loadS = (performance.now() - tl) / 1000;
const loadRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
const W = workW(x);
const pool = threads > 0 ? createPool({ threads }) : undefined;
try {
  const c0 = cpuTimes();
  const runs: number[] = [];
  const cpu: number[] = [];
  let nb = await itemKnn(pool, x, { k, backend });
  const firstFitRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let r = 0; r < repeat; r++) {
    gc?.(); // drop the previous fit's buffers first (run with --expose-gc for a steady-state RSS)
    const t0 = performance.now();
    const u0 = process.cpuUsage();
    nb = await itemKnn(pool, x, { k, backend });
    const u = process.cpuUsage(u0);
    runs.push((performance.now() - t0) / 1000);
    cpu.push((u.user + u.system) / 1e6);
  }
  const similarity = median(runs);
  let checksum = 0;
  for (let e = 0; e < nb.data.length; e++) checksum += nb.data[e];
  const out: Record<string, unknown> = {
    csv: values.csv.split('/').pop(),
    similarity_s: Number(similarity.toFixed(4)),
    runs_s: runs.map((s) => Number(s.toFixed(4))),
    min_s: Number(Math.min(...runs).toFixed(4)),
    cpu_s: cpu.map((s) => Number(s.toFixed(3))),
    threads,
    backend,
    W,
    ns_per_W: Number(((similarity * 1e9) / W).toFixed(3)),
    users: x.nRows,
    items: x.nCols,
    nnz: x.indptr[x.nRows],
    k,
    sum_topk_scores: Number(checksum.toFixed(2)),
    load_s: Number(loadS.toFixed(3)),
  };
  const nRec = Math.min(Number(values.recommend), x.nRows);
  if (nRec > 0) {
    const stride = Math.floor(x.nRows / nRec);
    const users = Uint32Array.from({ length: nRec }, (_, q) => q * stride);
    await scoreSparse(pool, x, nb, { n: 10, users, backend });
    const recRuns: number[] = [];
    for (let r = 0; r < repeat; r++) {
      const t0 = performance.now();
      await scoreSparse(pool, x, nb, { n: 10, users, backend });
      recRuns.push((performance.now() - t0) / 1000);
    }
    const rs = median(recRuns);
    out.recommend_users = nRec;
    out.recommend_s = Number(rs.toFixed(4));
    out.recommend_users_per_s = Math.round(nRec / rs);
  }
  out.machine_busy = busyFraction(c0, cpuTimes());
  out.peak_rss_mb = Math.round(process.resourceUsage().maxRSS / 1024);
  out.rss_after_load_mb = loadRssMb;
  out.peak_rss_after_first_fit_mb = firstFitRssMb;
  process.stdout.write(`${JSON.stringify(out)}\n`);
} finally {
  await pool?.close();
}
