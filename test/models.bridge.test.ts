import { describe, expect, it } from 'vitest';
import { Bridge, Dataset, parseEvents } from '../src/index.js';
import { twoDomains } from './helpers/fixtures.js';

describe('bridge item variant with IDF user weighting', () => {
  // Source item s0 meets target t0 through two light users and t1 through three heavy users (each
  // with twenty more target items). Plain cosine prefers t1 (more shared users); with IDF the heavy
  // users count for little and t0 wins.
  let text = 'user,item,domain\n';
  for (const u of ['l0', 'l1']) text += `${u},s0,src\n${u},t0,tgt\n`;
  for (const u of ['h0', 'h1', 'h2']) {
    text += `${u},s0,src\n${u},t1,tgt\n`;
    for (let x = 0; x < 20; x++) text += `${u},x${x},tgt\n`;
  }
  text += 'cold,s0,src\n';
  const data = Dataset.fromEvents(parseEvents(text));

  it('idf: false ranks by shared users, idf: true discounts heavy users', async () => {
    const plain = new Bridge({ variant: 'item', idf: false, neighbors: 50 });
    const idf = new Bridge({ variant: 'item', idf: true, neighbors: 50 });
    await plain.fit(data);
    await idf.fit(data);
    expect(plain.recommend('cold', { domain: 'tgt', k: 1 }).items).toEqual(['t1']);
    expect(idf.recommend('cold', { domain: 'tgt', k: 1 }).items).toEqual(['t0']);
    expect(idf.fitReport().choices.tgt).toMatchObject({ variant: 'item', idf: true });
  });
});

describe('bridge neighbour count with validation data', () => {
  it('a given neighbors is the only candidate; without it the grid is searched', async () => {
    const { events, data } = twoDomains();
    const valid = parseEvents('user,item,domain\ncold-a,t0,tgt\ncold-b,t1,tgt\n', { vocab: events.vocab, label: 'valid.csv' });
    const fixed = new Bridge({ variant: 'user', neighbors: 3 });
    await fixed.fit(data, { valid });
    expect((fixed.fitReport().choices.tgt as { neighbors: number }).neighbors).toBe(3);
    expect(Object.keys((fixed.fitReport().choices.tgt as { validation?: object }).validation ?? {}).every((k) => k.startsWith('user k=3 '))).toBe(true);
    const searched = new Bridge({ variant: 'user' });
    await searched.fit(data, { valid });
    expect(new Set(Object.keys((searched.fitReport().choices.tgt as { validation?: object }).validation ?? {}).map((k) => k.split(' ')[1]))).toEqual(
      new Set(['k=25', 'k=50', 'k=100', 'k=200', 'k=400', 'k=800']),
    );
  });
});
