import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { tempFiles } from './helpers/data.js';

const root = tempFiles('migrec-demo-test-');
afterAll(() => root.remove());
const FILES = ['events.csv', 'migrec.migrec', 'test.csv', 'train.csv', 'valid.csv'];

/** Every path under `dir`, relative to it. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

/** The metric rows of the demo's table: model -> its values by column name. */
function table(stdout: string): Map<string, Record<string, number>> {
  const lines = stdout.split('\n');
  const head = lines.findIndex((l) => l.startsWith('model '));
  const names = lines[head].trim().split(/\s+/);
  const out = new Map<string, Record<string, number>>();
  for (const line of lines.slice(head + 1)) {
    if (line.trim() === '') break;
    const cells = line.trim().split(/\s+/);
    out.set(cells[0], Object.fromEntries(names.slice(3).map((n, i) => [n, Number(cells[i + 3])])));
  }
  return out;
}

/** What the demo printed, without what may differ between runs: timings and the output folder. */
function figures(stdout: string, dir: string): string {
  return stdout
    .split('\n')
    .filter((l) => !l.startsWith('timings (s):') && !l.startsWith('done in '))
    .join('\n')
    .replaceAll(dir, '<out>');
}

describe('migrec demo', () => {
  it('as a user runs it: the table (fused beats popularity on the cold users), a walk-through, and nothing written outside its temporary folder', async () => {
    // A child process whose temp folder, home and working directory are empty folders of their own.
    const [tmp, home, cwd] = ['tmp', 'home', 'cwd'].map((d) => join(root.dir, d));
    for (const d of [tmp, home, cwd]) mkdirSync(d);
    const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const child = spawn(process.execPath, ['--import', tsx, main, 'demo', '--events', '10000', '--seed', '1', '--threads', '0'], {
      cwd,
      env: { ...process.env, TMPDIR: tmp, HOME: home, TSX_DISABLE_CACHE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    const code = await new Promise((done) => child.on('close', done));
    expect([code, stderr]).toEqual([0, '']);

    const made = readdirSync(tmp);
    expect(made).toHaveLength(1);
    expect(made[0]).toMatch(/^migrec-demo-/);
    const out = join(tmp, made[0]);
    expect(tree(out)).toEqual(FILES);
    expect([tree(home), tree(cwd)]).toEqual([[], []]);

    const rows = table(stdout);
    expect([...rows.keys()]).toEqual(['popularity', 'bridge', 'emcdr', 'migrec']);
    expect(rows.get('migrec')!['ndcg@10']).toBeGreaterThan(rows.get('popularity')!['ndcg@10']);
    expect(rows.get('migrec')!['hr@10']).toBeGreaterThan(rows.get('popularity')!['hr@10']);
    expect(stdout).toMatch(/^migrec demo: 10,000 synthetic events \(seed 1\)/);
    expect(stdout).toContain(`${join(out, 'migrec.migrec')}    the fitted fused model`);
    expect(stdout).toMatch(/ {2}why i\d+ \(migrec explain\):\n {4}score [0-9.]+ for item i\d+ \(domain music\), user u\d+\n/);
    expect(stdout).toContain(`npx migrec fit --train ${join(out, 'train.csv')} --valid ${join(out, 'valid.csv')} --target music`);
  });

  it('gives the same figures for a seed; the printed recommendations are those of the saved model', async () => {
    const [a, b] = [join(root.dir, 'a'), join(root.dir, 'b', 'nested')];
    const first = await cli('demo', '--events', '4000', '--seed', '4', '--out', a, '--threads', '0');
    const second = await cli('demo', '--events', '4000', '--seed', '4', '--out', b, '--threads', '0');
    expect([first.code, first.stderr, second.code]).toEqual([0, '', 0]);
    expect(figures(second.stdout, b)).toBe(figures(first.stdout, a));
    expect(tree(a)).toEqual(FILES);
    // The log is the one the generator writes, header and all.
    expect(readFileSync(join(a, 'events.csv'), 'utf8').split('\n', 1)[0]).toBe('user,item,domain,behavior,timestamp');
    expect(readFileSync(join(a, 'events.csv'), 'utf8').trimEnd().split('\n')).toHaveLength(4001);

    const user = /One of them, user (u\d+) /.exec(first.stdout)![1];
    const listed = [...first.stdout.matchAll(/^ {4} ?\d+ {2}(i\d+) +[0-9.]+/gm)].map((m) => m[1]);
    expect(listed).toHaveLength(10);
    const rec = await cli('recommend', '--model', join(a, 'migrec.migrec'), '--user', user, '--k', '10', '--json');
    expect(rec.code).toBe(0);
    expect(JSON.parse(rec.stdout).items).toEqual(listed);
    expect(first.stdout).toContain(`npx migrec recommend --model ${join(a, 'migrec.migrec')} --user ${user} --k 10`);

    // Another seed, other figures.
    const other = await cli('demo', '--events', '4000', '--seed', '5', '--out', join(root.dir, 'c'), '--threads', '0');
    expect(table(other.stdout)).not.toEqual(table(first.stdout));
  });

  it('refuses bad flags with one line and exit 2, before writing anything', async () => {
    const file = root.file('a-file.txt', 'x');
    const cases: Array<[string[], string]> = [
      [['--events', '0'], '--events must be an integer from 2000 to 10000000 (got "0")'],
      [['--events', 'abc'], '--events must be an integer from 2000 to 10000000 (got "abc")'],
      [['--events', '2500.5'], '--events must be an integer from 2000 to 10000000 (got "2500.5")'],
      [['--seed', 'x'], '--seed must be an integer (got "x")'],
      [['--out', file], `--out ${file} is not a directory (the demo writes several files into it)`],
      [['--out', join(file, 'sub')], `--out ${join(file, 'sub')}: cannot create the directory (ENOTDIR)`],
      [['--threads', '1.5'], '--threads must be an integer >= 0 (got "1.5")'],
      [['--event', '5000'], 'unknown option --event (did you mean --events?)'],
    ];
    for (const [flags, message] of cases) {
      const r = await cli('demo', '--out', join(root.dir, 'never'), ...flags);
      expect([r.code, r.stdout, r.stderr]).toEqual([2, '', `migrec: ${message}\n`]);
    }
    expect(readdirSync(root.dir)).not.toContain('never');
    expect(statSync(file).size).toBe(1);
    expect((await cli('demo', '--help')).stdout).toContain('Usage: migrec demo [--events N] [--seed S] [--out DIR]');
  });
});
