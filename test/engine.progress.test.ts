/**
 * fit({ onProgress }) reports each stage of a fit in order, with `done` growing to `total`, and
 * `migrec fit` draws a progress line on a terminal only (never with --quiet or --json).
 */
import { describe, expect, it } from 'vitest';
import { Emcdr, ItemKnn, MigrationRecommender, type FitProgress } from '../src/index.js';
import { runCli } from '../src/cli/run.js';
import { tempFiles } from './helpers/data.js';
import { checkerboard, twoDomains } from './helpers/fixtures.js';

function collect(): { events: FitProgress[]; onProgress: (p: FitProgress) => void } {
  const events: FitProgress[] = [];
  return { events, onProgress: (p) => events.push({ ...p }) };
}

/** Every stage's done values never decrease and end at its total. */
function wellFormed(events: FitProgress[]): void {
  const last = new Map<string, FitProgress>();
  for (const e of events) {
    const key = `${e.model}/${e.stage}`;
    const before = last.get(key);
    if (before) expect(e.done, key).toBeGreaterThanOrEqual(before.done);
    expect(e.done).toBeLessThanOrEqual(e.total);
    last.set(key, e);
  }
  for (const [key, e] of last) expect(e.done, key).toBe(e.total);
}

describe('fit progress', () => {
  it('item kNN: fit start, one similarity step per domain, fit end', async () => {
    const { events, onProgress } = collect();
    await new ItemKnn({ neighbors: 5 }).fit(checkerboard().data, { onProgress });
    expect(events).toEqual([
      { model: 'itemknn', stage: 'fit', done: 0, total: 1 },
      { model: 'itemknn', stage: 'similarity', done: 1, total: 1 },
      { model: 'itemknn', stage: 'fit', done: 1, total: 1 },
    ]);
  });

  it('transfer and fused models report ALS iterations, mappings, components and the fusion', async () => {
    const { events, onProgress } = collect();
    await new Emcdr({ factors: 4, iterations: 3, domain: 'tgt' }).fit(twoDomains().data, { onProgress });
    expect(events.filter((e) => e.stage === 'als:src').map((e) => e.done)).toEqual([1, 2, 3]);
    expect(events.some((e) => e.stage === 'mapping' && e.done === e.total)).toBe(true);
    wellFormed(events);
    const fused = collect();
    await new MigrationRecommender({ target: 'tgt', components: ['popularity', 'itemknn', 'bridge-user'] }).fit(twoDomains().data, { onProgress: fused.onProgress });
    expect(fused.events.filter((e) => e.model === 'migrec' && e.stage === 'components').map((e) => e.done)).toEqual([1, 2, 3]);
    expect(fused.events.some((e) => e.model === 'itemknn' && e.stage === 'similarity')).toBe(true);
    expect(fused.events.some((e) => e.model === 'bridge' && e.stage === 'bridge')).toBe(true);
    expect(fused.events.at(-1)).toEqual({ model: 'migrec', stage: 'fit', done: 1, total: 1 });
    wellFormed(fused.events);
  });

  it('a progress callback that is not a function is an option error', async () => {
    await expect(new ItemKnn().fit(checkerboard().data, { onProgress: 5 as never })).rejects.toThrow('options.onProgress must be a function');
  });

  it('migrec fit draws the line on a terminal, not with --quiet', async () => {
    const files = tempFiles('migrec-progress-');
    let text = 'user,item\n';
    for (let u = 0; u < 40; u++) for (let i = u % 2; i < 40; i += 2) if (i !== u) text += `u${u},i${i}\n`;
    const train = files.file('train.csv', text);
    const run = async (...extra: string[]) => {
      let stderr = '';
      const code = await runCli(['fit', '--train', train, '--models', 'itemknn', '--threads', '0', ...extra], { stdout: () => {}, stderr: (s) => (stderr += s), isTTY: true });
      return { code, stderr };
    };
    const tty = await run();
    expect(tty.code).toBe(0);
    expect(tty.stderr).toContain('\r\x1b[2Kitemknn similarity 1/1');
    const quiet = await run('--quiet');
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).not.toContain('similarity');
  });
});

describe('migrec eval --quiet', () => {
  it('draws its progress on a terminal, and nothing with --quiet', async () => {
    const files = tempFiles('migrec-progress-eval-');
    let text = 'user,item\n';
    for (let u = 0; u < 40; u++) for (let i = u % 2; i < 40; i += 2) if (i !== u) text += `u${u},i${i}\n`;
    const train = files.file('train.csv', text);
    const test = files.file('test.csv', 'user,item\nu0,i0\nu1,i1\n');
    const run = async (...extra: string[]) => {
      let stderr = '';
      const code = await runCli(['eval', '--train', train, '--test', test, '--models', 'popularity', ...extra], { stdout: () => {}, stderr: (s) => (stderr += s), isTTY: true });
      return { code, stderr };
    };
    expect((await run()).stderr).toContain('popularity: fit');
    const quiet = await run('--quiet');
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
  });
});
