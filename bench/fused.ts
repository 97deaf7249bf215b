/**
 * Throughput of the fused model's `recommendBatch` (top-10, seen items excluded) against the item-kNN
 * model it contains, measured side by side in this run, with 1 and 2 threads. On single-domain data
 * the fused model has the components popularity, item kNN (100 neighbours) and user kNN (50), and
 * takes 100 candidates from each; without validation data every weight is 1. The same model with
 * `components: ['popularity', 'itemknn']` shows what user kNN's query-time neighbour search costs.
 *
 *   npx tsx bench/fused.ts [--csv /tmp/migrec-peers/data/syn-1m.csv] [--users 100000] [--repeat 3] [--threads 1,2]
 *
 * The synthetic files come from `../shared/peers/gen_data.py --only syn-1m --csv` (see bench/peers.ts).
 */
import { parseArgs } from 'node:util';
import { Dataset, ItemKnn, loadEvents, MigrationRecommender, type Recommender } from '../src/index.js';
import { loadMeter, machine, median } from './machine.js';

const { values } = parseArgs({
  options: {
    csv: { type: 'string', default: '/tmp/migrec-peers/data/syn-1m.csv' },
    users: { type: 'string', default: '100000' },
    repeat: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1,2' },
  },
});
const nUsers = Number(values.users);
const repeat = Number(values.repeat);
const events = await loadEvents(values.csv);
const data = Dataset.fromEvents(events);
const users = events.vocab.users.list().slice(0, nUsers);
console.log(JSON.stringify({ machine: machine(), data: { file: values.csv, rows: events.length, users: data.nUsers, items: data.nItems(0) }, batch_users: users.length, k: 10, repeat }));

const variants: Array<[string, (threads: number) => Recommender]> = [
  ['itemknn (baseline, 100 neighbours)', (threads) => new ItemKnn({ seed: 0, threads, neighbors: 100 })],
  ['migrec (popularity, itemknn, userknn)', (threads) => new MigrationRecommender({ seed: 0, threads })],
  ['migrec (popularity, itemknn)', (threads) => new MigrationRecommender({ seed: 0, threads, components: ['popularity', 'itemknn'] })],
];
for (const threads of values.threads.split(',').map(Number)) {
  let baseline = 0;
  for (const [label, make] of variants) {
    const model = make(threads);
    await model.fit(data);
    await model.recommendBatch(users.slice(0, 2000), { k: 10 }); // warm-up
    const times: number[] = [];
    const meter = loadMeter();
    for (let r = 0; r < repeat; r++) {
      const t0 = performance.now();
      const out = await model.recommendBatch(users, { k: 10 });
      times.push((performance.now() - t0) / 1000);
      if (out.length !== users.length) throw new Error(`${label}: ${out.length} lists for ${users.length} users`);
    }
    const load = meter();
    const perSecond = users.length / median(times);
    if (baseline === 0) baseline = perSecond;
    console.log(
      `threads ${threads}  ${label.padEnd(40)} median ${median(times).toFixed(3)} s  ${Math.round(perSecond).toLocaleString('en-US').padStart(9)} users/s  ` +
        `${(perSecond / baseline).toFixed(3)}x item kNN  (other load ${load.other_cores ?? '?'} cores)`,
    );
    await model.close();
  }
}
