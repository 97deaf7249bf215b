import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { tempFiles } from './helpers/data.js';

const { dir, file: f } = tempFiles('migrec-cli-');
let trainText = 'user,item,domain\n';
for (let u = 0; u < 30; u++) {
  for (let j = 0; j <= u % 4; j++) trainText += `u${u},s${(u + j) % 5},src\n`;
  if (u < 20) trainText += `u${u},t${u % 3},tgt\nu${u},t${(u + 1) % 6},tgt\n`;
}
const train = f('train.csv', trainText);
const test = f('test.csv', 'user,item,domain\nu25,t0,tgt\nu26,t1,tgt\nu27,t9,tgt\nu1,t5,tgt\n');

describe('migrec eval', () => {
  it('prints the contract JSON', async () => {
    const r = await cli('eval', '--train', train, '--test', test, '--k', '1,5', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    // The contract's keys in its order, then what the CLI passed to each model.
    expect(Object.keys(out)).toEqual(['k', 'split', 'results', 'timings', 'options']);
    expect(out.k).toEqual([1, 5]);
    expect(out.split).toEqual({ train: trainText.trim().split('\n').length - 1, valid: 0, test: 4 });
    const first = out.results[0];
    expect(Object.keys(first)).toEqual(['model', 'domain', 'segment', 'users', 'hr@1', 'recall@1', 'ndcg@1', 'mrr@1', 'hr@5', 'recall@5', 'ndcg@5', 'mrr@5']);
    const models = ['popularity', 'itemknn', 'userknn', 'bridge', 'mf', 'emcdr', 'ptupcdr', 'migrec'];
    expect(out.results.map((x: { model: string; segment: string }) => `${x.model}/${x.segment}`)).toEqual(
      models.flatMap((m) => [`${m}/cold`, `${m}/warm`, `${m}/all`]),
    );
    expect(Object.keys(out.timings)).toEqual(models);
    expect(Object.keys(out.timings.popularity)).toEqual(['fit_s', 'score_s']);
    expect(out.options).toEqual(Object.fromEntries(models.map((m) => [m, { seed: 0 }])));
    // t9 never occurs in training: reported on stderr, not a crash.
    expect(r.stderr).toBe('migrec: 1 test rows name items not in training (tgt: 1); they count as relevant and can never be recommended\n');
  });

  it('prints a readable table without --json', async () => {
    const r = await cli('eval', '--train', train, '--test', test, '--models', 'popularity');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rows: train \d+, valid 0, test 4/);
    expect(r.stdout).toContain('model       domain  segment  users');
  });

  it('makes its own cold-start split, seeded', async () => {
    const a = await cli('eval', '--train', train, '--split', 'cold-start', '--source', 'src', '--target', 'tgt', '--beta', '0.3', '--seed', '7', '--json');
    const b = await cli('eval', '--train', train, '--split', 'cold-start', '--source', 'src', '--target', 'tgt', '--beta', '0.3', '--seed', '7', '--json');
    expect(a.code).toBe(0);
    expect(JSON.parse(a.stdout).results).toEqual(JSON.parse(b.stdout).results);
    const out = JSON.parse(a.stdout);
    expect(out.split.test).toBe(12); // 6 of 20 overlapping users x 2 target rows
    expect(out.results.every((x: { segment: string }) => x.segment !== 'warm')).toBe(true);
  });

  it('cold-start split: bad domains and fractions are usage errors in flag words', async () => {
    const split = ['eval', '--train', train, '--split', 'cold-start', '--models', 'popularity'];
    const same = await cli(...split, '--source', 'src', '--target', 'src');
    expect([same.code, same.stderr]).toEqual([2, 'migrec: --source and --target must differ (both "src")\n']);
    const unknown = await cli(...split, '--source', 'src', '--target', 'tgx');
    expect([unknown.code, unknown.stderr]).toEqual([2, `migrec: --target "tgx" is not a domain of ${train} (domains: src, tgt)\n`]);
    const sum = await cli(...split, '--source', 'src', '--target', 'tgt', '--beta', '0.7', '--valid-beta', '0.5');
    expect([sum.code, sum.stderr]).toEqual([2, 'migrec: --beta + --valid-beta must be at most 1 (got 1.2)\n']);
  });

  const bad: Array<[string, string[], string]> = [
    ['--k 0', ['--k', '0'], 'migrec: --k must be a comma-separated list of positive integers (got "0")\n'],
    ['unknown model', ['--models', 'popularity,knn'], 'migrec: unknown model "knn" in --models (available: popularity, random, itemknn, userknn, bridge, mf, emcdr, ptupcdr, migrec)\n'],
    ['unknown flag', ['--kk', '3'], 'migrec: unknown option --kk (did you mean --k?)\n'],
    ['flag without value', ['--k'], "migrec: Option '--k <value>' argument missing (see `migrec eval --help`)\n"],
    ['empty --domain', ['--domain='], 'migrec: --domain must be a non-empty name\n'],
    ['positional argument', ['extra'], "migrec: Unexpected argument 'extra'. This command does not take positional arguments (see `migrec eval --help`)\n"],
  ];
  for (const [name, extra, message] of bad) {
    it(`usage error: ${name}`, async () => {
      const r = await cli('eval', '--train', train, '--test', test, ...extra);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(message);
      expect(r.stdout).toBe('');
    });
  }

  it('bad input: missing column, malformed number, empty file', async () => {
    const r1 = await cli('eval', '--train', f('nocol.csv', 'user,domain\nu1,x\n'), '--test', test);
    expect([r1.code, r1.stderr]).toEqual([2, 'migrec: nocol.csv:1: missing required column "item" (header: user,domain)\n']);
    const r2 = await cli('eval', '--train', f('num.csv', 'user,item,weight\nu1,i1,1x\n'), '--test', test);
    expect([r2.code, r2.stderr]).toEqual([2, 'migrec: num.csv:2:3: malformed number "1x" in column "weight" (expected a positive finite number)\n']);
    const r3 = await cli('eval', '--train', f('empty.csv', ''), '--test', test);
    expect([r3.code, r3.stderr]).toEqual([2, 'migrec: empty.csv: empty file (expected a header row and at least one data row)\n']);
    const r4 = await cli('eval', '--test', test);
    expect([r4.code, r4.stderr]).toEqual([2, 'migrec: missing required option --train (see `migrec eval --help`)\n']);
  });

  it('reads headerless files with --columns and passes --neighbors to the kNN models', async () => {
    const base = f('u.base', '1\t10\t5\t100\n1\t11\t3\t101\n2\t10\t4\t102\n2\t12\t2\t103\n3\t11\t4\t104\n3\t12\t5\t105\n');
    const tst = f('u.test', '1\t12\t4\t106\n');
    const r = await cli('eval', '--train', base, '--test', tst, '--columns', 'user,item,rating,timestamp', '--models', 'itemknn,userknn', '--neighbors', '5', '--k', '1', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.split).toEqual({ train: 6, valid: 0, test: 1 });
    // user 1 has items 10 and 11; the only unseen item, 12, co-occurs with both.
    expect(out.results.filter((x: { segment: string }) => x.segment === 'all').map((x: Record<string, number>) => x['hr@1'])).toEqual([1, 1]);
    const bad = await cli('eval', '--train', base, '--test', tst, '--columns', 'user,item,rating,timestamp', '--neighbors', '0');
    expect([bad.code, bad.stderr]).toEqual([2, 'migrec: --neighbors must be a positive integer (got "0")\n']);
  });

  it('--help for the program and for eval', async () => {
    expect((await cli('--help')).stdout).toContain('Commands:');
    const h = await cli('eval', '--help');
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('--split KIND');
    expect(h.stdout).toContain('--neighbors');
    expect((await cli('--help')).stdout).toContain('explain');
  });

  it('the built binary exits 2 with one line and no stack trace', () => {
    const bin = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
    expect(existsSync(bin), 'dist/ is missing: run `npm run build` (npm install does it)').toBe(true);
    const r = spawnSync(process.execPath, [bin, 'eval', '--train', join(dir, 'missing.csv'), '--test', test], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(`migrec: missing.csv: file not found: ${join(dir, 'missing.csv')}\n`);
    const ok = execFileSync(process.execPath, [bin, 'eval', '--train', train, '--test', test, '--models', 'popularity', '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(JSON.parse(ok).results[0].model).toBe('popularity');
  });
});
