/**
 * Live models (issue 18): `update(events)` of popularity, item kNN, user kNN and the bridge gives
 * the same lists, score for score, as a fit on the union of old and new rows; `forget(user)` the
 * same as a fit without the user's rows, and the saved file no longer holds the user's id.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { concatTables, createModel, Dataset, generateTwoDomain, loadModel, parseEvents, type AnyModelOptions, type EventTable } from '../src/index.js';
import { tempFiles } from './helpers/data.js';
import { compareLists, splitRows, tableCsv } from './helpers/live.js';

/** Seeded two-domain rows with fractional weights (so float32 sums are exercised) and repeated pairs. */
function fixture(): EventTable {
  const { events } = generateTwoDomain({ events: 6000, users: 500, items: 150, seed: 3 });
  const w = events.weight.slice();
  for (let r = 0; r < w.length; r++) w[r] = Math.fround(w[r] * (1 + (r % 7) / 10));
  return { ...events, weight: w };
}

const MODELS: Array<[string, AnyModelOptions]> = [
  ['popularity', {}],
  ['itemknn', { neighbors: 10 }],
  ['itemknn', { neighbors: 10, shrink: 5 }],
  ['itemknn', { neighbors: 10, weighting: 'bm25' }],
  ['userknn', { neighbors: 15 }],
  ['bridge', { variant: 'user', neighbors: 30, exponent: 2, idf: true }],
  ['bridge', { variant: 'item', neighbors: 20, asymmetry: 0.8, shrink: 2, exponent: 2 }],
  ['bridge', { variant: 'item', neighbors: 20 }],
  ['bridge', { variant: 'item', neighbors: 20, idf: true }],
];

const full = fixture();
const rows = Array.from({ length: full.length }, (_, r) => r);

describe.each(['js', 'wasm'] as const)('live kNN models, %s kernels', (backend) => {
  it.each(MODELS)('%s %j: update with 10%% of the rows (new users and items too) equals a refit on the union', async (name, options) => {
    const { keep, held } = splitRows(full.length, 0.1, 11);
    const base = parseEvents(tableCsv(full, keep), { label: 'base.csv' });
    const added = parseEvents(tableCsv(full, held), { label: 'new.csv' });
    const model = createModel(name, { ...options, backend });
    await model.fit(Dataset.fromEvents(base));
    const report = await model.update(added);
    expect(report.rows).toBe(held.length);
    expect(report.newUsers + report.newItems).toBeGreaterThan(0);
    // The refit: the same rows over the model's numbering (old ids, then the new ones as a load adds them).
    const base2 = parseEvents(tableCsv(full, keep), { label: 'base.csv' });
    const union = concatTables([base2, parseEvents(tableCsv(full, held), { label: 'new.csv', vocab: base2.vocab })], 'union');
    const refit = createModel(name, { ...options, backend });
    await refit.fit(Dataset.fromEvents(union));
    const users = union.vocab.users.list();
    for (const domain of ['books', 'music']) {
      const r = await compareLists(model, refit, users, domain);
      expect(r.differ, `${domain}: ${r.first}`).toBe(0);
    }
  });

  it.each(MODELS)('%s %j: forget of 5 users equals a fit without their rows; their ids leave the file', async (name, options) => {
    const files = tempFiles('migrec-live-');
    try {
      const data = parseEvents(tableCsv(full, rows), { label: 'all.csv' });
      const model = createModel(name, { ...options, backend });
      await model.fit(Dataset.fromEvents(data));
      // Users whose id is no part of another id, so its bytes can only come from that user.
      const ids = data.vocab.users.list();
      const gone = ids.filter((id, q) => q % 97 === 5 && !ids.some((o) => o !== id && o.includes(id))).slice(0, 5);
      expect(gone.length).toBe(5);
      for (const id of gone) await model.forget(id);
      const path = files.file('model.migrec', '');
      await model.save(path);
      const bytes = readFileSync(path);
      for (const id of gone) expect(bytes.includes(Buffer.from(id)), id).toBe(false);
      const left = rows.filter((r) => !gone.includes(data.vocab.users.id(data.user[r])));
      const refit = createModel(name, { ...options, backend });
      await refit.fit(Dataset.fromEvents(parseEvents(tableCsv(full, left), { label: 'left.csv' })));
      const loaded = await loadModel(path, { backend });
      const users = ids.filter((id) => !gone.includes(id));
      for (const domain of ['books', 'music']) {
        const r = await compareLists(model, refit, users, domain);
        expect(r.differ, `${domain}: ${r.first}`).toBe(0);
        const l = await compareLists(loaded, refit, users, domain);
        expect(l.differ, `${domain} (loaded): ${l.first}`).toBe(0);
      }
      for (const id of gone) expect(model.hasUser(id)).toBe(false);
    } finally {
      files.remove();
    }
  });
});

describe('live kNN models with unit weights (many tied scores)', () => {
  const ones = { ...full, weight: new Float32Array(full.length).fill(1) };
  it.each([
    ['itemknn', { neighbors: 10 }],
    ['userknn', { neighbors: 15 }],
    ['bridge', { variant: 'item', neighbors: 20 }],
  ] as Array<[string, AnyModelOptions]>)('%s %j: update then forget equal refits, ties broken alike', async (name, options) => {
    const { keep, held } = splitRows(ones.length, 0.05, 12);
    const model = createModel(name, options);
    await model.fit(Dataset.fromEvents(parseEvents(tableCsv(ones, keep), { label: 'base.csv' })));
    await model.update(parseEvents(tableCsv(ones, held), { label: 'new.csv' }));
    const base2 = parseEvents(tableCsv(ones, keep), { label: 'base.csv' });
    const union = concatTables([base2, parseEvents(tableCsv(ones, held), { label: 'new.csv', vocab: base2.vocab })], 'union');
    const gone = union.vocab.users.list().filter((_, q) => q % 89 === 3).slice(0, 3);
    for (const id of gone) await model.forget(id);
    const left = Array.from({ length: union.length }, (_, r) => r).filter((r) => !gone.includes(union.vocab.users.id(union.user[r])));
    // The refit numbers ids as the model does: the base's, then the added ones, without the forgotten.
    let vocab = union.vocab;
    for (const id of gone) vocab = vocab.withoutUser(vocab.users.find(id));
    const refit = createModel(name, options);
    await refit.fit(Dataset.fromEvents(parseEvents(tableCsv(union, left), { label: 'left.csv', vocab })));
    const users = union.vocab.users.list().filter((id) => !gone.includes(id));
    for (const domain of ['books', 'music']) {
      const r = await compareLists(model, refit, users, domain);
      expect(r.differ, `${domain}: ${r.first}`).toBe(0);
    }
  });
});
