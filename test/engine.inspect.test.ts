/**
 * The read-only views a service shows: a user's rows per domain (training + folded-in behaviour),
 * user search by prefix, the model's sizes, and the fit record kept in the model file.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ItemKnn, loadModel, ModelFormatError, parseEvents, UnknownIdError } from '../src/index.js';
import { readModelFile, writeModelFile } from '../src/io/modelfile.js';
import { caught, tempFiles } from './helpers/data.js';

const tmp = tempFiles('migrec-inspect-');
afterAll(() => tmp.remove());

async function fitted(): Promise<ItemKnn> {
  // Fresh events per model: foldIn adds users to the vocabulary the events share with it.
  const events = parseEvents('user,item,domain,weight\nu1,a,books,1\nu1,b,books,3\nu1,x,music,2\nu2,a,books,1\nu10,b,books,1\nu2,x,music,1\n', { label: 'inspect.csv' });
  const m = new ItemKnn({ domain: 'books' });
  await m.fit(events);
  return m;
}

describe('inspection views', () => {
  it('userEvents: rows per domain, strongest first, with folded-in behaviour merged', async () => {
    const m = await fitted();
    expect(m.userEvents('u1').map((d) => [d.domain, d.items, Array.from(d.weights)])).toEqual([
      ['books', ['b', 'a'], [3, 1]],
      ['music', ['x'], [2]],
    ]);
    m.foldIn('u1', [{ item: 'a', weight: 4 }]);
    m.foldIn('newbie', [{ item: 'x', domain: 'music', weight: 1 }]);
    expect(m.userEvents('u1')[0].items).toEqual(['a', 'b']);
    expect(Array.from(m.userEvents('u1')[0].weights)).toEqual([5, 3]);
    expect(m.userEvents('newbie').map((d) => d.domain)).toEqual(['music']);
    const e = await caught(() => m.userEvents('ghost'));
    expect(e).toBeInstanceOf(UnknownIdError);
    expect(e.message).toBe('unknown user "ghost": not in the training data (pass fallback: "popularity" to recommend popular items)');
  });

  it('findUsers: known ids by prefix in natural order, limited; summary counts', async () => {
    const m = await fitted();
    m.foldIn('u3', [{ item: 'a' }]);
    expect(m.findUsers('u')).toEqual(['u1', 'u2', 'u3', 'u10']);
    expect(m.findUsers('u', 2)).toEqual(['u1', 'u2']);
    expect(m.findUsers('zz')).toEqual([]);
    expect(() => m.findUsers('u', 0)).toThrow('options.limit must be a positive integer (got 0)');
    expect(m.summary()).toEqual({
      model: 'itemknn',
      users: 4,
      trainingUsers: 3,
      domains: [
        { name: 'books', items: 2, rows: 4 },
        { name: 'music', items: 1, rows: 2 },
      ],
      defaultDomain: 'books',
    });
  });

  it('the fit record (date and seconds) survives save and load; a malformed one is a ModelFormatError', async () => {
    const m = await fitted();
    const before = m.fitReport();
    expect(Date.parse(before.fittedAt!)).toBeGreaterThan(Date.now() - 60_000);
    const path = join(tmp.dir, 'knn.migrec');
    await m.save(path);
    const back = await loadModel(path);
    const after = back.fitReport();
    expect([after.fittedAt, after.seconds]).toEqual([before.fittedAt, before.seconds]);
    const content = await readModelFile(path);
    const bad = join(tmp.dir, 'bad-fit.migrec');
    await writeModelFile(bad, { ...content, meta: { ...content.meta, fit: { at: 'yesterday', seconds: {} } } });
    const e = await caught(() => loadModel(bad));
    expect(e).toBeInstanceOf(ModelFormatError);
    expect(e.message).toBe(`${bad}: manifest meta.fit: expected { at: an ISO date, seconds }`);
    await writeModelFile(bad, { ...content, meta: { ...content.meta, fit: { at: before.fittedAt, seconds: { total: -1 } } } });
    expect((await caught(() => loadModel(bad))).message).toBe(`${bad}: manifest meta.fit.seconds.total is not a number of seconds`);
  });
});
