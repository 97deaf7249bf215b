import { describe, expect, it } from 'vitest';
import { Rng } from '../src/random.js';

const stream = (seed: number) => {
  const r = new Rng(seed);
  return Array.from({ length: 8 }, () => r.nextU32());
};

describe('Rng', () => {
  it('the same seed gives the same stream; neighbouring and negative seeds do not collide', () => {
    expect(stream(7)).toEqual(stream(7));
    const seen = new Set([0, 1, -1, -2, 2 ** 32, 2 ** 32 + 1, -(2 ** 32)].map((s) => JSON.stringify(stream(s))));
    expect(seen.size).toBe(7);
  });
  it('derive gives independent, reproducible children; int stays in range; shuffle permutes', () => {
    expect(stream(0)).not.toEqual(Array.from({ length: 8 }, ((r) => () => r.nextU32())(Rng.derive(0, 'x'))));
    const r = new Rng(3);
    for (let i = 0; i < 1000; i++) {
      const x = r.int(7);
      expect(Number.isInteger(x) && x >= 0 && x < 7).toBe(true);
    }
    const a = new Rng(5).shuffle([1, 2, 3, 4, 5, 6]);
    expect([...a].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Rng(5).shuffle([1, 2, 3, 4, 5, 6])).toEqual(a);
    expect(() => new Rng(1.5)).toThrow(new RangeError('seed must be an integer (got 1.5)'));
  });
});
