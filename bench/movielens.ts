/**
 * MovieLens 100K, the five published folds u1..u5 (ratings as implicit feedback): HR, Recall and
 * NDCG at 10 of popularity, item kNN and user kNN, mean and standard deviation over folds.
 * Usage: npx tsx bench/movielens.ts [--neighbors 50] [--data ../shared/data/movielens-100k]
 */
import { parseArgs } from 'node:util';
import { Dataset, evaluate, ItemKnn, loadMovieLens, Popularity, UserKnn } from '../src/index.js';
import { machine } from './machine.js';

const { values } = parseArgs({ options: { neighbors: { type: 'string', default: '50' }, data: { type: 'string', default: '../shared/data/movielens-100k' } } });
const k = Number(values.neighbors);
const metrics = ['hr@10', 'recall@10', 'ndcg@10'];
const acc = new Map<string, number[][]>();
const time = new Map<string, number[]>();
for (let fold = 1; fold <= 5; fold++) {
  const train = await loadMovieLens(`${values.data}/u${fold}.base`);
  const data = Dataset.fromEvents(train);
  const test = await loadMovieLens(`${values.data}/u${fold}.test`, { vocab: train.vocab });
  const report = await evaluate(data, test, [new Popularity(), new ItemKnn({ neighbors: k }), new UserKnn({ neighbors: k })], { ks: [10] });
  for (const r of report.results) {
    if (r.segment !== 'all') continue;
    if (!acc.has(r.model)) acc.set(r.model, metrics.map(() => []));
    metrics.forEach((m, i) => acc.get(r.model)![i].push(r.metrics[m]));
  }
  for (const [m, t] of Object.entries(report.timings)) time.set(m, [...(time.get(m) ?? []), t.fit_s + t.score_s]);
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(xs.reduce((a, b) => a + (b - mean(xs)) ** 2, 0) / (xs.length - 1));
console.log(JSON.stringify({ machine: machine(), data: 'MovieLens 100K u1..u5 (.base/.test), all test users, full ranking', neighbors: k }));
console.log(`| model | ${metrics.map((m) => `${m} (mean ± sd)`).join(' | ')} | fit+eval s per fold (median) |`);
console.log(`|---|${metrics.map(() => '---').join('|')}|---|`);
for (const [model, cols] of acc) {
  const t = [...time.get(model)!].sort((a, b) => a - b)[2];
  console.log(`| ${model} | ${cols.map((xs) => `${mean(xs).toFixed(4)} ± ${sd(xs).toFixed(4)}`).join(' | ')} | ${t.toFixed(2)} |`);
}
