/** `migrec recommend`: load a model file and recommend for one user or a file of users. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { availableParallelism } from 'node:os';
import { createPool, DataError, loadModel, UsageError, type KernelPool, type RecommendOptions } from '../index.js';
import { parseNumber, type CliIO } from './run.js';

export const RECOMMEND_OPTIONS = {
  model: { type: 'string' },
  user: { type: 'string' },
  users: { type: 'string' },
  k: { type: 'string', default: '10' },
  domain: { type: 'string' },
  fallback: { type: 'string', default: 'none' },
  category: { type: 'string', multiple: true },
  'min-price': { type: 'string' },
  'max-price': { type: 'string' },
  threads: { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

export const RECOMMEND_HELP = `Usage: migrec recommend --model FILE --user U [--k 10] [--domain D] [--json]
       migrec recommend --model FILE --users FILE [--k 10] [--threads N]

Recommends items from a model saved by \`migrec fit --out\`. With --user it prints one result
({ "user", "items", "scores" } with --json); with --users (a file with one user id per line) it
streams one JSON object per line, computed in batches on the worker pool.

Options:
  --model FILE          a model file
  --user U              the user
  --users FILE          a file of user ids, one per line
  --k N                 number of items (default 10)
  --domain D            domain to recommend in (default: the model's target domain)
  --fallback F          none (unknown users are an error) or popularity (default none)
  --category C          only items of this category (repeatable; needs a model fitted with --items)
  --min-price X         only items priced at least X (needs --items at fit time)
  --max-price X         only items priced at most X
  --threads N           worker threads for --users; 0 runs in this thread (default: cores)
  --json                print JSON (always on with --users)
`;

/** Run `migrec recommend`. */
export async function recommendCommand(values: Record<string, unknown>, io: CliIO): Promise<number> {
  const v = values as Record<string, string | boolean | undefined>;
  if (typeof v.model !== 'string') throw new UsageError('missing required option --model (see `migrec recommend --help`)');
  if ((v.user === undefined) === (v.users === undefined)) throw new UsageError('give exactly one of --user and --users');
  const k = parseNumber(String(v.k), '--k', (x) => Number.isInteger(x) && x > 0, 'a positive integer');
  const fallback = String(v.fallback);
  if (fallback !== 'none' && fallback !== 'popularity') throw new UsageError(`--fallback must be none or popularity (got ${JSON.stringify(fallback)})`);
  const opts: RecommendOptions = { k, domain: v.domain as string | undefined, fallback };
  const vv = values as Record<string, string | string[] | undefined>;
  if (vv.category !== undefined) opts.categories = vv.category as string[];
  if (vv['min-price'] !== undefined) opts.minPrice = parseNumber(String(vv['min-price']), '--min-price');
  if (vv['max-price'] !== undefined) opts.maxPrice = parseNumber(String(vv['max-price']), '--max-price');
  if (v.user !== undefined) {
    const model = await loadModel(v.model);
    const r = model.recommend(String(v.user), opts);
    if (v.json) io.stdout(`${JSON.stringify({ user: v.user, items: r.items, scores: Array.from(r.scores) })}\n`);
    else io.stdout(r.items.map((it, i) => `${i + 1}\t${it}\t${r.scores[i].toPrecision(6)}`).join('\n') + (r.items.length ? '\n' : ''));
    return 0;
  }
  const threads = v.threads === undefined ? availableParallelism() : parseNumber(String(v.threads), '--threads', (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
  let pool: KernelPool | undefined;
  try {
    if (threads > 0) pool = createPool({ threads });
    const model = await loadModel(v.model, { pool });
    const lines = createInterface({ input: createReadStream(String(v.users)), crlfDelay: Infinity });
    let batch: string[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const r = await model.recommendBatch(batch, opts);
      let out = '';
      for (let i = 0; i < r.length; i++) {
        const x = r.get(i);
        out += `${JSON.stringify({ user: batch[i], items: x.items, scores: Array.from(x.scores) })}\n`;
      }
      io.stdout(out);
      batch = [];
    };
    try {
      for await (const line of lines) {
        const id = line.trim();
        if (id === '') continue;
        batch.push(id);
        if (batch.length >= 4096) await flush();
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new DataError({ file: String(v.users) }, `file not found: ${String(v.users)}`);
      throw e;
    }
    await flush();
    return 0;
  } finally {
    await pool?.close();
  }
}
