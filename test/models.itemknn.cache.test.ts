import { describe, expect, it } from 'vitest';
import { Dataset, FitCache, ItemKnn, parseEvents } from '../src/index.js';

describe('item kNN and the fit cache', () => {
  const events = parseEvents('user,item,domain\na,1,x\na,2,x\nb,1,x\nb,3,x\nc,2,x\nc,3,x\na,7,y\nb,7,y\nb,8,y\n');
  const data = Dataset.fromEvents(events);

  it('reuses a domain\'s neighbour lists for the same matrix and settings, and computes them for other settings', async () => {
    const cache = new FitCache();
    const one = new ItemKnn({ neighbors: 2 });
    const two = new ItemKnn({ neighbors: 2 });
    const other = new ItemKnn({ neighbors: 1 });
    await one.fit(data, { cache });
    await two.fit(data, { cache });
    await other.fit(data, { cache });
    for (const d of ['x', 'y']) {
      expect(two.neighborMatrix(d)).toBe(one.neighborMatrix(d));
      expect(other.neighborMatrix(d)).not.toBe(one.neighborMatrix(d));
    }
    // Without a shared cache: equal lists, computed again.
    const alone = new ItemKnn({ neighbors: 2 });
    await alone.fit(data);
    expect(alone.neighborMatrix('x')).not.toBe(one.neighborMatrix('x'));
    expect(alone.neighborMatrix('x')).toEqual(one.neighborMatrix('x'));
  });
});
