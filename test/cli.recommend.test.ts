import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { tempFiles } from './helpers/data.js';

const { dir, file: f } = tempFiles('migrec-rec-');
// Checkerboard: users like the items of their own parity, except item = user number.
let text = 'user,item\n';
for (let u = 0; u < 20; u++) for (let i = u % 2; i < 20; i += 2) if (i !== u) text += `u${u},i${i}\n`;
const train = f('train.csv', text);
const model = join(dir, 'itemknn.migrec');
const UNKNOWN = (u: string) => `unknown user ${JSON.stringify(u)}: not in the training data (use --fallback popularity to recommend popular items)`;

beforeAll(async () => {
  const r = await cli('fit', '--train', train, '--models', 'itemknn', '--threads', '0', '--out', model);
  expect(r.code).toBe(0);
});

describe('migrec recommend', () => {
  it('marks a popularity-fallback list in text and JSON', async () => {
    // Item kNN has one unseen item with a score for a checkerboard user: the held-out diagonal.
    const known = await cli('recommend', '--model', model, '--user', 'u4', '--k', '2');
    expect(known.code).toBe(0);
    expect(known.stdout).toMatch(/^1\ti4\t[0-9.]+\n$/);
    const ghost = await cli('recommend', '--model', model, '--user', 'ghost', '--k', '2', '--fallback', 'popularity');
    expect(ghost.code).toBe(0);
    expect(ghost.stdout).toMatch(/^\(popularity fallback: unknown user\)\n1\ti\d+\t[0-9.]+\n2\ti\d+\t[0-9.]+\n$/);
    const json = JSON.parse((await cli('recommend', '--model', model, '--user', 'ghost', '--k', '2', '--fallback', 'popularity', '--json')).stdout);
    expect(Object.keys(json)).toEqual(['user', 'items', 'scores', 'fallback']);
    expect(json.fallback).toBe(true);
    // Fallback scores: popularity over the top popularity, in (0, 1].
    expect(json.scores.every((s: number) => s > 0 && s <= 1)).toBe(true);
    expect(JSON.parse((await cli('recommend', '--model', model, '--user', 'u4', '--json')).stdout).fallback).toBe(false);
  });

  it('--users: known users in batches, an error line for an unknown one, file order, exit 0', async () => {
    const users = f('some.txt', 'u1\nghost\nu2\n\nu3\n');
    const r = await cli('recommend', '--model', model, '--users', users, '--k', '1', '--threads', '0');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.user)).toEqual(['u1', 'ghost', 'u2', 'u3']);
    expect(lines[1]).toEqual({ user: 'ghost', error: { code: 'UNKNOWN_ID', message: UNKNOWN('ghost') } });
    expect([lines[0].items, lines[2].items, lines[3].items]).toEqual([['i1'], ['i2'], ['i3']]);
    expect(lines[0].fallback).toBe(false);
    expect(r.stderr).toBe(`migrec: 1 of 4 users in ${users} are unknown to the model (their lines hold an error)\n`);
  });

  it('--users --strict stops with status 2 at the first unknown user; all unknown is status 2', async () => {
    const users = f('strict.txt', 'u1\nghost\nu2\n');
    const s = await cli('recommend', '--model', model, '--users', users, '--k', '1', '--threads', '0', '--strict');
    expect([s.code, s.stderr]).toEqual([2, `migrec: ${UNKNOWN('ghost')}\n`]);
    expect(s.stdout.trim().split('\n').map((l) => JSON.parse(l).user)).toEqual(['u1']);
    const none = f('none.txt', 'ghost\nspook\n');
    const n = await cli('recommend', '--model', model, '--users', none, '--threads', '0');
    expect([n.code, n.stderr]).toEqual([2, `migrec: none of the 2 users in ${none} is known to the model (use --fallback popularity to recommend popular items)\n`]);
    expect(n.stdout.trim().split('\n').map((l) => JSON.parse(l).error.code)).toEqual(['UNKNOWN_ID', 'UNKNOWN_ID']);
  });

  it('--users over several batches (two in flight): every line in file order; a failure writes the lines scored before it', async () => {
    const BATCH = 8192; // src/cli/recommend.ts
    const ids = Array.from({ length: 2 * BATCH + 300 }, (_, i) => `u${(i * 7) % 20}`);
    const many = f('many.txt', ids.join('\n') + '\n');
    const r = await cli('recommend', '--model', model, '--users', many, '--k', '2', '--threads', '1');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).user)).toEqual(ids);
    // The same user gets the same line in every batch.
    const first = new Map<string, string>();
    for (const [i, l] of lines.entries()) {
      if (!first.has(ids[i])) first.set(ids[i], l);
      expect(l).toBe(first.get(ids[i]));
    }
    // --strict: an unknown user in the third batch; the two batches before it and the users before it in its own are written.
    const strictIds = [...ids];
    strictIds[2 * BATCH + 10] = 'ghost';
    const strict = await cli('recommend', '--model', model, '--users', f('many-strict.txt', strictIds.join('\n')), '--k', '2', '--threads', '1', '--strict');
    expect([strict.code, strict.stderr]).toEqual([2, `migrec: ${UNKNOWN('ghost')}\n`]);
    expect(strict.stdout).toBe(lines.slice(0, 2 * BATCH + 10).join('\n') + '\n');
    // A line too long to be an id in the third batch: the two full batches were scored and are written.
    const longIds = [...ids];
    longIds[2 * BATCH + 50] = 'x'.repeat(2 ** 20 + 1);
    const long = await cli('recommend', '--model', model, '--users', f('many-long.txt', longIds.join('\n')), '--k', '2', '--threads', '1');
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(new RegExp(`line ${2 * BATCH + 51} is longer than 1048576 bytes`));
    expect(long.stdout).toBe(lines.slice(0, 2 * BATCH).join('\n') + '\n');
  });

  it('--users --fallback popularity gives an unknown user the fallback list', async () => {
    const users = f('fb.txt', 'ghost\nu2\n');
    const r = await cli('recommend', '--model', model, '--users', users, '--k', '2', '--threads', '1', '--fallback', 'popularity');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.user, l.fallback, l.items.length])).toEqual([['ghost', true, 2], ['u2', false, 1]]);
  });
});

describe('migrec explain', () => {
  it('JSON: the explanation object; its contributions add up to the score', async () => {
    const r = await cli('explain', '--model', model, '--user', 'u4', '--item', 'i4', '--json');
    expect([r.code, r.stderr]).toEqual([0, '']);
    const e = JSON.parse(r.stdout);
    expect(Object.keys(e)).toEqual(['user', 'item', 'domain', 'score', 'contributions']);
    expect([e.user, e.item, e.domain]).toEqual(['u4', 'i4', 'default']);
    expect(e.contributions.length).toBeGreaterThan(0);
    expect(e.contributions.every((c: { kind: string }) => c.kind === 'item')).toBe(true);
    const sum = e.contributions.reduce((a: number, c: { weight: number }) => a + c.weight, 0);
    expect(sum).toBeCloseTo(e.score, 4);
    const weights = e.contributions.map((c: { weight: number }) => c.weight);
    expect(weights).toEqual([...weights].sort((a, b) => b - a));
  });

  it('text: the score, then the contributions largest first', async () => {
    const r = await cli('explain', '--model', model, '--user', 'u4', '--item', 'i4', '--top', '3');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^score [0-9.]+ for item i4 \(domain default\), user u4$/);
    expect(lines[1].split(/\s+/)).toEqual(['weight', 'kind', 'id', 'domain', 'model']);
    expect(lines.slice(2, 5).every((l) => /^ *[0-9.e-]+ {2}item {2}i\d+ /.test(l))).toBe(true);
    expect(lines[5]).toMatch(/^\.\.\. \d+ more, weight [0-9.]+ in all$/);
    // An item of the other parity shares no neighbour with the user's items.
    const none = await cli('explain', '--model', model, '--user', 'u4', '--item', 'i5');
    expect(none.stdout).toBe('score 0.00000 for item i5 (domain default), user u4\n(no contributions)\n');
  });

  it('errors: unknown user, unknown item, missing flag', async () => {
    const u = await cli('explain', '--model', model, '--user', 'ghost', '--item', 'i4');
    expect([u.code, u.stderr]).toEqual([2, 'migrec: unknown user "ghost": not in the training data\n']);
    const i = await cli('explain', '--model', model, '--user', 'u4', '--item', 'nope');
    expect([i.code, i.stderr]).toEqual([2, 'migrec: unknown item "nope": not in the training items of domain "default"\n']);
    const m = await cli('explain', '--model', model, '--user', 'u4');
    expect([m.code, m.stderr]).toEqual([2, 'migrec: missing required option --item (see `migrec explain --help`)\n']);
  });
});

describe('a model of several domains', () => {
  it('names --domain when the call needs one', async () => {
    const two = f('two.csv', 'user,item,domain\na,x,src\nb,x,src\na,y,tgt\nb,z,tgt\n');
    const out = join(dir, 'two.migrec');
    expect((await cli('fit', '--train', two, '--models', 'popularity', '--threads', '0', '--out', out)).code).toBe(0);
    const r = await cli('recommend', '--model', out, '--user', 'a');
    expect([r.code, r.stderr]).toEqual([2, 'migrec: --domain is required: the model has 2 domains (src, tgt)\n']);
    const ok = await cli('recommend', '--model', out, '--user', 'a', '--domain', 'tgt', '--json');
    expect(JSON.parse(ok.stdout).items).toEqual(['z']);
  });
});
