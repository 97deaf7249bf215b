/**
 * Long-tail items on MovieLens 100K, with and without the item-feature encoder (19 genre flags of
 * u.item). Split (seeded): 10% of the movies are "new" (all their ratings go to test); of the rest,
 * 20% of the ratings go to test. Tail = movies with < 5 training ratings (new ones included). For
 * every user with test ratings on tail movies, the tail movies are ranked (candidates = tail,
 * training items excluded) and HR/NDCG@10 and Recall@20 are averaged.
 *
 *   npx tsx bench/transfer-movielens.ts [--seed 0] [--alpha A (ALS confidence; default: the library's)]
 */
import { readFileSync } from 'node:fs';
import { Dataset, parseEvents, Vocabularies, hitRate, ndcg, recall } from '../src/index.js';
import { Rng } from '../src/random.js';
import { Mf } from '../src/index.js';

const dir = '../shared/data/movielens-100k';
const seedAt = process.argv.indexOf('--seed');
const seed = seedAt >= 0 ? Number(process.argv[seedAt + 1]) : 0;
const alphaAt = process.argv.indexOf('--alpha');
const alpha = alphaAt >= 0 ? Number(process.argv[alphaAt + 1]) : undefined;
const items = readFileSync(`${dir}/u.item`, 'latin1').split('\n').filter(Boolean).map((l) => l.split('|'));
const ids = items.map((f) => `m${f[0]}`);
const genres = items.flatMap((f) => f.slice(5, 24).map(Number));
const rows = readFileSync(`${dir}/u.data`, 'latin1').split('\n').filter(Boolean).map((l) => l.split('\t'));
const rng = new Rng(seed);
const isNew = new Set(ids.filter(() => rng.next() < 0.1));
const trainRows: string[] = [];
const testRows: Array<[string, string]> = [];
for (const [u, i] of rows) {
  const item = `m${i}`;
  if (isNew.has(item) || rng.next() < 0.2) testRows.push([`u${u}`, item]);
  else trainRows.push(`u${u},${item}`);
}
const vocab = new Vocabularies();
const train = parseEvents(`user,item\n${trainRows.join('\n')}\n`, { vocab, domain: 'movies', label: 'ml-train' });
for (const id of ids) vocab.items(0).intern(id); // every catalogue movie is rankable, rows or not
const data = Dataset.fromEvents(train);
const m = data.matrix(0);
const counts = new Uint32Array(data.nItems(0));
for (let t = 0; t < m.indices.length; t++) counts[m.indices[t]]++;
const tailIds = vocab.items(0).list().slice(0, data.nItems(0)).filter((_, i) => counts[i] < 5);
const tailSet = new Set(tailIds);
const truth = new Map<string, Set<number>>();
for (const [u, i] of testRows) {
  if (!tailSet.has(i) || vocab.users.get(u) < 0 || vocab.users.get(u) >= data.nUsers) continue;
  if (!truth.has(u)) truth.set(u, new Set());
  truth.get(u)!.add(vocab.items(0).get(i));
}
console.log(`MovieLens 100K: train ${train.length} rows, test ${testRows.length}; ${isNew.size} new movies; tail (< 5 training ratings) ${tailIds.length} movies; ${truth.size} users with tail test rows`);
const users = [...truth.keys()];
for (const [label, opts] of [
  ['mf (no encoder)', {}],
  ['mf + genre encoder', { itemFeatures: { items: ids, width: 19, values: genres } }],
] as const) {
  const model = new Mf({ seed, factors: 32, iterations: 10, alpha, ...opts });
  const t0 = performance.now();
  await model.fit(data);
  const fit = (performance.now() - t0) / 1000;
  const recs = await model.recommendBatch(users, { k: 20, candidates: tailIds });
  let hr = 0, nd = 0, rc = 0;
  users.forEach((u, b) => {
    const ranked = Uint32Array.from(recs.get(b).items, (id) => vocab.items(0).get(id));
    const rel = truth.get(u)!;
    hr += hitRate(ranked, rel, 10);
    nd += ndcg(ranked, rel, 10);
    rc += recall(ranked, rel, 20);
  });
  const n = users.length;
  console.log(`${label.padEnd(20)} tail HR@10 ${(hr / n).toFixed(4)} NDCG@10 ${(nd / n).toFixed(4)} Recall@20 ${(rc / n).toFixed(4)}  fit ${fit.toFixed(2)} s  ${JSON.stringify(((model.fitReport().stats.domains as Record<string, { encoder?: unknown }>).movies).encoder ?? null)}`);
}
