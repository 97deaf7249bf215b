import { describe, expect, it } from 'vitest';
import { buildMatrix, coldStartSplit, Dataset, holdoutSplit, parseEvents, temporalSplit } from '../src/index.js';

const csv = 'user,item,weight,timestamp\nu2,i3,1,10\nu1,i2,2,20\nu2,i1,1,30\nu1,i2,3,40\nu2,i3,4,50\n';

describe('buildMatrix', () => {
  const t = parseEvents(csv);
  it('sorts rows by item and sums duplicates by default', () => {
    const m = buildMatrix(t, 0);
    expect(m.nRows).toBe(2);
    expect(m.nCols).toBe(3);
    expect(Array.from(m.indptr)).toEqual([0, 1, 3]);
    expect(Array.from(m.indices)).toEqual([1, 0, 2]);
    expect(Array.from(m.data)).toEqual([5, 1, 5]);
  });
  it('keeps the max or the last duplicate, or binary weights', () => {
    expect(Array.from(buildMatrix(t, 0, { duplicates: 'max' }).data)).toEqual([3, 1, 4]);
    expect(Array.from(buildMatrix(t, 0, { duplicates: 'last' }).data)).toEqual([3, 1, 4]);
    expect(Array.from(buildMatrix(parseEvents('user,item,weight\nu,i,5\nu,i,2\n'), 0, { duplicates: 'last' }).data)).toEqual([2]);
    expect(Array.from(buildMatrix(t, 0, { binary: true }).data)).toEqual([1, 1, 1]);
  });
  it('rejects an unknown policy', () => {
    expect(() => buildMatrix(t, 0, { duplicates: 'avg' as never })).toThrow('options.duplicates must be one of sum, max, last (got "avg")');
  });
  it('gives empty rows to users without rows in the domain', () => {
    const two = parseEvents('user,item,domain\na,x,d1\nb,y,d2\n');
    const m = buildMatrix(two, two.vocab.domainIndex('d2'));
    expect(Array.from(m.indptr)).toEqual([0, 0, 1]);
  });
});

describe('splits', () => {
  // 40 users in both domains, 10 only in s.
  let text = 'user,item,domain,timestamp\n';
  for (let u = 0; u < 50; u++) {
    for (let j = 0; j < 4; j++) text += `u${u},s${(u + j) % 7},s,${u * 10 + j}\n`;
    if (u < 40) for (let j = 0; j < 3; j++) text += `u${u},t${(u * 3 + j) % 11},t,${u * 10 + 5 + j}\n`;
  }
  const all = parseEvents(text);

  it('cold-start: test users lose every target row, keep their source rows; seeded', () => {
    const s = coldStartSplit(all, { source: 's', target: 't', beta: 0.25, validBeta: 0.1, seed: 3 });
    const t = all.vocab.domainIndex('t');
    const testUsers = new Set(Array.from(s.test.user));
    const validUsers = new Set(Array.from(s.valid.user));
    expect(testUsers.size).toBe(10);
    expect(validUsers.size).toBe(4);
    expect(s.test.length).toBe(30);
    for (let r = 0; r < s.train.length; r++) {
      if (s.train.domain[r] === t) expect(testUsers.has(s.train.user[r]) || validUsers.has(s.train.user[r])).toBe(false);
    }
    expect(s.train.length + s.valid.length + s.test.length).toBe(all.length);
    const again = coldStartSplit(all, { source: 's', target: 't', beta: 0.25, validBeta: 0.1, seed: 3 });
    expect(Array.from(again.test.user)).toEqual(Array.from(s.test.user));
    const other = coldStartSplit(all, { source: 's', target: 't', beta: 0.25, validBeta: 0.1, seed: 4 });
    expect(Array.from(other.test.user)).not.toEqual(Array.from(s.test.user));
  });

  it('cold-start: errors name the problem', () => {
    expect(() => coldStartSplit(all, { source: 's', target: 'x' })).toThrow('unknown domain "x" (known: "s", "t")');
    expect(() => coldStartSplit(all, { source: 's', target: 't', beta: 2 })).toThrow('options.beta must be a number in [0, 1] (got 2)');
    const noOverlap = parseEvents('user,item,domain\na,1,s\nb,2,t\n', { label: 'n.csv' });
    expect(() => coldStartSplit(noOverlap, { source: 's', target: 't' })).toThrow('n.csv: no user has rows in both "s" and "t"');
  });

  it('temporal: the latest row of each user is the test row', () => {
    const s = temporalSplit(all);
    expect(s.test.length).toBe(50);
    expect(s.valid.length).toBe(50);
    for (let r = 0; r < s.test.length; r++) {
      const u = s.test.user[r];
      for (let q = 0; q < s.train.length; q++) if (s.train.user[q] === u) expect(s.train.timestamp[q]).toBeLessThan(s.test.timestamp[r]);
    }
    expect(() => temporalSplit(parseEvents('user,item\na,b\n', { label: 'x.csv' }))).toThrow('x.csv:2: a temporal split needs a timestamp on every row');
  });

  it('holdout: about the fraction per user, every user keeps training rows, seeded', () => {
    const s = holdoutSplit(all, { testFraction: 0.25, seed: 1 });
    expect(s.test.length).toBe(40 * 2 + 10 * 1); // round(0.25 * 7) = 2 for users in both domains, round(0.25 * 4) = 1 for the others
    expect(s.train.length + s.test.length).toBe(all.length);
    expect(Array.from(holdoutSplit(all, { testFraction: 0.25, seed: 1 }).test.item)).toEqual(Array.from(s.test.item));
  });

  it('Dataset freezes sizes: ids added later are unknown to training', () => {
    const tr = parseEvents('user,item\na,1\nb,2\n');
    const d = Dataset.fromEvents(tr);
    tr.vocab.users.intern('c');
    tr.vocab.items(0).intern('3');
    expect(d.nUsers).toBe(2);
    expect(d.nItems(0)).toBe(2);
    expect(d.userRowCount(2, 0)).toBe(0);
  });

  it('Dataset.subset keeps the sizes frozen at creation, not the vocabularies grown since', () => {
    const tr = parseEvents('user,item\na,1\nb,2\na,2\n');
    const d = Dataset.fromEvents(tr);
    // As a validation or test file loaded against the training vocabularies does.
    tr.vocab.users.intern('c');
    tr.vocab.items(0).intern('3');
    const sub = d.subset([0, 1]);
    expect(sub.nUsers).toBe(2);
    expect(sub.nItems(0)).toBe(2);
    expect([sub.matrix(0).nRows, sub.matrix(0).nCols]).toEqual([2, 2]);
    expect(sub.matrix(0).indices.length).toBe(2);
  });

  it('Dataset.without drops whole (user, item) pairs: the matrices and rows subset builds from the rest; untouched domains keep their matrix', () => {
    // Duplicates of one pair (summed), two domains, a user with every row of a domain dropped.
    const tr = parseEvents('user,item,domain,weight\na,1,x,1\nb,2,x,2\na,2,x,3\na,1,x,4\nc,1,x,5\nb,9,y,6\nc,2,x,7\na,9,y,8\n');
    const d = Dataset.fromEvents(tr);
    const x = tr.vocab.domains.get('x');
    const y = tr.vocab.domains.get('y');
    const [a, b, c] = ['a', 'b', 'c'].map((u) => tr.vocab.users.get(u));
    const item = (id: string) => tr.vocab.items(x).get(id);
    const held = new Map([[x, new Map([[a, new Set([item('1')])], [c, new Set([item('1'), item('2')])]])]]);
    const keep = [...Array(tr.length).keys()].filter((r) => !(tr.domain[r] === x && held.get(x)!.get(tr.user[r])?.has(tr.item[r])));
    const ref = d.subset(keep);
    const w = d.without(held);
    for (const dom of [x, y]) expect(w.matrix(dom)).toEqual(ref.matrix(dom));
    expect(w.matrix(y)).toBe(d.matrix(y));
    expect(w.matrix(x)).not.toBe(d.matrix(x));
    expect([w.nUsers, w.nItems(x), w.nItems(y), w.vocab]).toEqual([d.nUsers, d.nItems(x), d.nItems(y), d.vocab]);
    expect(Array.from(w.matrix(x).indptr)).toEqual([0, 1, 2, 2]); // a keeps item 2, b item 2, c nothing
    expect(w.events).toEqual(ref.events);
    expect(w.events.length).toBe(keep.length);
    expect([b, w.userRowCount(b, x)]).toEqual([b, 1]);
    // Nothing held: the same matrices.
    expect(d.without(new Map()).matrix(x)).toBe(d.matrix(x));
  });
});
