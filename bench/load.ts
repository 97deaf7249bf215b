/**
 * Loading benchmark: writes a seeded synthetic events file (long-tail items, two domains,
 * behaviour types, timestamps) and loads it in a child process, printing wall time and peak RSS
 * of the load + CSR build. Usage: npx tsx bench/load.ts [--rows 10000000] [--users 1000000] [--items 200000]
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rng } from '../src/random.js';
import { machine } from './machine.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '10000000' },
    users: { type: 'string', default: '1000000' },
    items: { type: 'string', default: '200000' },
    child: { type: 'string' },
    runs: { type: 'string', default: '1' },
  },
});

if (values.child) {
  // Child: load and build, then report.
  const { loadEvents, Dataset } = await import('../src/index.js');
  const t0 = performance.now();
  const events = await loadEvents(values.child);
  const t1 = performance.now();
  const data = Dataset.fromEvents(events);
  let nnz = 0;
  for (let d = 0; d < data.nDomains; d++) nnz += data.matrix(d).indices.length;
  const t2 = performance.now();
  const rssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(
    JSON.stringify({ rows: events.length, users: data.nUsers, nnz, load_s: (t1 - t0) / 1000, csr_s: (t2 - t1) / 1000, peak_rss_mb: Math.round(rssMb) }) + '\n',
  );
  process.exit(0);
}

const rows = Number(values.rows);
const nUsers = Number(values.users);
const nItems = Number(values.items);
const dir = '/tmp/migrec-bench';
mkdirSync(dir, { recursive: true });
const path = `${dir}/events-${rows}.csv`;
if (!existsSync(path)) {
  const rng = new Rng(20261128);
  const out = createWriteStream(path);
  out.write('user,item,domain,behavior,timestamp\n');
  const behaviors = ['pv', 'pv', 'pv', 'pv', 'pv', 'pv', 'fav', 'cart', 'buy'];
  let buf = '';
  for (let r = 0; r < rows; r++) {
    const u = rng.int(nUsers);
    // Long tail: item = floor(n * x^3) puts most rows on few items.
    const x = rng.next();
    const it = Math.floor(nItems * x * x * x);
    const d = u % 3 === 0 ? 'books' : 'music';
    buf += `u${u},i${it},${d},${behaviors[rng.int(behaviors.length)]},${1511500000 + rng.int(900000)}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((res) => out.once('drain', () => res()));
      buf = '';
    }
  }
  out.write(buf);
  await new Promise<void>((res) => out.end(() => res()));
}
const self = fileURLToPath(import.meta.url);
const results = [];
for (let i = 0; i < Number(values.runs); i++) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', self, '--child', path], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(r.stderr);
  results.push(JSON.parse(r.stdout));
}
console.log(JSON.stringify({ machine: machine(), file: path, bytes: statSync(path).size, results }, null, 2));
