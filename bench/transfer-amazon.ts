/**
 * Cross-domain cold-start benchmark of the transfer models on Amazon Toys <-> Video Games:
 * popularity, mf, emcdr, ptupcdr fitted on train.csv (choices made on valid.csv only), scored on
 * the cold users of test.csv in both target domains. Prints, per model, HR/Recall/NDCG/MRR at 10
 * and 20, the validation figures behind every choice, fit seconds, ALS iterations per second and
 * the peak RSS so far.
 *
 *   npx tsx bench/transfer-amazon.ts [--models popularity,mf,emcdr,ptupcdr] [--factors 128] [--iterations 6]
 */
import { Dataset, evaluate, loadEvents, Popularity, type IndexModel } from '../src/index.js';
import { Emcdr, Mf, Ptupcdr } from '../src/transfer/index.js';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const dir = arg('data', '../shared/data/amazon-toys-videogames');
const models = arg('models', 'popularity,mf,emcdr,ptupcdr').split(',');
const factors = Number(arg('factors', '128'));
const iterations = Number(arg('iterations', '6'));
const seed = Number(arg('seed', '0'));

const train = await loadEvents(`${dir}/train.csv`);
const valid = await loadEvents(`${dir}/valid.csv`, { vocab: train.vocab });
const test = await loadEvents(`${dir}/test.csv`, { vocab: train.vocab });
const data = Dataset.fromEvents(train);
console.log(`data: train ${train.length} valid ${valid.length} test ${test.length} rows; users ${data.nUsers}; items ${data.vocab.domains.list().map((d, i) => `${d}=${data.nItems(i)}`).join(' ')}`);

const mfOpts = { seed, factors, iterations };
for (const name of models) {
  const model: IndexModel & { choices?: () => unknown; lastFitStats?: Record<string, unknown> } =
    name === 'popularity' ? new Popularity({ seed }) : name === 'mf' ? new Mf(mfOpts) : name === 'emcdr' ? new Emcdr(mfOpts) : new Ptupcdr(mfOpts);
  const report = await evaluate(data, test, [model], { valid, seed });
  const rss = process.resourceUsage().maxRSS / 1024;
  for (const r of report.results.filter((x) => x.segment === 'cold')) {
    const m = r.metrics;
    const f = (k: string) => m[k].toFixed(4);
    console.log(`${name.padEnd(10)} ${r.domain.padEnd(10)} cold users ${r.users}  HR@10 ${f('hr@10')} R@10 ${f('recall@10')} NDCG@10 ${f('ndcg@10')} MRR@10 ${f('mrr@10')} | HR@20 ${f('hr@20')} R@20 ${f('recall@20')} NDCG@20 ${f('ndcg@20')} MRR@20 ${f('mrr@20')}`);
  }
  const t = report.timings[name];
  const stats = model.lastFitStats ?? {};
  const als = Number(stats.als_s ?? 0);
  const its = Number(stats.iterations ?? 0);
  console.log(`${name.padEnd(10)} fit ${t.fit_s.toFixed(2)} s, score ${t.score_s.toFixed(2)} s${als > 0 ? `, ALS ${its} iterations x domains in ${als.toFixed(2)} s (${((its * Object.keys((stats.als_by_domain_s as object) ?? {}).length) / als).toFixed(2)} domain-iterations/s)` : ''}, peak RSS ${rss.toFixed(0)} MB`);
  if (stats && Object.keys(stats).length) console.log(`${name.padEnd(10)} stats ${JSON.stringify(stats)}`);
  if (model.choices) console.log(`${name.padEnd(10)} choices on valid ${JSON.stringify(model.choices())}`);
}
