import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { tempFiles } from './helpers/data.js';

const { dir, file: f } = tempFiles('migrec-fit-');
// Checkerboard: users like the items of their own parity, except item = user number.
let text = 'user,item\n';
for (let u = 0; u < 20; u++) for (let i = u % 2; i < 20; i += 2) if (i !== u) text += `u${u},i${i}\n`;
const train = f('train.csv', text);

describe('migrec fit / recommend', () => {
  it('fits item kNN, reports the contract timings, saves, and recommends from the file', async () => {
    const out = join(dir, 'm.migrec');
    const r = await cli('fit', '--train', train, '--models', 'itemknn', '--k', '50', '--threads', '0', '--out', out, '--json');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.model).toBe('itemknn');
    expect(Object.keys(rep.timings)).toEqual(['load_s', 'similarity_s', 'transfer_s', 'fusion_s', 'total_s']);
    expect(rep.stats.domains.default).toEqual({ items: 20, nnz: 180, W: 20 * 81 });
    const one = await cli('recommend', '--model', out, '--user', 'u4', '--k', '1', '--json');
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toEqual({ user: 'u4', items: ['i4'], scores: [expect.any(Number)] });
    const users = f('users.txt', 'u1\nu2\n\nu3\n');
    const many = await cli('recommend', '--model', out, '--users', users, '--k', '1', '--threads', '1');
    expect(many.code).toBe(0);
    expect(many.stdout.trim().split('\n').map((l) => JSON.parse(l).items[0])).toEqual(['i1', 'i2', 'i3']);
  });

  it('pooled fit equals the in-process fit', async () => {
    const a = join(dir, 'a.migrec');
    const b = join(dir, 'b.migrec');
    expect((await cli('fit', '--train', train, '--models', 'itemknn', '--threads', '0', '--out', a)).code).toBe(0);
    expect((await cli('fit', '--train', train, '--models', 'itemknn', '--threads', '2', '--out', b)).code).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
  });

  it('errors: unknown user, corrupted file, bad options', async () => {
    const out = join(dir, 'e.migrec');
    await cli('fit', '--train', train, '--models', 'popularity', '--threads', '0', '--out', out);
    const u = await cli('recommend', '--model', out, '--user', 'ghost');
    expect([u.code, u.stderr]).toEqual([2, 'migrec: unknown user "ghost": not in the training data (pass fallback: "popularity" to recommend popular items)\n']);
    const fb = await cli('recommend', '--model', out, '--user', 'ghost', '--fallback', 'popularity', '--k', '2', '--json');
    expect(JSON.parse(fb.stdout).items.length).toBe(2);
    const bytes = readFileSync(out);
    bytes[bytes.length >> 1] ^= 0xff;
    const bad = f('bad.migrec', '');
    writeFileSync(bad, bytes);
    const c = await cli('recommend', '--model', bad, '--user', 'u1');
    expect([c.code, c.stderr]).toEqual([2, `migrec: ${bad}: checksum mismatch (the file is truncated or corrupted)\n`]);
    const m = await cli('fit', '--train', train, '--models', 'mystery');
    expect([m.code, m.stderr]).toEqual([2, 'migrec: --models must name one model of: popularity, random, itemknn, userknn, bridge, mf, emcdr, ptupcdr, migrec (got "mystery")\n']);
    const t = await cli('fit', '--train', train, '--target', 'music');
    expect([t.code, t.stderr]).toEqual([2, 'migrec: --target "music" is not a domain of ' + train + ' (domains: default)\n']);
    const both = await cli('recommend', '--model', out);
    expect([both.code, both.stderr]).toEqual([2, 'migrec: give exactly one of --user and --users\n']);
  });
});

describe('migrec bench', () => {
  it('times the fit per thread count and reports W and the machine', async () => {
    const r = await cli('bench', '--train', train, '--threads', '0,1', '--repeat', '1', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.data).toMatchObject({ users: 20, items: 20, nnz: 180, W: 20 * 81 });
    expect(out.runs.map((x: { threads: number }) => x.threads)).toEqual([0, 1]);
    expect(out.runs[0].fit_s).toBeGreaterThan(0);
    expect(Object.keys(out.ratios)).toEqual(['threads1_vs_threads0']);
  });
});

describe('internal failures', () => {
  it('exit 1 with one line, the stack only with --debug', async () => {
    // A directory as the --users file is an internal read failure (EISDIR), not a usage error.
    const out = join(dir, 'd.migrec');
    await cli('fit', '--train', train, '--models', 'popularity', '--threads', '0', '--out', out);
    const plain = await cli('recommend', '--model', out, '--users', dir, '--threads', '0');
    expect(plain.code).toBe(1);
    expect(plain.stderr.trim().split('\n').length).toBe(1);
    expect(plain.stderr).toMatch(/^migrec: internal error: /);
    const debug = await cli('recommend', '--model', out, '--users', dir, '--threads', '0', '--debug');
    expect(debug.code).toBe(1);
    expect(debug.stderr.split('\n').length).toBeGreaterThan(2);
  });
});
