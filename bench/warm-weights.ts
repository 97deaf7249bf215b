/**
 * Warm users under a cold-start validation file (issue 14 item 5). Amazon Toys <-> Video Games:
 * valid.csv has only cold users, so before the held-out tuning every bucket of the fused model got
 * the cold users' weights. This bench makes a warm test set from train.csv (a seeded 1,000 users
 * per domain with at least 6 target items lose the item of their latest event, seed 101, different
 * from the fit's), fits `migrec` with `holdoutUsers: 0` (the old rule) and with the default (500),
 * both with valid.csv, and prints NDCG@10 / HR@10 of the warm test users and of the cold test.csv
 * users, with popularity and item kNN beside them.
 *
 *   npx tsx bench/warm-weights.ts [--data ../shared/data/amazon-toys-videogames] [--users 1000]
 */
import { concatTables, Dataset, evaluate, ItemKnn, loadEvents, MigrationRecommender, Popularity, selectRows, type EventTable } from '../src/index.js';
import { Rng } from '../src/random.js';
import { machine } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const dir = arg('data', '../shared/data/amazon-toys-videogames');
const perDomain = Number(arg('users', '1000'));

const all = await loadEvents(`${dir}/train.csv`);
const valid = await loadEvents(`${dir}/valid.csv`, { vocab: all.vocab });
const coldTest = await loadEvents(`${dir}/test.csv`, { vocab: all.vocab });

/** Rows of the latest event of `perDomain` seeded users per domain with >= 6 distinct items there. */
function warmHoldout(t: EventTable): Set<number> {
  const rng = Rng.derive(101, 'warm-test');
  const out = new Set<number>();
  for (let d = 0; d < t.vocab.domains.size; d++) {
    const items = new Map<number, Set<number>>();
    const latest = new Map<number, number>();
    for (let r = 0; r < t.length; r++) {
      if (t.domain[r] !== d) continue;
      const u = t.user[r];
      let s = items.get(u);
      if (!s) items.set(u, (s = new Set()));
      s.add(t.item[r]);
      const l = latest.get(u);
      if (l === undefined || t.timestamp[r] >= t.timestamp[l]) latest.set(u, r);
    }
    const eligible = [...items].filter(([, s]) => s.size >= 6).map(([u]) => u).sort((a, b) => a - b);
    for (let q = 0; q < Math.min(perDomain, eligible.length); q++) {
      const r = q + rng.int(eligible.length - q);
      [eligible[q], eligible[r]] = [eligible[r], eligible[q]];
      const u = eligible[q];
      const item = t.item[latest.get(u)!];
      // Every row of that (user, item) leaves training, so the item is not "seen".
      for (let x = 0; x < t.length; x++) if (t.user[x] === u && t.domain[x] === d && t.item[x] === item) out.add(x);
    }
  }
  return out;
}

const held = warmHoldout(all);
const keep: number[] = [];
const test: number[] = [];
for (let r = 0; r < all.length; r++) (held.has(r) ? test : keep).push(r);
const train = Dataset.fromEvents(selectRows(all, keep));
const warmTest = selectRows(all, test, 'warm-test');
console.log(`machine: ${JSON.stringify(machine())}`);
console.log(`data: ${dir}: train ${keep.length} rows, warm test ${test.length} rows, cold test ${coldTest.length} rows, valid ${valid.length} rows (cold users only)`);

const models = [
  { name: 'popularity', make: () => new Popularity() },
  { name: 'itemknn', make: () => new ItemKnn() },
  { name: 'migrec holdoutUsers=0 (old)', make: () => new MigrationRecommender({ holdoutUsers: 0 }) },
  { name: 'migrec holdoutUsers=500', make: () => new MigrationRecommender({ holdoutUsers: 500 }) },
];
// One evaluation per model on both test sets: the warm test users are the `warm` segment, the
// cold-start ones (no training row in their target) the `cold` segment.
const both = concatTables([warmTest, coldTest], 'warm+cold test');
console.log('model | segment | domain | users | NDCG@10 | HR@10 | fit s');
for (const m of models) {
  const model = m.make();
  const rep = await evaluate(train, both, [model], { valid, ks: [10], seed: 0 });
  const secs = rep.timings[model.name]?.fit_s ?? NaN;
  for (const r of rep.results) {
    if (r.segment === 'all') continue;
    console.log(`${m.name} | ${r.segment} | ${r.domain} | ${r.users} | ${r.metrics['ndcg@10'].toFixed(4)} | ${r.metrics['hr@10'].toFixed(4)} | ${secs.toFixed(1)}`);
  }
  if (model instanceof MigrationRecommender) {
    const choices = model.fitReport().choices as Record<string, { components: string[]; weights: Record<string, number[]> }>;
    for (const [d, c] of Object.entries(choices)) console.log(`  ${d} weights (${c.components.join(', ')}): warm ${c.weights.warm.join(' ')} | cold ${c.weights.cold.join(' ')}`);
  }
}
