/**
 * Live models on the Amazon Toys <-> Video Games split (issue 18): update and forget against refits.
 *
 *   npx tsx bench/live.ts [--data ../shared/data/amazon-toys-videogames] [--skip-fused] [--skip-factors]
 *
 * 1. Exactness: fit on train minus a seeded 10% of its rows, `update` with that 10%, compare with a
 *    fit on the union, list for list and score for score, for every test user (popularity, item
 *    kNN, user kNN, both bridges); `forget` 20 users and compare with a fit without their rows.
 * 2. Cost: `update` with 1% new rows vs a refit on the union (medians of 3; the new rows are parsed
 *    before the clock starts, as the refit's are), `forget` of one user; then what an exact item-kNN
 *    update cannot avoid: the kernel's time for the rows of the items the 1% changed.
 * 3. Factor drift: mf and emcdr fitted on 90%, the other 10% added in 5 steps; NDCG@10 on the test
 *    users after each step, updated vs refitted on the same rows.
 * 4. Fused: migrec fitted on 90% and updated with 10% vs refitted on all: NDCG@10 and list overlap.
 * Prints one JSON object; timings carry the load average.
 */
import { loadavg } from 'node:os';
import { concatTables, createModel, Dataset, loadEvents, parseEvents, Rng, type AnyModelOptions, type EventTable, type Recommender } from '../src/index.js';
import { cosineTopK } from '../src/engine/exec.js';
import { rowNorms, transposeCsr } from '../src/kernels/csr.js';
import { pickRows } from '../src/models/sparse.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const DIR = arg('data', '../shared/data/amazon-toys-videogames');
const has = (flag: string) => process.argv.includes(`--${flag}`);
const load = () => loadavg().map((x) => Number(x.toFixed(2)));

const train = await loadEvents(`${DIR}/train.csv`);
const valid0 = await loadEvents(`${DIR}/valid.csv`);
const test0 = await loadEvents(`${DIR}/test.csv`);

/** Rows as CSV text, so each table is loaded on its own (new ids numbered as a load numbers them). */
function csv(t: EventTable, rows: ArrayLike<number>): string {
  const v = t.vocab;
  const out: string[] = ['user,item,domain'];
  for (let q = 0; q < rows.length; q++) {
    const r = rows[q];
    out.push(`${v.users.id(t.user[r])},${v.items(t.domain[r]).id(t.item[r])},${v.domains.id(t.domain[r])}`);
  }
  return `${out.join('\n')}\n`;
}
const all = Array.from({ length: train.length }, (_, r) => r);
function split(fraction: number, seed: number): { keep: number[]; held: number[] } {
  const rng = new Rng(seed);
  const keep: number[] = [];
  const held: number[] = [];
  for (const r of all) (rng.next() < fraction ? held : keep).push(r);
  return { keep, held };
}
/** Test users and their relevant items (ids) per target domain. */
const testUsers = new Map<string, Map<string, Set<string>>>();
for (let r = 0; r < test0.length; r++) {
  const d = test0.vocab.domains.id(test0.domain[r]);
  const u = test0.vocab.users.id(test0.user[r]);
  const m = testUsers.get(d) ?? new Map<string, Set<string>>();
  testUsers.set(d, m);
  (m.get(u) ?? m.set(u, new Set()).get(u)!).add(test0.vocab.items(test0.domain[r]).id(test0.item[r]));
}

async function lists(m: Recommender, domain: string, users: string[]): Promise<Array<{ items: string[]; scores: Float32Array }>> {
  const b = await m.recommendBatch(users, { k: 10, domain, fallback: 'popularity' });
  return users.map((_, i) => b.get(i));
}
/** Lists compared for every test user: how many differ (items or scores). */
async function compare(a: Recommender, b: Recommender, gone: ReadonlySet<string> = new Set()): Promise<{ users: number; differ: number }> {
  let users = 0;
  let differ = 0;
  for (const [domain, m] of testUsers) {
    const us = [...m.keys()].filter((u) => !gone.has(u));
    const la = await lists(a, domain, us);
    const lb = await lists(b, domain, us);
    us.forEach((_, i) => {
      users++;
      const x = la[i];
      const y = lb[i];
      if (x.items.length !== y.items.length || x.items.some((it, t) => it !== y.items[t] || x.scores[t] !== y.scores[t])) differ++;
    });
  }
  return { users, differ };
}
async function ndcgs(m: Recommender): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [domain, rel] of testUsers) {
    const us = [...rel.keys()];
    const ls = await lists(m, domain, us);
    let s = 0;
    us.forEach((u, i) => {
      const r = rel.get(u)!;
      let dcg = 0;
      ls[i].items.forEach((it, t) => (dcg += r.has(it) ? 1 / Math.log2(t + 2) : 0));
      let idcg = 0;
      for (let t = 0; t < Math.min(10, r.size); t++) idcg += 1 / Math.log2(t + 2);
      s += dcg / idcg;
    });
    out[domain] = Number((s / us.length).toFixed(4));
  }
  return out;
}
async function overlap(a: Recommender, b: Recommender): Promise<number> {
  let s = 0;
  let n = 0;
  for (const [domain, rel] of testUsers) {
    const us = [...rel.keys()];
    const la = await lists(a, domain, us);
    const lb = await lists(b, domain, us);
    us.forEach((_, i) => {
      const B = new Set(lb[i].items);
      s += la[i].items.filter((x) => B.has(x)).length / 10;
      n++;
    });
  }
  return Number((s / n).toFixed(4));
}
/** A model fitted on rows `keep` (loaded on their own) and the rows `held` as a separate table; the union as the refit's data. */
async function parts(keep: number[], held: number[]) {
  const base = parseEvents(csv(train, keep), { label: 'base.csv' });
  const added = parseEvents(csv(train, held), { label: 'new.csv' });
  const base2 = parseEvents(csv(train, keep), { label: 'base.csv' });
  const union = concatTables([base2, parseEvents(csv(train, held), { label: 'new.csv', vocab: base2.vocab })], 'union');
  return { base, added, union };
}
async function fitOn(name: string, options: AnyModelOptions, events: EventTable, valid = false): Promise<{ m: Recommender; s: number }> {
  const m = createModel(name, { seed: 0, ...options });
  const t0 = performance.now();
  const ds = Dataset.fromEvents(events);
  const v = valid ? parseEvents(csv(valid0, Array.from({ length: valid0.length }, (_, r) => r)), { label: 'valid.csv', vocab: events.vocab }) : undefined;
  await m.fit(ds, { valid: v });
  return { m, s: (performance.now() - t0) / 1000 };
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const KNN: Array<[string, AnyModelOptions]> = [
  ['popularity', {}],
  ['itemknn', { neighbors: 50 }],
  ['userknn', { neighbors: 100 }],
  ['bridge', { variant: 'user', neighbors: 100 }],
  ['bridge', { variant: 'item', neighbors: 100 }],
];
const result: Record<string, unknown> = { data: DIR, loadBefore: load() };

// 1. Exactness of update (10%) and forget (20 users).
const exact: Record<string, unknown>[] = [];
{
  const s10 = split(0.1, 18);
  const p = await parts(s10.keep, s10.held);
  const rng = new Rng(7);
  const candidates = [...new Set([...testUsers.values()].flatMap((m) => [...m.keys()]))];
  const gone = new Set<string>();
  while (gone.size < 20) gone.add(candidates[rng.int(candidates.length)]);
  const goneRows = all.filter((r) => !gone.has(train.vocab.users.id(train.user[r])));
  const without = parseEvents(csv(train, goneRows), { label: 'without.csv' });
  for (const [name, o] of KNN) {
    const a = (await fitOn(name, o, p.base)).m;
    const up = await a.update(p.added);
    const b = (await fitOn(name, o, p.union)).m;
    const u = await compare(a, b);
    const full = (await fitOn(name, o, parseEvents(csv(train, all), { label: 'train.csv' }))).m;
    const times: number[] = [];
    for (const id of gone) times.push((await full.forget(id)).seconds * 1000);
    const ref = (await fitOn(name, o, without)).m;
    const f = await compare(full, ref, gone);
    exact.push({ model: name, options: o, update: { ...u, seconds: up.seconds }, forget: { ...f, msMedian: Number(median(times).toFixed(1)), msMax: Number(Math.max(...times).toFixed(1)) }, load: load() });
    console.error(JSON.stringify(exact[exact.length - 1]));
  }
}
result.exact = exact;

// 2. Cost: update with 1% vs refit on the union (medians of 3).
const cost: Record<string, unknown>[] = [];
{
  const s1 = split(0.01, 19);
  const p = await parts(s1.keep, s1.held);
  for (const [name, o] of [...KNN, ['mf', {}], ['emcdr', {}]] as Array<[string, AnyModelOptions]>) {
    const ups: number[] = [];
    const refits: number[] = [];
    for (let rep = 0; rep < 3; rep++) {
      const base = parseEvents(csv(train, s1.keep), { label: 'base.csv' });
      const a = (await fitOn(name, o, base)).m;
      const added = parseEvents(csv(train, s1.held), { label: 'new.csv' });
      const t0 = performance.now();
      await a.update(added);
      ups.push((performance.now() - t0) / 1000);
      refits.push((await fitOn(name, o, p.union)).s);
    }
    const row = { model: name, options: o, rows: s1.held.length, updateS: Number(median(ups).toFixed(4)), refitS: Number(median(refits).toFixed(4)), ratio: Number((median(ups) / median(refits)).toFixed(3)), load: load() };
    cost.push(row);
    console.error(JSON.stringify(row));
  }
}
result.cost = cost;

// 2b. What an exact item-kNN update cannot avoid: the rows of items whose column changed (their
// dot products and norms changed) found again. Their share of the similarity work (sum over a
// row's users of each user's item count) and the kernel's time for them against all rows.
{
  const s1 = split(0.01, 19);
  const p = await parts(s1.keep, s1.held);
  const ds = Dataset.fromEvents(p.union);
  const floor: Record<string, unknown>[] = [];
  for (let d = 0; d < ds.nDomains; d++) {
    const x = ds.matrix(d);
    const touched = new Set<number>();
    for (let r = 0; r < p.added.length; r++) {
      if (p.added.vocab.domains.id(p.added.domain[r]) !== p.union.vocab.domains.id(d)) continue;
      touched.add(p.union.vocab.items(d).get(p.added.vocab.items(p.added.domain[r]).id(p.added.item[r])));
    }
    const at = Uint32Array.from(touched).sort();
    const work = new Float64Array(x.nCols);
    let total = 0;
    for (let u = 0; u < x.nRows; u++) {
      const deg = x.indptr[u + 1] - x.indptr[u];
      for (let e = x.indptr[u]; e < x.indptr[u + 1]; e++) work[x.indices[e]] += deg;
      total += deg * deg;
    }
    const xt = transposeCsr(x);
    const norms = rowNorms(xt);
    const allMs: number[] = [];
    const touchedMs: number[] = [];
    for (let rep = 0; rep < 5; rep++) {
      let t = performance.now();
      cosineTopK('wasm', xt, x, norms, norms, 50, 0);
      allMs.push(performance.now() - t);
      t = performance.now();
      cosineTopK('wasm', pickRows(xt, at), x, Float32Array.from(at, (i) => norms[i]), norms, 50, 0);
      touchedMs.push(performance.now() - t);
    }
    floor.push({
      domain: p.union.vocab.domains.id(d),
      items: x.nCols,
      changedItems: at.length,
      workShare: Number((at.reduce((s, i) => s + work[i], 0) / total).toFixed(3)),
      kernelAllMs: Number(median(allMs).toFixed(1)),
      kernelChangedMs: Number(median(touchedMs).toFixed(1)),
    });
  }
  result.itemKnnFloor = { floor, refitS: (cost.find((c) => c.model === 'itemknn') as { refitS: number } | undefined)?.refitS, load: load() };
  console.error(JSON.stringify(result.itemKnnFloor));
}

// 3. Factor drift: 10% added in 5 steps.
if (!has('skip-factors')) {
  const drift: Record<string, unknown>[] = [];
  const s10 = split(0.1, 20);
  for (const [name, o] of [['mf', {}], ['emcdr', {}]] as Array<[string, AnyModelOptions]>) {
    const base = parseEvents(csv(train, s10.keep), { label: 'base.csv' });
    const a = (await fitOn(name, o, base, true)).m;
    const steps: Record<string, unknown>[] = [{ step: 0, updated: await ndcgs(a), refit: await ndcgs(a) }];
    for (let step = 1; step <= 5; step++) {
      const chunk = s10.held.filter((_, q) => q % 5 === step - 1);
      const up = await a.update(parseEvents(csv(train, chunk), { label: `step${step}.csv` }));
      const upto = s10.held.filter((_, q) => q % 5 < step);
      const p = await parts(s10.keep, upto);
      const b = (await fitOn(name, o, p.union, true)).m;
      steps.push({ step, rows: upto.length, updateS: Number(up.seconds.toFixed(3)), updated: await ndcgs(a), refit: await ndcgs(b), overlap: await overlap(a, b), load: load() });
      console.error(JSON.stringify({ model: name, ...steps[steps.length - 1] }));
    }
    drift.push({ model: name, steps });
  }
  result.drift = drift;
}

// 4. Fused: update with 10% vs refit on all.
if (!has('skip-fused')) {
  const s10 = split(0.1, 18);
  const p = await parts(s10.keep, s10.held);
  const a = await fitOn('migrec', {}, p.base, true);
  const up = await a.m.update(p.added);
  const b = await fitOn('migrec', {}, p.union, true);
  result.fused = { fitS: Number(a.s.toFixed(2)), updateS: Number(up.seconds.toFixed(2)), refitS: Number(b.s.toFixed(2)), updated: await ndcgs(a.m), refit: await ndcgs(b.m), overlap: await overlap(a.m, b.m), load: load() };
  console.error(JSON.stringify(result.fused));
}
result.loadAfter = load();
console.log(JSON.stringify(result, null, 1));
process.exit(0);
