import { describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { realData } from './helpers/data.js';

// Reference table of ../shared/data/README.md (computed independently in Python): popularity on
// the cold test users, full ranking, ties by the item's numeric id.
const REFERENCE = {
  videogames: { 'hr@10': 0.1296, 'recall@10': 0.0248, 'ndcg@10': 0.0275, 'mrr@10': 0.0587 },
  toys: { 'hr@10': 0.0519, 'recall@10': 0.0073, 'ndcg@10': 0.0082, 'mrr@10': 0.0186 },
};

const amazon = realData('amazon-toys-videogames');

describe.skipIf(!amazon.available)(`Amazon Toys<->Video Games (${amazon.path})`, () => {
  /** `migrec eval --json` of the given models on the canonical split. */
  const evalJson = (models: string) =>
    cli('eval', '--train', `${amazon.path}/train.csv`, '--valid', `${amazon.path}/valid.csv`, '--test', `${amazon.path}/test.csv`, '--models', models, '--json');

  it('popularity on cold test users matches the reference to 1e-3', async () => {
    const r = await evalJson('popularity');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.split).toEqual({ train: 311127, valid: 2816, test: 2762 });
    for (const [domain, ref] of Object.entries(REFERENCE)) {
      const row = out.results.find((x: { domain: string; segment: string }) => x.domain === domain && x.segment === 'cold');
      expect(row.users).toBe(domain === 'toys' ? 212 : 216);
      for (const [metric, value] of Object.entries(ref)) expect(Math.abs(row[metric] - value), `${domain} ${metric}`).toBeLessThan(1e-3);
    }
  });

  // Acceptance of the fused model (issue 6): above the best single model of the same run, and at
  // least 1.1x the best reference of the data README. Fits every component (about 40 s on 2 cores).
  it('migrec beats the bridge and the 1.1x reference floor on cold test users in both directions', async () => {
    const r = await evalJson('bridge,migrec');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    const ndcg = (model: string, domain: string): number =>
      out.results.find((x: { model: string; domain: string; segment: string }) => x.model === model && x.domain === domain && x.segment === 'cold')['ndcg@10'];
    for (const [domain, floor] of [['videogames', 0.076], ['toys', 0.043]] as const) {
      expect(ndcg('migrec', domain), `${domain} migrec vs bridge`).toBeGreaterThan(ndcg('bridge', domain));
      expect(ndcg('migrec', domain), `${domain} migrec vs floor`).toBeGreaterThanOrEqual(floor);
    }
  }, 300_000);
});
