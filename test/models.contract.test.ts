import { describe, expect, it } from 'vitest';
import {
  availableModels,
  Bridge,
  createModel,
  Emcdr,
  ItemKnn,
  MigrationRecommender,
  Mf,
  MODEL_NAMES,
  Popularity,
  Ptupcdr,
  RandomModel,
  UserKnn,
  type Capabilities,
  type Dataset,
  type ModelOptions,
} from '../src/index.js';
import { contractRuns, runContractSuite } from './helpers/contract.js';
import { checkerboard, twoDomains } from './helpers/fixtures.js';

const board = checkerboard();
const boardUsers = Array.from({ length: 40 }, (_, u) => `u${u}`);
const two = twoDomains();
/** Checkerboard: users and items of the same parity belong together. */
const sameParity = (a: string, b: string) => Number(a.slice(1)) % 2 === Number(b.slice(1)) % 2;
/** twoDomains: a group-A user cold in the target gets t0, group B t1; a1 (has t0, t2) gets t4, b2 (has t1, t3) t5. */
const twoTop1 = (u: string) => (u === 'cold-a' ? 't0' : u === 'cold-b' ? 't1' : u.startsWith('a') ? 't4' : 't5');
const twoUsers = ['cold-a', 'cold-b', 'a1', 'b2'];
const twoFoldIn = { events: [{ item: 's0', domain: 'src' }, { item: 's2', domain: 'src' }] };

/** The user's most popular unseen item of the domain (sum of weights), ties to the lower item index. */
function mostPopularUnseen(data: Dataset, domain: string, user: string): string {
  const d = data.vocab.domainIndex(domain);
  const m = data.matrix(d);
  const pop = new Float64Array(data.nItems(d));
  for (let t = 0; t < m.indices.length; t++) pop[m.indices[t]] += m.data[t];
  const u = data.vocab.users.get(user);
  const seen = new Set(m.indices.subarray(m.indptr[u], m.indptr[u + 1]));
  let best = -1;
  for (let i = 0; i < pop.length; i++) if (!seen.has(i) && (best < 0 || pop[i] > pop[best])) best = i;
  return data.vocab.items(d).id(best);
}

runContractSuite({
  title: 'popularity',
  make: (o) => new Popularity(o),
  load: (p, o) => Popularity.load(p, o),
  data: () => board.data,
  domain: 'shop',
  users: boardUsers,
  top1: (u) => mostPopularUnseen(board.data, 'shop', u),
  foldIn: { events: [{ item: 'i0' }] },
});

runContractSuite({
  title: 'random',
  make: (o) => new RandomModel(o),
  load: (p, o) => RandomModel.load(p, o),
  data: () => board.data,
  domain: 'shop',
  users: boardUsers,
  foldIn: { events: [{ item: 'i0' }] },
});

runContractSuite({
  title: 'itemknn',
  make: (o) => new ItemKnn({ ...o, neighbors: 50 }),
  load: (p, o) => ItemKnn.load(p, o),
  data: () => board.data,
  domain: 'shop',
  users: boardUsers,
  top1: (u) => board.heldOut(Number(u.slice(1))),
  foldIn: { events: [{ item: 'i0' }, { item: 'i2' }], top1: 'i4' },
  similarItem: sameParity,
});

runContractSuite({
  title: 'userknn',
  make: (o) => new UserKnn({ ...o, neighbors: 10 }),
  load: (p, o) => UserKnn.load(p, o),
  data: () => board.data,
  domain: 'shop',
  users: boardUsers,
  top1: (u) => board.heldOut(Number(u.slice(1))),
  foldIn: { events: [{ item: 'i1' }, { item: 'i3' }] },
  similarUser: sameParity,
});

runContractSuite({
  title: 'mf',
  make: (o) => new Mf({ ...o, factors: 8, iterations: 10 }),
  load: (p, o) => Mf.load(p, o),
  data: () => board.data,
  domain: 'shop',
  users: boardUsers,
  top1: (u) => board.heldOut(Number(u.slice(1))),
  foldIn: { events: [{ item: 'i0' }, { item: 'i2' }] },
});

for (const variant of ['user', 'item'] as const) {
  runContractSuite({
    title: `bridge (${variant} variant)`,
    make: (o) => new Bridge({ ...o, variant, neighbors: 10 }),
    load: (p, o) => Bridge.load(p, o),
    data: () => two.data,
    domain: 'tgt',
    users: twoUsers,
    top1: twoTop1,
    foldIn: { ...twoFoldIn, top1: 't0' },
  });
}

runContractSuite({
  title: 'migrec (fused)',
  make: (o) => new MigrationRecommender({ ...o, target: 'tgt' }),
  load: (p, o) => MigrationRecommender.load(p, o),
  data: () => two.data,
  domain: 'tgt',
  users: twoUsers,
  top1: twoTop1,
  foldIn: { ...twoFoldIn, top1: 't0' },
});

for (const [title, make, load] of [
  ['emcdr', (o: ModelOptions) => new Emcdr({ ...o, factors: 8, iterations: 3 }), (p: string, o?: ModelOptions) => Emcdr.load(p, o)],
  ['ptupcdr', (o: ModelOptions) => new Ptupcdr({ ...o, factors: 8, iterations: 3, epochs: 2 }), (p: string, o?: ModelOptions) => Ptupcdr.load(p, o)],
] as const) {
  runContractSuite({ title, make, load, data: () => two.data, domain: 'tgt', users: twoUsers, top1: twoTop1, foldIn: twoFoldIn });
}

/** What each model type declares (a capability silently dropped fails here, not only in its suite). */
const DECLARED: Record<string, Capabilities> = {
  popularity: { similarItems: false, similarUsers: false, explain: true },
  random: { similarItems: false, similarUsers: false, explain: false },
  itemknn: { similarItems: true, similarUsers: false, explain: true },
  userknn: { similarItems: false, similarUsers: true, explain: true },
  bridge: { similarItems: false, similarUsers: false, explain: true },
  mf: { similarItems: true, similarUsers: false, explain: true },
  emcdr: { similarItems: false, similarUsers: false, explain: true },
  ptupcdr: { similarItems: false, similarUsers: false, explain: true },
  migrec: { similarItems: true, similarUsers: false, explain: true },
};

describe('contract coverage', () => {
  const names = [...new Set<string>([...MODEL_NAMES, ...availableModels()])];

  it('every model type runs the contract', () => {
    const run = new Set(contractRuns().map((r) => r.model));
    const missing = names.filter((n) => !run.has(n));
    expect(missing, `no contract run for: ${missing.join(', ')}`).toEqual([]);
  });

  it('every model type that can rank has a predictable top-1 checked (all but random)', () => {
    const checked = new Set(contractRuns().filter((r) => r.top1).map((r) => r.model));
    const missing = names.filter((n) => n !== 'random' && !checked.has(n));
    expect(missing, `no top-1 check for: ${missing.join(', ')}`).toEqual([]);
  });

  it('each model type declares the capabilities it is known to have, in every run and from createModel', () => {
    expect(Object.keys(DECLARED).sort()).toEqual([...names].sort());
    for (const n of names) expect(createModel(n).capabilities, n).toEqual(DECLARED[n]);
    for (const r of contractRuns()) expect(r.capabilities, r.title).toEqual(DECLARED[r.model]);
  });
});
