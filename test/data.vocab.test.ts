import { describe, expect, it } from 'vitest';
import { naturalCompare, Vocabularies, Vocabulary } from '../src/index.js';
import { Rng } from '../src/random.js';

/** Intern `ids` (duplicates dropped), re-number them from `from` and return the ids by index. */
function sorted(ids: readonly string[], from = 0): string[] {
  const v = new Vocabulary();
  for (const id of ids) v.intern(id);
  v.sortFrom(from);
  return v.list();
}

function expected(ids: readonly string[], from = 0): string[] {
  const unique = [...new Set(ids)];
  return [...unique.slice(0, from), ...unique.slice(from).sort(naturalCompare)];
}

describe('Vocabulary.sortFrom (natural order)', () => {
  it('orders prefixed numeric ids by prefix, then by number', () => {
    // ' ' sorts before digits, ':' and letters after them; numbers compare by value.
    expect(sorted(['u10', 'u2', 'u1', 'toys:i3', 'a9', 'ab1', 'a:1', 'a 1', '7', '10'])).toEqual([
      '7', '10', 'a 1', 'a9', 'a:1', 'ab1', 'toys:i3', 'u1', 'u2', 'u10',
    ]);
    expect(sorted(['i10', 'i2', 'i1'])).toEqual(['i1', 'i2', 'i10']);
  });

  it('re-numbers only the ids from `from` on, in naturalCompare order, for random ids of many shapes', () => {
    const rng = new Rng(11);
    const prefixes = ['', 'u', 'i', 'ab', 'a', 'a:', 'a ', 'toys:i', 'videogames:u', 'é', 'Z', 'z'];
    const pick = <T>(xs: readonly T[]) => xs[rng.int(xs.length)];
    const number = () => String(rng.int(4) === 0 ? rng.int(10) : rng.int(2 ** 31) * (rng.int(3) === 0 ? 1000 : 1));
    const shapes: Array<() => string> = [
      () => pick(prefixes) + number(), // fast path
      () => pick(prefixes) + '0' + number(), // leading zero
      () => pick(prefixes) + number() + pick(['x', '_1', '']), // digits inside
      () => pick(prefixes) + '1234567890123456', // too long for the fast path
      () => pick(prefixes), // no number
    ];
    for (let round = 0; round < 60; round++) {
      const mixed = round % 2 === 0;
      const ids = Array.from({ length: 1 + rng.int(300) }, () => (mixed ? pick(shapes)() : shapes[0]()));
      const from = rng.int(3) === 0 ? rng.int(ids.length) : 0;
      expect(sorted(ids, Math.min(from, new Set(ids).size))).toEqual(expected(ids, Math.min(from, new Set(ids).size)));
    }
  });

  it('returns the old -> new map of the re-numbered range', () => {
    const v = new Vocabulary();
    for (const id of ['keep', 'u10', 'u9', 'u100']) v.intern(id);
    expect(Array.from(v.sortFrom(1)!)).toEqual([2, 1, 3]);
    expect(v.list()).toEqual(['keep', 'u9', 'u10', 'u100']);
    expect(v.get('u100')).toBe(3);
    expect(v.sortFrom(1)).toBeUndefined(); // already in order
  });
});

describe('Vocabulary.copy and Vocabularies.withoutUser', () => {
  it('copies without one id, later ids one lower, and leaves the original as it was', () => {
    const v = Vocabulary.fromList(['a', 'b', 'c', 'd']);
    const w = v.copy(1);
    expect(w.list()).toEqual(['a', 'c', 'd']);
    // find scans before the lookup map is filled; get fills it; both agree.
    expect([w.find('a'), w.find('b'), w.find('c'), w.find('d')]).toEqual([0, -1, 1, 2]);
    expect([w.get('a'), w.get('b'), w.get('c'), w.get('d')]).toEqual([0, -1, 1, 2]);
    expect(w.find('d')).toBe(2);
    expect(w.intern('e')).toBe(3);
    expect(v.list()).toEqual(['a', 'b', 'c', 'd']);
    expect(v.get('d')).toBe(3);
    expect(v.copy().list()).toEqual(v.list());
  });

  it('drops the user only: domains, behaviours and items are copies', () => {
    const v = new Vocabularies();
    ['u1', 'u2', 'u3'].forEach((u) => v.users.intern(u));
    v.domains.intern('books');
    v.behaviors.intern('buy');
    v.items(0).intern('i1');
    const w = v.withoutUser(0);
    expect(w.users.list()).toEqual(['u2', 'u3']);
    expect(w.domains.list()).toEqual(['books']);
    expect(w.behaviors.list()).toEqual(['buy']);
    expect(w.items(0).list()).toEqual(['i1']);
    w.items(0).intern('i2');
    expect(v.items(0).list()).toEqual(['i1']);
    expect(v.users.list()).toEqual(['u1', 'u2', 'u3']);
  });
});
