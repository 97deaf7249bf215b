import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataError, ItemKnn, loadCatalog, NotSupportedError, OptionRangeError, Popularity, UnknownIdError } from '../src/index.js';
import { cli } from './helpers/cli.js';
import { tempFiles } from './helpers/data.js';
import { checkerboard } from './helpers/fixtures.js';

const { dir, file: f } = tempFiles('migrec-catalog-');
// Items i0..i39 of domain "shop": category by number mod 3, price = number.
let cat = 'item,domain,category,price,title\n';
for (let i = 0; i < 40; i++) cat += `i${i},shop,${['toys', 'games', 'books'][i % 3]},${i},"Item, ${i}"\n`;
cat += 'i999,shop,toys,1,not sold\n';
const catalogPath = f('items.csv', cat);

describe('item catalog filters', () => {
  it('filters by category and price, and survives save -> load', async () => {
    const { data } = checkerboard();
    const catalog = await loadCatalog(catalogPath, data.vocab, [data.nItems(0)]);
    expect(catalog.unknownItems).toBe(1);
    const m = new Popularity();
    await m.fit(data, { catalog });
    const r = m.recommend('u1', { k: 40, categories: ['games'], minPrice: 5, maxPrice: 30 });
    expect(r.items.length).toBeGreaterThan(0);
    for (const it of r.items) {
      const n = Number(it.slice(1));
      expect(n % 3).toBe(1);
      expect(n >= 5 && n <= 30).toBe(true);
    }
    const p = join(dir, 'pop.migrec');
    await m.save(p);
    expect((await Popularity.load(p)).recommend('u1', { k: 40, categories: ['games'], minPrice: 5, maxPrice: 30 }).items).toEqual(r.items);
    expect(() => m.recommend('u1', { categories: ['food'] })).toThrow(new UnknownIdError('category', 'food', 'not in the item catalog'));
    expect(() => m.recommend('u1', { minPrice: Number.NaN })).toThrow(new OptionRangeError('minPrice', 'options.minPrice must be a finite number (got NaN)'));
    const bare = new ItemKnn();
    await bare.fit(data);
    expect(() => bare.recommend('u1', { categories: ['toys'] })).toThrow(NotSupportedError);
  });

  it('bad catalogs get DataErrors', async () => {
    const { data } = checkerboard();
    await expect(loadCatalog(f('nocol.csv', 'sku,price\na,1\n'), data.vocab, [40])).rejects.toThrow(new DataError({ file: 'nocol.csv', line: 1 }, 'missing required column "item" (header: sku,price)'));
    await expect(loadCatalog(f('price.csv', 'item,domain,price\ni1,shop,cheap\n'), data.vocab, [40])).rejects.toThrow('price.csv:2:price: malformed price "cheap" (expected a number >= 0)');
    await expect(loadCatalog(f('empty.csv', ''), data.vocab, [40])).rejects.toThrow('empty.csv: empty catalog (expected a header row and at least one item)');
  });

  it('CLI: fit --items, recommend --category / --max-price', async () => {
    let text = 'user,item,domain\n';
    for (let u = 0; u < 40; u++) for (let i = u % 2; i < 40; i += 2) if (i !== u) text += `u${u},i${i},shop\n`;
    const train = f('train.csv', text);
    const out = join(dir, 'm.migrec');
    const fit = await cli('fit', '--train', train, '--models', 'itemknn', '--items', catalogPath, '--threads', '0', '--out', out, '--json');
    expect(fit.code).toBe(0);
    expect(fit.stderr).toBe(`migrec: ${catalogPath}: 1 catalog rows name items without training rows (skipped)\n`);
    const r = await cli('recommend', '--model', out, '--user', 'u3', '--k', '5', '--category', 'toys', '--max-price', '20', '--json');
    expect(r.code).toBe(0);
    for (const it of JSON.parse(r.stdout).items) {
      expect(Number(it.slice(1)) % 3).toBe(0);
      expect(Number(it.slice(1))).toBeLessThanOrEqual(20);
    }
  });
});
