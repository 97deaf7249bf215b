/**
 * Names from the input that look like Object.prototype members (`__proto__`, `constructor`) are
 * keys like any other in what migrec reports: fit --json's domains, fitReport() choices and stats,
 * and behaviour weights given on the command line (issue 15, item 13).
 */
import { describe, expect, it } from 'vitest';
import { Bridge, Dataset, Mf, parseEvents } from '../src/index.js';
import { cli } from './helpers/cli.js';
import { tempFiles } from './helpers/data.js';

/** Two domains named `__proto__` (source) and `constructor` (target), users in both. */
function text(): string {
  let t = 'user,item,domain,behavior\n';
  for (let u = 0; u < 12; u++) {
    for (let i = 0; i < 4; i++) t += `u${u},s${(u + i) % 6},__proto__,pv\n`;
    if (u < 10) t += `u${u},t${u % 3},constructor,__proto__\n`;
  }
  return t;
}

describe('reserved names as domains and behaviours', () => {
  it('fit --json lists every domain, and --behavior-weight takes __proto__ as a name', async () => {
    const files = tempFiles('migrec-names-');
    const train = files.file('train.csv', text());
    const r = await cli('fit', '--train', train, '--models', 'itemknn', '--behavior-weight', '__proto__=2', '--threads', '0', '--json');
    expect(r.stderr.split('\n')[0]).toContain('not saved');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { stats: { domains: Record<string, { items: number }> } };
    expect(Object.keys(out.stats.domains).sort()).toEqual(['__proto__', 'constructor']);
    expect(Object.hasOwn(out.stats.domains, '__proto__')).toBe(true);
    expect(new Map(Object.entries(out.stats.domains)).get('constructor')?.items).toBe(3);
  });

  it('fitReport() keys its choices and stats by such domains as own keys', async () => {
    const events = parseEvents(text(), { label: 'names.csv', behaviorWeights: new Map([['__proto__', 2]]) });
    const data = Dataset.fromEvents(events);
    const bridge = new Bridge({ variant: 'user', neighbors: 3, domain: 'constructor', targets: ['constructor'] });
    await bridge.fit(data);
    const choices = bridge.fitReport().choices;
    expect(Object.keys(choices)).toEqual(['constructor']);
    expect(Object.hasOwn(choices, 'constructor')).toBe(true);
    expect((new Map(Object.entries(choices)).get('constructor') as { sources: string[] }).sources).toEqual(['__proto__']);
    const mf = new Mf({ factors: 4, iterations: 2, domain: 'constructor' });
    await mf.fit(data);
    const byDomain = mf.fitReport().stats.domains as Record<string, unknown>;
    expect(Object.keys(byDomain).sort()).toEqual(['__proto__', 'constructor']);
  });
});

describe('ids in messages', () => {
  it('an unknown id is quoted as a short excerpt with control characters escaped', async () => {
    const data = Dataset.fromEvents(parseEvents(text(), { label: 'names.csv', behaviorWeights: new Map([['__proto__', 2]]) }));
    const m = new Mf({ factors: 4, iterations: 1, domain: 'constructor' });
    await m.fit(data);
    const id = `${'x'.repeat(5000)}\u001b[31m`;
    let message = '';
    try {
      m.recommend(id);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.length).toBeLessThan(300);
    expect(message).not.toContain('\u001b');
    expect(m.recommend.bind(m, 'a\u001bb')).toThrow('unknown user "a\\u001bb": not in the training data');
  });
});
