/**
 * Write a seeded synthetic two-domain events CSV (user,item,domain,behavior,timestamp) with the
 * library's generator (src/data/synthetic.ts) and print a one-line summary. Never writes into the
 * repository: the default output is under /tmp.
 *
 * Usage: npx tsx bench/gen-two-domain.ts [--events N] [--seed S] [--out FILE] [--users N]
 *   [--items N] [--domains a,b] [--overlap F] [--clusters N] [--zipf X] [--noise F]
 *   [--behaviors view=0.8,cart=0.15,buy=0.05] [--days N] [--start UNIX_SECONDS] [--json]
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { isOptionError } from '../src/errors.js';
import { writeTwoDomainCsv, type TwoDomainOptions } from '../src/data/synthetic.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    users: { type: 'string' },
    items: { type: 'string' },
    domains: { type: 'string' },
    overlap: { type: 'string' },
    clusters: { type: 'string' },
    zipf: { type: 'string' },
    noise: { type: 'string' },
    behaviors: { type: 'string' },
    days: { type: 'string' },
    start: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});

const options: TwoDomainOptions = {};
const o = options as Record<string, unknown>;
for (const key of ['events', 'seed', 'users', 'items', 'overlap', 'clusters', 'zipf', 'noise', 'days', 'start'] as const) {
  const v = values[key];
  if (v !== undefined) o[key] = v.trim() === '' ? NaN : Number(v.replace(/_/g, ''));
}
if (values.domains !== undefined) options.domains = values.domains.split(',');
if (values.behaviors !== undefined) {
  const mix: Record<string, number> = Object.create(null);
  for (const part of values.behaviors.split(',')) {
    const [name, w] = part.split('=');
    mix[name.trim()] = w === undefined ? NaN : Number(w);
  }
  options.behaviors = mix;
}

const out = resolve(values.out ?? `/tmp/migrec-two-domain-${options.events ?? 200000}-seed${options.seed ?? 0}.csv`);
const repo = resolve(new URL('..', import.meta.url).pathname);
if (out === repo || out.startsWith(`${repo}/`)) {
  process.stderr.write(`gen-two-domain: refusing to write inside the repository (${out}); use a path under /tmp\n`);
  process.exit(2);
}

const t0 = performance.now();
try {
  const s = writeTwoDomainCsv(out, options);
  const seconds = (performance.now() - t0) / 1000;
  const rssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  const [a, b] = s.domains;
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ out, rows: s.rows, users: s.users, items: s.items, overlapUsers: s.overlapUsers, seconds, peak_rss_mb: rssMb })}\n`);
  } else {
    process.stdout.write(
      `${out}: ${s.rows} rows, ${s.users} users, items ${a} ${s.items[a]} / ${b} ${s.items[b]}, ` +
        `${s.overlapUsers} users in both domains, seed ${s.options.seed}, ${seconds.toFixed(2)} s, peak RSS ${rssMb} MB\n`,
    );
  }
} catch (e) {
  if (isOptionError(e)) {
    process.stderr.write(`gen-two-domain: ${e.message}\n`);
    process.exit(2);
  }
  throw e;
}
