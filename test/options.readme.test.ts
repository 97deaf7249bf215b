// The options table of README.md is the one the schemas generate (rewrite it with
// `npx tsx bench/options-table.ts`).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { optionsRegion, readOptionsRegion, replaceOptionsRegion } from '../bench/options-table.js';
import { MODEL_SCHEMAS } from '../src/options/index.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README options table', () => {
  it('matches the schemas (run `npx tsx bench/options-table.ts` after changing them)', () => {
    expect(readOptionsRegion(readme)).toBe(optionsRegion());
  });

  it('sits in the Models section and names every model', () => {
    const models = readme.indexOf('\n## Models');
    const next = readme.indexOf('\n## ', models + 1);
    const at = readme.indexOf('<!-- options:begin -->');
    expect(models).toBeGreaterThan(0);
    expect(at > models && at < next).toBe(true);
    for (const m of Object.keys(MODEL_SCHEMAS)) expect(readOptionsRegion(readme)).toContain(`| \`${m}\` |`);
  });

  it('the rewrite touches only the region, and is stable', () => {
    const stale = readme.replace(readOptionsRegion(readme), '\nold\n');
    const fixed = replaceOptionsRegion(stale);
    expect(fixed).toBe(readme);
    expect(replaceOptionsRegion(fixed)).toBe(fixed);
    expect(() => readOptionsRegion('no markers')).toThrow(/options:begin/);
  });
});
