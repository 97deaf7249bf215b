/**
 * Library-level macro benchmark on one events file, through the public API (`src/index.ts`):
 *   - load: `loadEvents` (or `loadMovieLens`) and `Dataset.fromEvents`, seconds and RSS;
 *   - item kNN: `ItemKnn({ neighbors, pool })` fit with a pool of each thread count (median of
 *     `--repeat` after one warm-up fit), then `recommendBatch` top-10 for `--recommend` users;
 *   - user kNN: `UserKnn` fit (neighbours are found at query time) and `recommendBatch` for a
 *     sample of `--userknn-users` users, which is where its cost lies;
 * each with the load on the machine while it ran. Prints one JSON line; peak RSS is the whole
 * process's (workers are threads), so run one process per file.
 *
 * usage: node --expose-gc --import tsx bench/library.ts --data FILE [--format csv|movielens]
 *          [--domain D] [--threads 1,2] [--repeat 2] [--neighbors 50] [--recommend 100000] [--userknn-users 2000]
 */
import { parseArgs } from 'node:util';
import { createPool, Dataset, ItemKnn, loadEvents, loadMovieLens, UserKnn } from '../src/index.js';
import { loadMeter, median } from './machine.js';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    format: { type: 'string', default: 'csv' },
    domain: { type: 'string' },
    threads: { type: 'string', default: '1,2' },
    repeat: { type: 'string', default: '2' },
    neighbors: { type: 'string', default: '50' },
    recommend: { type: 'string', default: '100000' },
    'userknn-users': { type: 'string', default: '2000' },
  },
});
if (!values.data) {
  process.stderr.write('usage: bench/library.ts --data FILE [--format csv|movielens] [--threads 1,2] [--recommend N]\n');
  process.exit(2);
}
const neighbors = Number(values.neighbors);
const repeat = Number(values.repeat);
const gc = (globalThis as { gc?: () => void }).gc;
const rssMb = () => Math.round(process.resourceUsage().maxRSS / 1024);
const r4 = (x: number) => Number(x.toFixed(4));
const seconds = (t0: number) => (performance.now() - t0) / 1000;

/** Users spread evenly over the vocabulary (every stride-th), `n` of them at most. */
function spread(ids: string[], n: number): string[] {
  const m = Math.min(n, ids.length);
  const stride = ids.length / m;
  return Array.from({ length: m }, (_, q) => ids[Math.floor(q * stride)]);
}

let stop = loadMeter();
let t0 = performance.now();
const events = values.format === 'movielens' ? await loadMovieLens(values.data) : await loadEvents(values.data);
const loadS = seconds(t0);
t0 = performance.now();
const data = Dataset.fromEvents(events);
for (let dd = 0; dd < data.nDomains; dd++) data.matrix(dd); // the per-domain CSR matrices
const datasetS = seconds(t0);
const out: Record<string, unknown> = {
  data: values.data.split('/').pop(),
  rows: events.length,
  users: data.nUsers,
  domains: data.vocab.domains.list(),
  load: { load_s: r4(loadS), dataset_s: r4(datasetS), rss_mb: rssMb(), load: stop() },
};
const domain = values.domain ?? data.vocab.domains.list()[0];
const d = data.vocab.domains.list().indexOf(domain);
const m = data.matrix(d);
let W = 0;
for (let u = 0; u < m.nRows; u++) {
  const c = m.indptr[u + 1] - m.indptr[u];
  W += c * c;
}
out.domain = { name: domain, items: data.nItems(d), nnz: m.indices.length, W };
// Users with rows in the recommended domain.
const userIds = data.vocab.users.list().slice(0, data.nUsers).filter((_, u) => u < m.nRows && m.indptr[u + 1] > m.indptr[u]);
const recUsers = spread(userIds, Number(values.recommend));

const itemknn: Record<string, unknown> = {};
for (const threads of values.threads.split(',').map(Number)) {
  const pool = createPool({ threads });
  try {
    const model = new ItemKnn({ neighbors, pool, domain });
    await model.fit(data); // warm-up: pool start, wasm compile, shared copies
    gc?.();
    stop = loadMeter();
    const fits: number[] = [];
    for (let r = 0; r < repeat; r++) {
      t0 = performance.now();
      await model.fit(data);
      fits.push(seconds(t0));
    }
    const fitLoad = stop();
    await model.recommendBatch(recUsers.slice(0, 1000), { k: 10 }); // warm-up
    stop = loadMeter();
    const recs: number[] = [];
    let firstItems = '';
    for (let r = 0; r < repeat; r++) {
      t0 = performance.now();
      const batch = await model.recommendBatch(recUsers, { k: 10 });
      recs.push(seconds(t0));
      firstItems = batch.get(0).items.slice(0, 3).join(' ');
    }
    const recLoad = stop();
    const rs = median(recs);
    itemknn[threads] = {
      fit_s: r4(median(fits)),
      fit_runs_s: fits.map(r4),
      fit_load: fitLoad,
      recommend_users: recUsers.length,
      recommend_s: r4(rs),
      recommend_users_per_s: Math.round(recUsers.length / rs),
      recommend_load: recLoad,
      first_user_top3: firstItems,
      rss_mb: rssMb(),
    };
    await model.close();
  } finally {
    await pool.close();
  }
  gc?.();
}
out.itemknn = itemknn;

{
  const threads = Math.max(...values.threads.split(',').map(Number));
  const pool = createPool({ threads });
  try {
    const model = new UserKnn({ neighbors, pool, domain });
    stop = loadMeter();
    t0 = performance.now();
    await model.fit(data);
    const fitS = seconds(t0);
    const fitLoad = stop();
    const sample = spread(userIds, Number(values['userknn-users']));
    await model.recommendBatch(sample.slice(0, 100), { k: 10 }); // warm-up
    stop = loadMeter();
    t0 = performance.now();
    await model.recommendBatch(sample, { k: 10 });
    const rs = seconds(t0);
    out.userknn = {
      threads,
      fit_s: r4(fitS),
      fit_load: fitLoad,
      recommend_users: sample.length,
      recommend_s: r4(rs),
      recommend_users_per_s: Math.round(sample.length / rs),
      recommend_load: stop(),
    };
    await model.close();
  } finally {
    await pool.close();
  }
}
out.peak_rss_mb = rssMb();
process.stdout.write(`${JSON.stringify(out)}\n`);
