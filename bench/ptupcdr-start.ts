/**
 * Does PTUPCDR personalise? Its training starts from a ridge map (the one EMCDR learns) and keeps
 * the epoch that scores best on validation users, epoch 0 being that start. This prints, per data
 * set and pair: the validation NDCG@10 of each epoch, the chosen epoch, and the test NDCG@10 of
 * `emcdr` and `ptupcdr` on the cold test users (identical lists when the chosen epoch is 0).
 *
 *   npx tsx bench/ptupcdr-start.ts [--events 200000] [--seed 1]
 *
 * Data: Amazon Toys <-> Video Games (../shared/data, train/valid/test.csv) and the seeded synthetic
 * two-domain log (src/data/synthetic.ts) with a cold-start split (books -> music, beta 0.2).
 */
import { coldStartSplit, Dataset, Emcdr, evaluate, FitCache, generateTwoDomain, loadEvents, Ptupcdr, type EventTable } from '../src/index.js';
import { machine } from './machine.js';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const events = Number(arg('events', '200000'));
const seed = Number(arg('seed', '1'));

async function report(label: string, train: EventTable, valid: EventTable, test: EventTable, targets?: string[]): Promise<void> {
  const data = Dataset.fromEvents(train);
  const cache = new FitCache();
  const opts = targets ? { seed, targets } : { seed };
  const emcdr = new Emcdr(opts);
  const ptupcdr = new Ptupcdr(opts);
  const rep = await evaluate(data, test, [emcdr, ptupcdr], { valid, ks: [10], seed, cache });
  const choices = ptupcdr.fitReport().choices as Record<string, { bestEpoch: number; validCurve: Array<{ epoch: number; validNdcg10: number }> }>;
  for (const [pair, c] of Object.entries(choices)) {
    const curve = c.validCurve.map((p) => `${p.epoch}:${p.validNdcg10.toFixed(4)}`).join(' ');
    console.log(`${label} ${pair}: validation NDCG@10 by epoch ${curve}; chosen epoch ${c.bestEpoch}${c.bestEpoch === 0 ? ' (its start: the same lists as the ridge map)' : ''}`);
  }
  for (const r of rep.results) if (r.segment === 'cold') console.log(`${label} test ${r.model} ${r.domain} (${r.users} cold users): NDCG@10 ${r.metrics['ndcg@10'].toFixed(4)}`);
  console.log(`${label} fit seconds: emcdr ${rep.timings.emcdr.fit_s.toFixed(1)}, ptupcdr ${rep.timings.ptupcdr.fit_s.toFixed(1)}`);
}

console.log(`machine: ${JSON.stringify(machine())}`);
const dir = '../shared/data/amazon-toys-videogames';
const train = await loadEvents(`${dir}/train.csv`);
await report('amazon', train, await loadEvents(`${dir}/valid.csv`, { vocab: train.vocab }), await loadEvents(`${dir}/test.csv`, { vocab: train.vocab }));
const syn = generateTwoDomain({ events, seed }).events;
const split = coldStartSplit(syn, { source: 'books', target: 'music', beta: 0.2, seed });
await report(`synthetic ${events} seed ${seed}`, split.train, split.valid, split.test, ['music']);
