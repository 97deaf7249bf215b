/**
 * The fused model's scoring against the item-kNN model, measured side by side in one run:
 *
 *   1. `recommendBatch` (top-10, seen items excluded) users/s with pools of 1 and 2 threads, and
 *      the ratio to the item-kNN model (100 neighbours) over the same users, on
 *      - syn-1m (single domain; the fused model has popularity, item kNN and user kNN), fitted here;
 *      - Amazon Toys -> Video Games (every component, weights tuned on valid.csv), fitted here;
 *      - the synthetic two-domain 1M-event model (`--model` / `--itemknn` files made by `migrec fit`);
 *   2. single-user `recommend` latency in this thread (p50 / p99 over `--single` users) on each;
 *   3. `migrec recommend --users FILE` wall time (child processes, `--threads 2`), fused vs item kNN
 *      on the two-domain model files.
 * Every figure is the median of `--repeat` runs; the other load on the machine is printed beside.
 *
 *   npm run build:ts
 *   npx tsx bench/gen-two-domain.ts --events 1000000 --seed 1 --out /tmp/syn1m.csv
 *   node dist/cli/main.js fit --train /tmp/syn1m.csv --target music --source books --out /tmp/m1m.migrec
 *   node dist/cli/main.js fit --train /tmp/syn1m.csv --models itemknn --neighbors 100 --out /tmp/i1m.migrec
 *   seq 0 49999 | sed 's/^/u/' > /tmp/u50k.txt
 *   npx tsx bench/fused.ts [--syn1m /tmp/migrec-peers/data/syn-1m.csv] [--amazon ../shared/data/amazon-toys-videogames]
 *     [--model /tmp/m1m.migrec --itemknn /tmp/i1m.migrec --users-file /tmp/u50k.txt] [--users 50000] [--repeat 3]
 *     [--threads 1,2] [--single 1000] [--only syn1m,amazon,two-domain,cli]
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createPool, Dataset, ItemKnn, loadEvents, loadModel, MigrationRecommender, type Recommender } from '../src/index.js';
import { loadMeter, machine, median } from './machine.js';

const { values } = parseArgs({
  options: {
    syn1m: { type: 'string', default: '/tmp/migrec-peers/data/syn-1m.csv' },
    amazon: { type: 'string', default: '../shared/data/amazon-toys-videogames' },
    model: { type: 'string', default: '/tmp/m1m.migrec' },
    itemknn: { type: 'string', default: '/tmp/i1m.migrec' },
    'users-file': { type: 'string', default: '/tmp/u50k.txt' },
    users: { type: 'string', default: '50000' },
    repeat: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1,2' },
    single: { type: 'string', default: '1000' },
    only: { type: 'string', default: 'syn1m,amazon,two-domain,cli' },
  },
});
const repeat = Number(values.repeat);
const nUsers = Number(values.users);
const threadList = values.threads.split(',').map(Number);
const only = new Set(values.only.split(','));
const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
console.log(JSON.stringify({ machine: machine(), repeat, users: nUsers, threads: threadList }));

/** Users spread evenly over a list, n at most. */
function spread(ids: string[], n: number): string[] {
  const m = Math.min(n, ids.length);
  return Array.from({ length: m }, (_, q) => ids[Math.floor((q * ids.length) / m)]);
}

/** recommendBatch users/s of each model with a pool of each size, the fused one against the first (item kNN). */
async function throughput(label: string, make: Array<[string, (pool: ReturnType<typeof createPool>) => Promise<Recommender>]>, users: string[]): Promise<void> {
  for (const threads of threadList) {
    const pool = createPool({ threads });
    let baseline = 0;
    try {
      for (const [name, build] of make) {
        const model = await build(pool);
        await model.recommendBatch(users.slice(0, 2000), { k: 10 }); // warm-up: wasm, shared copies
        const times: number[] = [];
        const meter = loadMeter();
        for (let r = 0; r < repeat; r++) {
          const t0 = performance.now();
          const out = await model.recommendBatch(users, { k: 10 });
          times.push((performance.now() - t0) / 1000);
          if (out.length !== users.length) throw new Error(`${name}: ${out.length} lists for ${users.length} users`);
        }
        const load = meter();
        const perSecond = users.length / median(times);
        if (baseline === 0) baseline = perSecond;
        console.log(
          `${label.padEnd(11)} threads ${threads}  ${name.padEnd(34)} ${median(times).toFixed(3)} s  ${fmt(perSecond).padStart(9)} users/s  ` +
            `${(perSecond / baseline).toFixed(3)}x item kNN  (runs ${times.map((x) => x.toFixed(3)).join(' ')}; other load ${load.other_cores ?? '?'} cores)`,
        );
      }
    } finally {
      await pool.close();
    }
  }
}

/** Single-user recommend latency in this thread: p50 and p99 in ms over `users` (after a warm-up pass). */
function latency(label: string, model: Recommender, users: string[]): void {
  for (const u of users.slice(0, 50)) model.recommend(u, { k: 10 });
  const runs: Array<{ p50: number; p99: number }> = [];
  for (let r = 0; r < repeat; r++) {
    const ms = users.map((u) => {
      const t0 = performance.now();
      model.recommend(u, { k: 10 });
      return performance.now() - t0;
    });
    ms.sort((a, b) => a - b);
    runs.push({ p50: ms[Math.floor(ms.length * 0.5)], p99: ms[Math.min(ms.length - 1, Math.floor(ms.length * 0.99))] });
  }
  console.log(`${label.padEnd(11)} single-user recommend (${users.length} users, this thread): p50 ${median(runs.map((x) => x.p50)).toFixed(3)} ms  p99 ${median(runs.map((x) => x.p99)).toFixed(3)} ms  (runs p99 ${runs.map((x) => x.p99.toFixed(2)).join(' ')})`);
}

/** Fit both models once, save them, and measure copies loaded with a pool of each size (a pool is fixed at load). */
async function fittedPair(label: string, fused: Recommender, itemknn: Recommender, users: string[], fusedName: string): Promise<void> {
  const dir = execFileSync('mktemp', ['-d', '/tmp/migrec-bench-fused-XXXXXX']).toString().trim();
  try {
    await fused.save(join(dir, 'fused.migrec'));
    await itemknn.save(join(dir, 'itemknn.migrec'));
    await throughput(label, [
      ['itemknn (100 neighbours)', (pool) => loadModel(join(dir, 'itemknn.migrec'), { pool })],
      [fusedName, (pool) => loadModel(join(dir, 'fused.migrec'), { pool })],
    ], users);
  } finally {
    execFileSync('rm', ['-rf', dir]);
  }
  latency(label, fused, spread(users, Number(values.single)));
  await Promise.all([fused.close(), itemknn.close()]);
}

if (only.has('syn1m') && existsSync(values.syn1m)) {
  const events = await loadEvents(values.syn1m);
  const data = Dataset.fromEvents(events);
  const t0 = performance.now();
  const fused = new MigrationRecommender({ seed: 0, threads: 2 });
  await fused.fit(data);
  console.log(`syn-1m      migrec fit (2 threads) ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const itemknn = new ItemKnn({ seed: 0, neighbors: 100, threads: 2 });
  await itemknn.fit(data);
  await fittedPair('syn-1m', fused, itemknn, spread(events.vocab.users.list().slice(0, data.nUsers), nUsers), 'migrec (popularity, itemknn, userknn)');
}

if (only.has('amazon') && existsSync(join(values.amazon, 'train.csv'))) {
  const train = await loadEvents(join(values.amazon, 'train.csv'));
  const valid = await loadEvents(join(values.amazon, 'valid.csv'), { vocab: train.vocab });
  const data = Dataset.fromEvents(train);
  const t0 = performance.now();
  const fused = new MigrationRecommender({ target: 'videogames', sources: ['toys'], seed: 0, threads: 2 });
  await fused.fit(data, { valid });
  console.log(`amazon      migrec fit (2 threads) ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const itemknn = new ItemKnn({ seed: 0, neighbors: 100, domain: 'videogames', threads: 2 });
  await itemknn.fit(data);
  await fittedPair('amazon', fused, itemknn, spread(train.vocab.users.list().slice(0, data.nUsers), nUsers), 'migrec (every component)');
}

if (only.has('two-domain') && existsSync(values.model) && existsSync(values.itemknn)) {
  const users = Array.from({ length: nUsers }, (_, i) => `u${i}`);
  await throughput('two-domain', [
    ['itemknn (file)', (pool) => loadModel(values.itemknn, { pool })],
    ['migrec (file)', (pool) => loadModel(values.model, { pool })],
  ], users);
  const t0 = performance.now();
  const fused = await loadModel(values.model);
  console.log(`two-domain  load ${values.model} ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  latency('two-domain', fused, spread(users, Number(values.single)));
  await fused.close();
}

if (only.has('cli') && existsSync(values.model) && existsSync(values.itemknn) && existsSync(values['users-file'])) {
  const main = new URL('../dist/cli/main.js', import.meta.url).pathname;
  const wall = (model: string): number => {
    const t0 = performance.now();
    execFileSync(process.execPath, [main, 'recommend', '--model', model, '--users', values['users-file']!, '--threads', '2'], { stdio: ['ignore', 'ignore', 'inherit'], maxBuffer: 1 << 30 });
    return (performance.now() - t0) / 1000;
  };
  const runs: Record<string, number[]> = { itemknn: [], migrec: [] };
  const meter = loadMeter();
  for (let r = 0; r < repeat; r++) {
    runs.itemknn.push(wall(values.itemknn));
    runs.migrec.push(wall(values.model));
  }
  const load = meter();
  const [i, m] = [median(runs.itemknn), median(runs.migrec)];
  console.log(`cli         migrec recommend --users (${values['users-file']}, --threads 2): item kNN ${i.toFixed(2)} s, migrec ${m.toFixed(2)} s, ${(m / i).toFixed(2)}x  (runs ${runs.itemknn.map((x) => x.toFixed(2)).join(' ')} / ${runs.migrec.map((x) => x.toFixed(2)).join(' ')}; other load ${load.other_cores ?? '?'} cores)`);
}
