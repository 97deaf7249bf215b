/**
 * Live models (issue 18): the factor models and the fused model re-solve or update their parts
 * (not a refit: their drift is measured in bench/live.ts), keep their file guarantees, and forget
 * users completely; bad input gives typed errors that say what and where.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createModel, Dataset, DataError, generateTwoDomain, loadModel, NotSupportedError, parseEvents, selectRows, UnknownIdError, type EventTable, type Recommender } from '../src/index.js';
import { caught, tempFiles } from './helpers/data.js';
import { compareLists, splitRows, tableCsv } from './helpers/live.js';

const { events: full } = generateTwoDomain({ events: 4000, users: 400, items: 120, seed: 5 });
// 10% of the rows, and every row of one user in 25 (users new to the model).
const random = splitRows(full.length, 0.1, 2);
const split = { keep: [] as number[], held: [] as number[] };
for (const r of [...random.keep, ...random.held].sort((a, b) => a - b)) {
  (random.held.includes(r) || full.user[r] % 25 === 0 ? split.held : split.keep).push(r);
}

/** A fitted model on 90% of the rows, and the other 10% as a separate table (new ids included). */
async function fitted(name: string, options: Record<string, unknown>): Promise<{ model: Recommender; added: EventTable }> {
  const base = parseEvents(tableCsv(full, split.keep), { label: 'base.csv' });
  const model = createModel(name, { seed: 1, ...options });
  await model.fit(Dataset.fromEvents(base));
  return { model, added: parseEvents(tableCsv(full, split.held), { label: 'new.csv' }) };
}

const FACTOR = { factors: 8, iterations: 3 };
const CASES: Array<[string, Record<string, unknown>]> = [
  ['mf', FACTOR],
  ['emcdr', { ...FACTOR, targets: ['music'] }],
  ['ptupcdr', { ...FACTOR, targets: ['music'], epochs: 2 }],
  ['migrec', { target: 'music', components: { emcdr: FACTOR, ptupcdr: false } }],
];

describe('live factor and fused models', () => {
  it.each(CASES)('%s: update serves new users and items, forget removes the user from memory and file, save/load keeps the lists', async (name, options) => {
    const files = tempFiles('migrec-live-models-');
    try {
      const { model, added } = await fitted(name, options);
      const newUser = added.vocab.users.list().find((id) => !model.hasUser(id))!;
      expect(newUser).toBeDefined();
      const r = await model.update(added);
      expect(r).toMatchObject({ operation: 'update', rows: added.length });
      expect(r.newUsers).toBeGreaterThan(0);
      expect(model.hasUser(newUser)).toBe(true);
      const list = model.recommend(newUser, { domain: 'music', k: 5 });
      expect(list.items.length).toBe(5);
      expect(list.scores.every((s) => Number.isFinite(s))).toBe(true);
      const gone = 'u137';
      const before = model.recommend('u1', { domain: 'music', k: 10 });
      await model.forget(gone);
      expect(model.hasUser(gone)).toBe(false);
      expect(model.recommend('u1', { domain: 'music', k: 10 }).items.length).toBe(before.items.length);
      const path = files.file('m.migrec', '');
      await model.save(path);
      expect(readFileSync(path).includes(Buffer.from(gone))).toBe(false);
      const loaded = await loadModel(path);
      const users = ['u1', 'u2', newUser, 'u300'];
      const cmp = await compareLists(model, loaded, users, 'music');
      expect(cmp.differ, cmp.first).toBe(0);
    } finally {
      files.remove();
    }
  }, 60_000);
});

describe('live model errors', () => {
  it('events of an unknown domain are a DataError naming file, line and the known domains; nothing changes', async () => {
    const { model } = await fitted('itemknn', {});
    const bad = parseEvents('user,item,domain\nu1,books:i1,books\nu2,x1,films\n', { label: 'new.csv' });
    const e = await caught(() => model.update(bad));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe('new.csv:3: domain "films" is not a domain of the model (it knows "books", "music"); a new domain needs a refit');
    expect(model.hasUser('u1')).toBe(true);
  });

  it('an empty table is a DataError; forgetting an unknown user an UnknownIdError; a model without live support a NotSupportedError', async () => {
    const { model } = await fitted('popularity', {});
    const e0 = await caught(() => model.update(selectRows(full, [], 'empty.csv')));
    expect(e0).toBeInstanceOf(DataError);
    expect(e0.message).toBe('empty.csv: no rows to update the model with');
    const e = await caught(() => model.forget('nobody'));
    expect(e).toBeInstanceOf(UnknownIdError);
    expect(e.message).toBe('unknown user "nobody": not in the model (nothing to forget)');
    const rnd = createModel('random', {});
    await rnd.fit(Dataset.fromEvents(full));
    const e2 = await caught(() => rnd.forget('u1'));
    expect(e2).toBeInstanceOf(NotSupportedError);
    expect(e2.message).toBe('random cannot be updated in place (refit it)');
  });
});
