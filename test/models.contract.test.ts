import { Bridge, Emcdr, ItemKnn, MigrationRecommender, Mf, Popularity, Ptupcdr, UserKnn, type ModelOptions } from '../src/index.js';
import { runContractSuite } from './helpers/contract.js';
import { checkerboard, twoDomains } from './helpers/fixtures.js';

const board = checkerboard();
const boardUsers = Array.from({ length: 40 }, (_, u) => `u${u}`);
const two = twoDomains();

runContractSuite({
  title: 'popularity',
  make: (o) => new Popularity(o),
  load: (p, o) => Popularity.load(p, o),
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
});

for (const variant of ['user', 'item'] as const) {
  runContractSuite({
    title: `bridge (${variant} variant)`,
    make: (o) => new Bridge({ ...o, variant, neighbors: 10 }),
    load: (p, o) => Bridge.load(p, o),
    data: () => two.data,
    domain: 'tgt',
    users: ['cold-a', 'cold-b', 'a1', 'b2'],
    top1: (u) => (u === 'cold-a' ? 't0' : u === 'cold-b' ? 't1' : u.startsWith('a') ? 't4' : 't5'),
    foldIn: { events: [{ item: 's0', domain: 'src' }, { item: 's2', domain: 'src' }], top1: 't0' },
  });
}

runContractSuite({
  title: 'migrec (fused)',
  make: (o) => new MigrationRecommender({ ...o, target: 'tgt' }),
  load: (p, o) => MigrationRecommender.load(p, o),
  data: () => two.data,
  domain: 'tgt',
  users: ['cold-a', 'cold-b', 'a1', 'b2'],
  top1: (u) => (u === 'cold-a' ? 't0' : u === 'cold-b' ? 't1' : u.startsWith('a') ? 't4' : 't5'),
  foldIn: { events: [{ item: 's0', domain: 'src' }, { item: 's2', domain: 'src' }], top1: 't0' },
});

// Transfer models: no hand-predictable top-1 on a fixture this small, the rest of the contract holds.
for (const [title, make, load] of [
  ['mf', (o: ModelOptions) => new Mf({ ...o, factors: 8, iterations: 3 }), (p: string, o?: ModelOptions) => Mf.load(p, o)],
  ['emcdr', (o: ModelOptions) => new Emcdr({ ...o, factors: 8, iterations: 3 }), (p: string, o?: ModelOptions) => Emcdr.load(p, o)],
  ['ptupcdr', (o: ModelOptions) => new Ptupcdr({ ...o, factors: 8, iterations: 3, epochs: 2 }), (p: string, o?: ModelOptions) => Ptupcdr.load(p, o)],
] as const) {
  runContractSuite({
    title,
    make,
    load,
    data: () => two.data,
    domain: 'tgt',
    users: ['cold-a', 'cold-b', 'a1', 'b2'],
    foldIn: { events: [{ item: 's0', domain: 'src' }, { item: 's2', domain: 'src' }] },
  });
}
