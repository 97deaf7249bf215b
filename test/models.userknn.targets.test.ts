/**
 * User kNN's `targets`: training users' neighbour lists are found at fit time (and saved) only for
 * those domains; users of the others are searched at query time, with the same lists. The fused
 * model passes its targets, so it no longer finds (and saves) lists of domains it never scores.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Dataset, generateTwoDomain, MigrationRecommender, UserKnn } from '../src/index.js';
import type { UserKnnScorer } from '../src/models/userknn.js';

const data = Dataset.fromEvents(generateTwoDomain({ events: 20_000, users: 1500, items: 400, seed: 11 }).events);
const users = Array.from({ length: 60 }, (_, i) => `u${i * 7}`);
const dir = mkdtempSync(join(tmpdir(), 'migrec-userknn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const lists = async (m: UserKnn, domain: string) => [...(await m.recommendBatch(users, { k: 10, domain }))].map((r) => [r.items, r.scores]);
const tables = (m: unknown) => ((m as unknown as { state: { scorer: UserKnnScorer } }).state.scorer.known.map((t) => t.nRows));

describe('userknn targets', () => {
  it('finds fit-time lists only for the targets, and gives the same lists in every domain', async () => {
    const all = new UserKnn({ neighbors: 20 });
    await all.fit(data);
    const music = new UserKnn({ neighbors: 20, targets: ['music'] });
    await music.fit(data);
    const books = data.vocab.domains.get('books');
    const m = data.vocab.domains.get('music');
    expect(tables(music)[books]).toBe(0);
    expect(tables(music)[m]).toBe(data.nUsers);
    for (const d of ['music', 'books']) expect(await lists(music, d)).toEqual(await lists(all, d));
    // Saved and loaded: still the same lists, and the empty table stays empty.
    const path = join(dir, 'u.migrec');
    await music.save(path);
    const back = await UserKnn.load(path);
    expect(tables(back)[books]).toBe(0);
    for (const d of ['music', 'books']) expect(await lists(back, d)).toEqual(await lists(all, d));
    await expect(async () => {
      const bad = new UserKnn({ targets: ['films'] });
      await bad.fit(data);
    }).rejects.toThrow(/films/);
  });

  it('the fused model finds user kNN lists for its target only', async () => {
    const fused = new MigrationRecommender({ target: 'music', components: ['popularity', 'userknn'], holdoutUsers: 0 });
    await fused.fit(data);
    const comp = (fused as unknown as { state: { scorer: { components: Array<{ name: string; scorer: UserKnnScorer }> } } }).state.scorer.components.find((c) => c.name === 'userknn')!;
    expect(comp.scorer.known[data.vocab.domains.get('books')].nRows).toBe(0);
    expect(comp.scorer.known[data.vocab.domains.get('music')].nRows).toBe(data.nUsers);
  });
});
