/**
 * Cross-domain cold-start benchmark of the transfer models on Amazon Toys <-> Video Games:
 * popularity, mf, emcdr, ptupcdr fitted on train.csv (choices made on valid.csv only), scored on
 * the cold users of test.csv in both target domains. Prints, per model, HR/Recall/NDCG/MRR at 10
 * and 20 with a 95% bootstrap interval of NDCG@10 (2,000 resamples of the test users, seed 0), the
 * validation figures behind every choice, fit seconds, ALS iterations per second and the peak RSS
 * so far; at the end, paired bootstrap intervals of the NDCG@10 differences between the models and
 * where 1.5x the reference EMCDR of ../shared/data/README.md falls.
 *
 *   npx tsx bench/transfer-amazon.ts [--models popularity,mf,emcdr,ptupcdr] [--factors 128] [--iterations 6] [--coupling 1]
 *
 * `--coupling W` sets emcdr's and ptupcdr's `coupling: { weight: W }` (off by default).
 */
import { bootstrapMean, Dataset, evaluate, loadEvents, Popularity } from '../src/index.js';
import { Emcdr, FitCache, Mf, Ptupcdr } from '../src/index.js';

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
const couplingWeight = Number(arg('coupling', '0'));
if (!(couplingWeight >= 0) || !Number.isFinite(couplingWeight)) throw new RangeError(`--coupling must be a finite number >= 0 (got ${arg('coupling', '0')})`);

const train = await loadEvents(`${dir}/train.csv`);
const valid = await loadEvents(`${dir}/valid.csv`, { vocab: train.vocab });
const test = await loadEvents(`${dir}/test.csv`, { vocab: train.vocab });
const data = Dataset.fromEvents(train);
console.log(`data: train ${train.length} valid ${valid.length} test ${test.length} rows; users ${data.nUsers}; items ${data.vocab.domains.list().map((d, i) => `${d}=${data.nItems(i)}`).join(' ')}`);

const mfOpts = { seed, factors, iterations };
const crossOpts = couplingWeight > 0 ? { ...mfOpts, coupling: { weight: couplingWeight } } : mfOpts;
/** Reference EMCDR NDCG@10 on the cold test users (../shared/data/README.md), by target domain. */
const referenceEmcdr: Record<string, number> = { toys: 0.0138, videogames: 0.0355 };
const ci = (v: Float64Array) => {
  const b = bootstrapMean(v, { seed: 0 });
  return `[${b.low.toFixed(4)}, ${b.high.toFixed(4)}]`;
};
const ndcgByModel = new Map<string, Map<string, Float64Array>>();
// One cache for the run: emcdr and ptupcdr train the same ALS factors once, as `migrec eval` does.
const cache = new FitCache();
for (const name of models) {
  const model =
    name === 'popularity' ? new Popularity({ seed }) : name === 'mf' ? new Mf(mfOpts) : name === 'emcdr' ? new Emcdr(crossOpts) : new Ptupcdr(crossOpts);
  const report = await evaluate(data, test, [model], { valid, seed, perUser: true, cache });
  const rss = process.resourceUsage().maxRSS / 1024;
  for (const r of report.results.filter((x) => x.segment === 'cold')) {
    const m = r.metrics;
    const f = (k: string) => m[k].toFixed(4);
    const per = r.perUser!.values['ndcg@10'];
    if (!ndcgByModel.has(name)) ndcgByModel.set(name, new Map());
    ndcgByModel.get(name)!.set(r.domain, per);
    console.log(`${name.padEnd(10)} ${r.domain.padEnd(10)} cold users ${r.users}  HR@10 ${f('hr@10')} R@10 ${f('recall@10')} NDCG@10 ${f('ndcg@10')} ${ci(per)} MRR@10 ${f('mrr@10')} | HR@20 ${f('hr@20')} R@20 ${f('recall@20')} NDCG@20 ${f('ndcg@20')} MRR@20 ${f('mrr@20')}`);
  }
  const t = report.timings[name];
  const fit = model.fitReport();
  const als = fit.seconds.als ?? 0;
  const its = Number(fit.stats.iterations ?? 0);
  const domains = Object.keys(fit.seconds).filter((k) => k.startsWith('als:')).length;
  console.log(`${name.padEnd(10)} fit ${t.fit_s.toFixed(2)} s, score ${t.score_s.toFixed(2)} s${als > 0 ? `, ALS ${its} iterations x domains in ${als.toFixed(2)} s (${((its * domains) / als).toFixed(2)} domain-iterations/s)` : ''}, peak RSS ${rss.toFixed(0)} MB`);
  console.log(`${name.padEnd(10)} fit report ${JSON.stringify({ seconds: fit.seconds, stats: fit.stats })}`);
  if (Object.keys(fit.choices).length) console.log(`${name.padEnd(10)} choices on valid ${JSON.stringify(fit.choices)}`);
}

// Paired differences (same cold users, same order) and the 1.5x-reference line.
const names = [...ndcgByModel.keys()];
for (const domain of Object.keys(referenceEmcdr)) {
  const aim = 1.5 * referenceEmcdr[domain];
  for (const name of names) {
    const v = ndcgByModel.get(name)!.get(domain);
    if (!v) continue;
    const b = bootstrapMean(v, { seed: 0 });
    const where = aim > b.high ? 'above the interval' : aim < b.low ? 'below the interval' : 'inside the interval';
    console.log(`${domain.padEnd(10)} ${name.padEnd(10)} NDCG@10 ${b.mean.toFixed(4)} [${b.low.toFixed(4)}, ${b.high.toFixed(4)}]; 1.5x reference EMCDR = ${aim.toFixed(4)} (${where}); ${(b.mean / referenceEmcdr[domain]).toFixed(2)}x the reference`);
  }
  for (let i = 0; i < names.length; i++) {
    for (let j = i + 1; j < names.length; j++) {
      const a = ndcgByModel.get(names[i])!.get(domain);
      const c = ndcgByModel.get(names[j])!.get(domain);
      if (!a || !c) continue;
      const diff = Float64Array.from(c, (x, u) => x - a[u]);
      const b = bootstrapMean(diff, { seed: 0 });
      console.log(`${domain.padEnd(10)} ${names[j]} - ${names[i]}: NDCG@10 ${b.mean >= 0 ? '+' : ''}${b.mean.toFixed(4)} [${b.low.toFixed(4)}, ${b.high.toFixed(4)}]`);
    }
  }
}
