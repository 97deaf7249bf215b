/**
 * Item kNN's `targets`: neighbour lists are built only for those domains; the others cannot be
 * scored (a typed error, never empty lists). The fused model passes its targets, so it no longer
 * builds, saves and loads item lists of domains it never scores.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { concatTables, Dataset, generateTwoDomain, ItemKnn, MigrationRecommender, ModelFormatError, parseEvents, UnknownIdError } from '../src/index.js';
import { importNeighbours, type ItemKnnScorer } from '../src/models/itemknn.js';
import { compareLists, splitRows, tableCsv } from './helpers/live.js';

const { events } = generateTwoDomain({ events: 20_000, users: 1500, items: 400, seed: 12 });
const data = Dataset.fromEvents(events);
const users = Array.from({ length: 80 }, (_, i) => `u${i * 7}`);
const dir = mkdtempSync(join(tmpdir(), 'migrec-itemknn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lists = async (m: ItemKnn, domain: string) => [...(await m.recommendBatch(users, { k: 10, domain }))].map((r) => [r.items, r.scores]);

describe('itemknn targets', () => {
  it('builds lists for the targets only: the same lists there, a typed error elsewhere, also after a save and load', async () => {
    const all = new ItemKnn({ neighbors: 20 });
    await all.fit(data);
    const music = new ItemKnn({ neighbors: 20, targets: ['music'] });
    await music.fit(data);
    expect(await lists(music, 'music')).toEqual(await lists(all, 'music'));
    const books = (m: ItemKnn) => [
      () => m.recommendBatch(users, { k: 10, domain: 'books' }),
      () => m.recommend(users[0], { k: 10, domain: 'books' }),
      () => m.similarItems(data.vocab.items(data.vocab.domains.get('books')).id(0), { domain: 'books' }),
      () => m.neighborMatrix('books'),
    ];
    for (const call of books(music)) await expect(async () => call()).rejects.toThrow(UnknownIdError);
    await expect(async () => music.neighborMatrix('books')).rejects.toThrow(/item kNN was not fitted for this domain/);
    const pathAll = join(dir, 'all.migrec');
    const pathMusic = join(dir, 'music.migrec');
    await all.save(pathAll);
    await music.save(pathMusic);
    expect(statSync(pathMusic).size).toBeLessThan(statSync(pathAll).size);
    const back = await ItemKnn.load(pathMusic);
    expect(await lists(back, 'music')).toEqual(await lists(all, 'music'));
    for (const call of books(back)) await expect(async () => call()).rejects.toThrow(UnknownIdError);
    // A model over every domain saves no list of fitted domains: its file is as before.
    expect((await ItemKnn.load(pathAll)).neighborMatrix('books').nRows).toBe(data.nItems(data.vocab.domains.get('books')));
    await expect(async () => {
      const bad = new ItemKnn({ targets: ['films'] });
      await bad.fit(data);
    }).rejects.toThrow(/films/);
  });

  it('an update keeps the left-out domain without lists and equals a refit in the target', async () => {
    const { keep, held } = splitRows(events.length, 0.1, 4);
    const base = parseEvents(tableCsv(events, keep), { label: 'base.csv' });
    const model = new ItemKnn({ neighbors: 15, targets: ['music'] });
    await model.fit(Dataset.fromEvents(base));
    await model.update(parseEvents(tableCsv(events, held), { label: 'new.csv' }));
    const base2 = parseEvents(tableCsv(events, keep), { label: 'base.csv' });
    const union = concatTables([base2, parseEvents(tableCsv(events, held), { label: 'new.csv', vocab: base2.vocab })], 'union');
    const refit = new ItemKnn({ neighbors: 15, targets: ['music'] });
    await refit.fit(Dataset.fromEvents(union));
    const r = await compareLists(model, refit, union.vocab.users.list(), 'music');
    expect(r.differ, r.first).toBe(0);
    expect(() => model.neighborMatrix('books')).toThrow(UnknownIdError);
  });

  it('refuses a malformed list of fitted domains', () => {
    const ok = { indptr: new Uint32Array(3), indices: new Uint32Array(0), data: new Float32Array(0) };
    const sections = { 'nb.0.indptr': ok.indptr, 'nb.0.indices': ok.indices, 'nb.0.data': ok.data, 'nb.1.indptr': ok.indptr, 'nb.1.indices': ok.indices, 'nb.1.data': ok.data };
    for (const fitted of [[1, 0], [0, 0], [2], [-1], 'all', [0.5]]) {
      expect(() => importNeighbours([2, 2], 5, { domains: 2, fitted }, sections, 'm.migrec', 'nb'), JSON.stringify(fitted)).toThrow(ModelFormatError);
    }
    expect(importNeighbours([2, 2], 5, { domains: 2, fitted: [1] }, sections, 'm.migrec', 'nb').map((m) => m === undefined)).toEqual([true, false]);
  });

  it('the fused model builds item kNN lists for its target only', async () => {
    const fused = new MigrationRecommender({ target: 'music', components: ['popularity', 'itemknn'], holdoutUsers: 0 });
    await fused.fit(data);
    const comp = (fused as unknown as { state: { scorer: { components: Array<{ name: string; scorer: ItemKnnScorer }> } } }).state.scorer.components.find((c) => c.name === 'itemknn')!;
    expect(comp.scorer.neighbours[data.vocab.domains.get('books')]).toBeUndefined();
    expect(comp.scorer.neighbours[data.vocab.domains.get('music')]?.nRows).toBe(data.nItems(data.vocab.domains.get('music')));
    const musicItem = data.vocab.items(data.vocab.domains.get('music')).id(3);
    expect(fused.similarItems(musicItem, { domain: 'music', k: 3 }).items.length).toBe(3);
    expect(() => fused.similarItems(data.vocab.items(data.vocab.domains.get('books')).id(3), { domain: 'books', k: 3 })).toThrow(UnknownIdError);
  });
});
