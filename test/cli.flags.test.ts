import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitStatus, failureMessage } from '../src/cli/failure.js';
import { KernelError, NotSupportedError, OptionRangeError, OptionTypeError, UsageError } from '../src/index.js';
import { cli } from './helpers/cli.js';
import { tempFiles } from './helpers/data.js';

const { dir, file: f } = tempFiles('migrec-flags-');
let trainText = 'user,item,domain\n';
for (let u = 0; u < 30; u++) {
  for (let j = 0; j <= u % 4; j++) trainText += `u${u},s${(u + j) % 5},src\n`;
  if (u < 20) trainText += `u${u},t${u % 3},tgt\nu${u},t${(u + 1) % 6},tgt\n`;
}
const train = f('train.csv', trainText);
const test = f('test.csv', 'user,item,domain\nu25,t0,tgt\nu26,t1,tgt\nu1,t5,tgt\n');
/** A file that does not exist: a command that reports a flag error with it never read the data. */
const nowhere = join(dir, 'missing.csv');

/** Run and expect exit 2 with exactly one stderr line and nothing on stdout. */
async function usage(args: string[], message: string): Promise<void> {
  const r = await cli(...args);
  expect([r.code, r.stderr, r.stdout]).toEqual([2, `migrec: ${message}\n`, '']);
}

describe('model flags from the option schemas', () => {
  it('an unknown flag is one line naming it and the nearest valid flag', async () => {
    await usage(['eval', '--train', train, '--test', test, '--neighbours', '5'], 'unknown option --neighbours (did you mean --neighbors?)');
    await usage(['fit', '--train', train, '--bm25k1', '1'], 'unknown option --bm25k1 (did you mean --bm25-k1?)');
    await usage(['recommend', '--model', 'x', '--usr', 'u1'], 'unknown option --usr (did you mean --user?)');
    await usage(['eval', '--train', train, '--qqqqqqqq'], 'unknown option --qqqqqqqq (see `migrec eval --help`)');
    await usage(['evl'], 'unknown command "evl" (did you mean eval?)');
  });

  it('a flag that no selected model has names the flag and the models, before any file is read', async () => {
    await usage(['fit', '--train', nowhere, '--models', 'migrec', '--neighbors', '5'], '--neighbors is not an option of migrec (use --set itemknn.neighbors=N for its components)');
    await usage(['fit', '--train', nowhere, '--neighbors', '5'], '--neighbors is not an option of migrec (use --set itemknn.neighbors=N for its components)');
    await usage(['fit', '--train', nowhere, '--models', 'itemknn,popularity', '--factors', '8'], '--factors is not an option of itemknn, popularity (it is an option of mf, emcdr, ptupcdr)');
    await usage(['eval', '--train', nowhere, '--test', test, '--models', 'popularity', '--shrink', '2'], '--shrink is not an option of popularity (it is an option of itemknn, userknn, bridge)');
    await usage(['eval', '--train', nowhere, '--test', test, '--models', 'popularity,migrec', '--weighting', 'bm25'], '--weighting is not an option of popularity, migrec (use --set itemknn.weighting=VALUE for its components)');
  });

  it('values are parsed by the schema, with the flag in the message', async () => {
    await usage(['fit', '--train', nowhere, '--models', 'itemknn', '--neighbors', '0'], '--neighbors must be a positive integer (got "0")');
    await usage(['fit', '--train', nowhere, '--models', 'itemknn', '--weighting', 'idf'], '--weighting must be one of none, tfidf, bm25 (got "idf")');
    await usage(['fit', '--train', nowhere, '--models', 'emcdr', '--ridge-grid', '1,x'], '--ridge-grid must be a comma-separated non-empty list of numbers >= 0 (got "1,x")');
  });

  it('a flag applies to every selected model that has it (eval --json shows what each got)', async () => {
    const r = await cli('eval', '--train', train, '--test', test, '--models', 'popularity,itemknn,userknn', '--neighbors', '3', '--shrink', '1', '--seed', '4', '--k', '5', '--json');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['k', 'split', 'results', 'timings', 'options']);
    expect(out.options).toEqual({
      popularity: { seed: 4 },
      itemknn: { seed: 4, neighbors: 3, shrink: 1 },
      userknn: { seed: 4, neighbors: 3, shrink: 1 },
    });
  });

  it('--set COMPONENT.OPTION=VALUE sets options of the components of migrec', async () => {
    const r = await cli('eval', '--train', train, '--test', test, '--models', 'itemknn,migrec', '--set', 'itemknn.neighbors=5', '--set', 'userknn.shrink=2', '--set', 'itemknn.bm25-k1=1.5', '--neighbors', '7', '--json');
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(JSON.parse(r.stdout).options).toEqual({
      itemknn: { seed: 0, neighbors: 7 },
      migrec: { seed: 0, components: { itemknn: { neighbors: 5, bm25K1: 1.5 }, userknn: { shrink: 2 } } },
    });
  });

  it('--set errors name the component or option, and the nearest name', async () => {
    const base = ['fit', '--train', nowhere, '--models', 'migrec'];
    await usage([...base, '--set', 'itemkn.neighbors=5'], '--set itemkn.neighbors: unknown component "itemkn" (did you mean itemknn?)');
    await usage([...base, '--set', 'zzzzzzzz.neighbors=5'], '--set zzzzzzzz.neighbors: unknown component "zzzzzzzz" (components: popularity, itemknn, userknn, bridge-user, bridge-item, emcdr, ptupcdr)');
    await usage([...base, '--set', 'itemknn.neighbours=5'], '--set itemknn.neighbours: itemknn has no option "neighbours" (did you mean neighbors?)');
    await usage([...base, '--set', 'bridge-user.variant=item'], '--set bridge-user.variant: bridge-user has no option "variant" (options: neighbors, neighborGrid, itemNeighborGrid, shrink, exponent, idf, asymmetry)');
    await usage([...base, '--set', 'itemknn.neighbors=0'], '--set itemknn.neighbors must be a positive integer (got "0")');
    await usage([...base, '--set', 'itemknn'], '--set takes COMPONENT.OPTION=VALUE (got "itemknn")');
    await usage(['fit', '--train', nowhere, '--models', 'itemknn', '--set', 'itemknn.neighbors=5'], '--set sets options of the components of migrec, which is not among the models (itemknn)');
  });
});

describe('failures: exit status by type, one prefix, flag words', () => {
  it('option errors of the library name the flag', () => {
    const plain = new OptionRangeError('neighbors', 'options.neighbors must be a positive integer (got 0)');
    expect([exitStatus(plain), failureMessage(plain)]).toEqual([2, '--neighbors must be a positive integer (got 0)']);
    const camel = new OptionTypeError('bm25K1', 'options.bm25K1 must be a number (got "x")');
    expect(failureMessage(camel)).toBe('--bm25-k1 must be a number (got "x")');
    const component = new OptionRangeError('components.itemknn.neighbors', 'options.components.itemknn.neighbors must be a positive integer (got 0)');
    expect(failureMessage(component)).toBe('--set itemknn.neighbors must be a positive integer (got 0)');
  });

  it('exit 2 for bad input, 1 for the rest, whatever the message says', () => {
    expect(exitStatus(new UsageError('x'))).toBe(2);
    expect(exitStatus(new NotSupportedError('x'))).toBe(2);
    expect(exitStatus(new KernelError('options.neighbors must be a positive integer'))).toBe(1);
    expect(exitStatus(new RangeError('options.neighbors must be a positive integer'))).toBe(1);
    expect(failureMessage(new RangeError('--k must be'))).toBe('internal error: --k must be');
  });

  it('one migrec: prefix', async () => {
    const runs = await Promise.all([
      cli('fit', '--train', nowhere),
      cli('eval', '--train', train, '--test', test, '--models', 'knn'),
      cli('recommend', '--model', nowhere, '--user', 'u1'),
      cli('explain', '--model', nowhere, '--user', 'u1', '--item', 'x'),
    ]);
    for (const r of runs) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^migrec: /);
      expect(r.stderr).not.toContain('migrec: migrec:');
      expect(r.stderr.split('\n').length).toBe(2);
    }
  });
});
