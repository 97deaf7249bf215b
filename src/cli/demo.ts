/**
 * `migrec demo`: the whole job on data that needs no download. It writes a seeded synthetic
 * two-domain log (books and music), makes a cold-start split (some users' music rows held out),
 * fits popularity, the bridge, EMCDR and the fused model, prints their full-ranking metrics on the
 * cold users, then one cold user's books history, their music recommendations and why the top one
 * was chosen, and saves the files and the fitted model for the next commands. Everything it writes
 * is inside --out (default: a fresh temporary folder).
 */
import { accessSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, statSync, writeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  coldStartSplit,
  createModel,
  createPool,
  Dataset,
  evaluate,
  FitCache,
  loadEvents,
  StorageError,
  UsageError,
  writeTwoDomainCsv,
  type EvalResult,
  type EventTable,
  type KernelPool,
  type Recommender,
} from '../index.js';
import { parseNumber, parseThreads, type CliIO, type Command, type FlagOptions, type Values } from './args.js';
import { metricsTable, timingsLine } from './eval.js';
import { formatExplanation } from './explain.js';
import { accepts, narrowsToTarget } from './modelflags.js';

const DEMO_OPTIONS = {
  events: { type: 'string', default: '200000' },
  seed: { type: 'string', default: '0' },
  out: { type: 'string' },
  threads: { type: 'string' },
  quiet: { type: 'boolean', default: false },
} satisfies FlagOptions;

/** The smallest and largest --events: below a few thousand the split has too few cold users to say anything. */
const [MIN_EVENTS, MAX_EVENTS] = [2000, 10_000_000];
const [SOURCE, TARGET] = ['books', 'music'];
/** The models of the table, in the order printed; fitted fused model first so EMCDR reuses its ALS factors (one fit cache). */
const SHOWN = ['popularity', 'bridge', 'emcdr', 'migrec'];
const FIT_ORDER = ['migrec', 'emcdr', 'bridge', 'popularity'];
const K = 10;

const DEMO_HELP = `Usage: migrec demo [--events N] [--seed S] [--out DIR] [--threads N]

Runs migrec end to end on a seeded synthetic log, with no download and no network: users with
tastes that carry from books to music, 35% of them active in both, Zipf item popularity,
view/cart/buy rows with timestamps. It holds out the music rows of 20% of the users active in
both (10% more for validation), fits popularity, bridge (cross-domain kNN), emcdr (a transfer
model) and migrec (the fused model), prints NDCG and the other metrics on those cold users, then
one of them: their books history, their music recommendations and the explanation of the top one.
The same seed gives the same figures.

Writes only inside --out: events.csv (the log), train.csv, valid.csv, test.csv (the split) and
migrec.migrec (the fitted fused model, for \`migrec recommend\`, \`explain\` and \`serve\`).

Options:
  --events N            rows of the log, ${MIN_EVENTS} to ${MAX_EVENTS} (default 200000)
  --seed S              seed of the log, the split and the models (default 0)
  --out DIR             folder for the files, created when missing (default: a new folder in ${tmpdir()})
  --threads N           worker threads of the kernel pool; 0 runs in this thread (default: cores)
  --quiet               no progress line (it is drawn on stderr only when stderr is a terminal)
`;

/** `migrec demo`; `commands` names the CLI's commands (the next steps printed include only those that exist). */
export function demoCommand(commands: () => readonly string[]): Command {
  return { options: () => DEMO_OPTIONS, help: () => DEMO_HELP, run: (v, io) => demo(v, io, commands()) };
}

/** Run `migrec demo`. */
async function demo(v: Values, io: CliIO, commands: readonly string[]): Promise<number> {
  const t0 = performance.now();
  const events = parseNumber(String(v.events), '--events', (x) => Number.isInteger(x) && x >= MIN_EVENTS && x <= MAX_EVENTS, `an integer from ${MIN_EVENTS} to ${MAX_EVENTS}`);
  const seed = parseNumber(String(v.seed), '--seed', Number.isSafeInteger, 'an integer');
  const threads = v.threads === undefined ? availableParallelism() : parseThreads(String(v.threads));
  const dir = outDir(v.out as string | undefined);
  const status = io.isTTY && v.quiet !== true ? (s: string) => io.stderr(`\r\x1b[2K${s}`) : () => undefined;
  const files = { events: join(dir, 'events.csv'), train: join(dir, 'train.csv'), valid: join(dir, 'valid.csv'), test: join(dir, 'test.csv'), model: join(dir, 'migrec.migrec') };

  // 1. The log, read back as any events file is, and the cold-start split.
  status('writing the log');
  const summary = writeTwoDomainCsv(files.events, { events, seed });
  const all = await loadEvents(files.events);
  const made = coldStartSplit(all, { source: SOURCE, target: TARGET, beta: 0.2, validBeta: 0.1, seed });
  for (const part of ['train', 'valid', 'test'] as const) writeEventsCsv(files[part], made[part]);
  // The split is read back from its files, as \`migrec eval\` and \`migrec fit\` read them: the commands
  // printed at the end give the same figures and the same model.
  const train = await loadEvents(files.train);
  // The training catalogue is frozen before the held-out rows add their ids (as in \`migrec eval\`).
  const data = Dataset.fromEvents(train);
  const split = { train, valid: await loadEvents(files.valid, { vocab: train.vocab }), test: await loadEvents(files.test, { vocab: train.vocab }) };
  const t = train.vocab.domainIndex(TARGET);
  const s = train.vocab.domainIndex(SOURCE);
  const heldUsers = (table: EventTable) => new Set(Array.from(table.user)).size;
  const out: string[] = [
    `migrec demo: ${fmt(summary.rows)} synthetic events (seed ${seed}): ${fmt(summary.users)} users, ${fmt(summary.overlapUsers)} of them in both domains; ` +
      `${SOURCE} ${fmt(summary.items[SOURCE])} items, ${TARGET} ${fmt(summary.items[TARGET])} items`,
    `cold-start split ${SOURCE} -> ${TARGET}: the ${TARGET} rows of ${fmt(heldUsers(split.test))} test and ${fmt(heldUsers(split.valid))} validation users held out ` +
      `(train ${fmt(split.train.length)} rows, valid ${fmt(split.valid.length)}, test ${fmt(split.test.length)})`,
  ];
  io.stdout(`${out.join('\n')}\n\n`);

  // 2. Fit and evaluate, one fit cache for the run; the fused model stays open for the walk-through.
  let pool: KernelPool | undefined;
  let example = { user: '', item: '' };
  const models = new Map<string, Recommender>();
  try {
    if (threads > 0) pool = createPool({ threads });
    const cache = new FitCache();
    const results = new Map<string, EvalResult[]>();
    const timings: Record<string, { fit_s: number; score_s: number }> = {};
    let unknown = 0;
    for (const name of FIT_ORDER) {
      const options: Record<string, unknown> = {};
      if (name === 'migrec') options.target = TARGET;
      else if (narrowsToTarget(name)) options.targets = [TARGET];
      if (pool !== undefined && accepts(name, 'pool')) options.pool = pool;
      const model = createModel(name, options);
      models.set(name, model);
      status(`fitting ${name}`);
      const report = await evaluate(data, split.test, [model], { ks: [K], valid: split.valid, seed, cache, perUser: name === 'migrec' });
      results.set(name, report.results.filter((r) => r.segment === 'cold'));
      timings[name] = report.timings[name];
      unknown = report.unknownItems.rows;
      if (name !== 'migrec') {
        await model.close();
        models.delete(name);
      }
    }
    status('');
    const cold = results.get('migrec')![0];
    const shown = SHOWN.flatMap((m) => results.get(m)!);
    const warm = heldUsers(split.test) - cold.users;
    io.stdout(
      [
        `Full ranking of the ${fmt(data.nItems(t))} ${TARGET} items for the ${fmt(cold.users)} test users, who have no ${TARGET} rows in training` +
          (warm > 0 ? ` (${warm} more are warm: not shown)` : '') + ':',
        '',
        ...metricsTable(shown),
        '',
        ...(unknown > 0 ? [`(${unknown} held-out rows name ${TARGET} items without training rows: they count as relevant and cannot be recommended)`] : []),
        timingsLine(Object.fromEntries(SHOWN.map((m) => [m, timings[m]]))),
        '',
        '',
      ].join('\n'),
    );

    // 3. One cold user, their source history, the fused model's list, and why its top item.
    const fused = models.get('migrec')!;
    const shownUser = walkThrough(fused, split, cold, s, t);
    io.stdout(shownUser.text);
    example = shownUser;
    status('saving the model');
    await fused.save(files.model);
  } finally {
    for (const m of models.values()) await m.close();
    await pool?.close();
  }
  status('');
  io.stdout(nextSteps(files, example, commands, (performance.now() - t0) / 1000));
  return 0;
}

/** The cold user shown, their books history, the fused model's music list and the explanation of its first item. */
function walkThrough(fused: Recommender, split: { train: EventTable; test: EventTable }, cold: EvalResult, s: number, t: number): { text: string; user: string; item: string } {
  const { train, test } = split;
  const vocab = train.vocab;
  const sourceRows = new Map<number, number[]>();
  for (let r = 0; r < train.length; r++) {
    if (train.domain[r] !== s) continue;
    const u = train.user[r];
    const list = sourceRows.get(u);
    if (list) list.push(r);
    else sourceRows.set(u, [r]);
  }
  // The first cold test user (by id) with a short history and a hit in the fused top 10: a readable
  // example, and a picked one (the table above is the average).
  const { users, values } = cold.perUser!;
  const hits = values[`hr@${K}`];
  const short = (u: number) => {
    const n = sourceRows.get(u)?.length ?? 0;
    return n >= 4 && n <= 12;
  };
  let at = users.findIndex((u, i) => hits[i] > 0 && short(u));
  if (at < 0) at = users.findIndex((_, i) => hits[i] > 0);
  if (at < 0) at = 0;
  const u = users[at];
  const user = vocab.users.id(u);
  const held = new Set<string>();
  for (let r = 0; r < test.length; r++) if (test.user[r] === u && test.domain[r] === t) held.add(vocab.items(t).id(test.item[r]));
  const rows = (sourceRows.get(u) ?? []).sort((a, b) => train.timestamp[a] - train.timestamp[b] || a - b);
  const out = [
    `One of them, user ${user} (the first with 4 to 12 ${vocab.domains.id(s)} rows and a hit in migrec's top ${K}; ${held.size} ${vocab.domains.id(t)} items held out):`,
    `  their ${vocab.domains.id(s)} history in training:`,
    ...rows.map((r) => {
      const when = Number.isFinite(train.timestamp[r]) ? new Date(train.timestamp[r] * 1000).toISOString().slice(0, 10) : '-';
      return `    ${when}  ${vocab.behaviors.id(train.behavior[r]).padEnd(4)}  ${vocab.items(s).id(train.item[r])}`;
    }),
    `  migrec's ${vocab.domains.id(t)} recommendations (* = one of their held-out ${vocab.domains.id(t)} items):`,
  ];
  const rec = fused.recommend(user, { k: K, domain: vocab.domains.id(t) });
  const width = Math.max(...rec.items.map((i) => i.length));
  rec.items.forEach((item, q) => out.push(`    ${String(q + 1).padStart(2)}  ${item.padEnd(width)}  ${rec.scores[q].toFixed(4)}${held.has(item) ? '  *' : ''}`));
  if (rec.items.length > 0) {
    const e = fused.explain(user, rec.items[0], { domain: vocab.domains.id(t) });
    out.push(`  why ${rec.items[0]} (migrec explain):`, ...formatExplanation(e, 8).trimEnd().split('\n').map((l) => `    ${l}`));
  }
  return { text: `${out.join('\n')}\n\n`, user, item: rec.items[0] ?? '' };
}

/** Where the files are and what to run next (the commands that exist in this CLI). */
function nextSteps(files: Record<'events' | 'train' | 'valid' | 'test' | 'model', string>, example: { user: string; item: string }, commands: readonly string[], seconds: number): string {
  const size = (p: string) => `${(statSync(p).size / 1e6).toFixed(1)} MB`;
  const q = shellQuote;
  const lines = [
    `Files (${size(files.events)} log, ${size(files.model)} model):`,
    `  ${files.events}    the synthetic log (user,item,domain,behavior,timestamp)`,
    `  ${files.train}, valid.csv, test.csv    the cold-start split`,
    `  ${files.model}    the fitted fused model`,
    '',
    'Next:',
    `  npx migrec recommend --model ${q(files.model)} --user ${q(example.user)} --k 10`,
    `  npx migrec explain --model ${q(files.model)} --user ${q(example.user)} --item ${q(example.item)}`,
  ];
  if (commands.includes('serve')) lines.push(`  npx migrec serve --model ${q(files.model)}`);
  lines.push(
    `  npx migrec fit --train ${q(files.train)} --valid ${q(files.valid)} --target ${TARGET} --out my.migrec`,
    `  npx migrec eval --train ${q(files.train)} --valid ${q(files.valid)} --test ${q(files.test)} --models ${SHOWN.join(',')} --k ${K}`,
    '  (or your own events: columns user,item[,domain,behavior,timestamp]; see the README)',
    '',
    `done in ${seconds.toFixed(1)} s`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * The output folder: --out (created when missing; an existing one must be a writable directory) or
 * a new temporary folder. @throws {UsageError} for a path that is not a directory; {StorageError}
 * when it cannot be created or written.
 */
function outDir(out: string | undefined): string {
  if (out === undefined) return mkdtempSync(join(tmpdir(), 'migrec-demo-'));
  if (out === '') throw new UsageError('--out must name a directory (got "")');
  const cannot = (e: unknown) => new StorageError(`--out ${out}: cannot create the directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  let st: ReturnType<typeof statSync>;
  try {
    // ENOTDIR (a file on the way) and EACCES are thrown; a missing path is undefined.
    st = statSync(out, { throwIfNoEntry: false });
  } catch (e) {
    throw cannot(e);
  }
  if (st !== undefined && !st.isDirectory()) throw new UsageError(`--out ${out} is not a directory (the demo writes several files into it)`);
  if (st === undefined) {
    try {
      mkdirSync(out, { recursive: true });
    } catch (e) {
      throw cannot(e);
    }
  }
  try {
    accessSync(out, constants.W_OK);
  } catch {
    throw new StorageError(`--out ${out}: the directory is not writable`);
  }
  return resolve(out);
}

/** Write an event table as CSV (`user,item,domain,behavior,timestamp`, with a header), 64k rows a write. */
function writeEventsCsv(path: string, table: EventTable): void {
  const { vocab } = table;
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (e) {
    throw new StorageError(`cannot write ${path}: ${(e as Error).message}`);
  }
  try {
    let chunk = 'user,item,domain,behavior,timestamp\n';
    for (let r = 0; r < table.length; r++) {
      const d = table.domain[r];
      const b = table.behavior[r];
      const ts = table.timestamp[r];
      chunk += `${vocab.users.id(table.user[r])},${vocab.items(d).id(table.item[r])},${vocab.domains.id(d)},${b < vocab.behaviors.size ? vocab.behaviors.id(b) : ''},${Number.isFinite(ts) ? ts : ''}\n`;
      if ((r & 0xffff) === 0xffff) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    writeSync(fd, chunk);
  } catch (e) {
    throw new StorageError(`cannot write ${path}: ${(e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

/** 1,234,567 */
function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

/** A path as one shell word. */
function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
