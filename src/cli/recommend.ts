/** `migrec recommend`: load a model file and recommend for one user or a file of users. */
import { createReadStream, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { createPool, DataError, loadModel, recommendationLines, scoreOnCluster, StorageError, UsageError, type KernelPool, type Recommendation, type Recommender, type RecommendOptions } from '../index.js';
import { clearProgress, many, parseNumber, parseThreads, progressLine, required, type CliIO, type Command, type Values } from './args.js';
import { unknownUser } from './failure.js';

const RECOMMEND_OPTIONS = {
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
  strict: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  redis: { type: 'string' },
  out: { type: 'string' },
  queue: { type: 'string' },
  'part-size': { type: 'string' },
} as const;

const RECOMMEND_HELP = `Usage: migrec recommend --model FILE --user U [--k 10] [--domain D] [--fallback popularity] [--json]
       migrec recommend --model FILE --users FILE [--k 10] [--threads N] [--strict]
       migrec recommend --model FILE --users FILE --redis URL --out DIR [--part-size N] [--queue NAME]

Recommends items from a model saved by \`migrec fit --out\`. With --user it prints one result
({ "user", "items", "scores", "fallback" } with --json); a list made by the popularity fallback is
marked. With --users (a file with one user id per line) it prints one JSON object per line, in
the order of the file, computed in batches on the worker pool; an unknown user gets the line
{ "user", "error": { "code": "UNKNOWN_ID", "message" } } (or the fallback list with
--fallback popularity), and the exit status is 2 only when every user failed.

Options:
  --model FILE          a model file
  --user U              the user
  --users FILE          a file of user ids, one per line (a regular file or a pipe; lines up to 1 MiB)
  --k N                 number of items (default 10; more than the domain has gives every item)
  --domain D            domain to recommend in (default: the model's target domain)
  --fallback F          none (unknown users are an error) or popularity (default none)
  --strict              with --users: stop with status 2 at the first unknown user
  --category C          only items of this category (repeatable; needs a model fitted with --items)
  --min-price X         only items priced at least X (needs --items at fit time)
  --max-price X         only items priced at most X
  --threads N           worker threads for --users; 0 runs in this thread (default: cores)
  --json                print JSON (always on with --users)
  --redis URL           with --users: score on \`migrec worker\` processes through this Redis, in parts
                        DIR/part-00000.jsonl, ... (the lines --users prints, in order when the parts
                        are concatenated); a rerun scores only missing parts; prints a summary
                        { out, parts, reused, users, failed } (see docs/deployment.md)
  --out DIR             with --redis: where the parts go (shared with the workers; made if missing)
  --part-size N         with --redis: users per part, one job each (default 10000)
  --queue NAME          with --redis: the workers' queue (default migrec)
`;

/** `migrec recommend`. */
export const recommend: Command = { options: () => RECOMMEND_OPTIONS, help: () => RECOMMEND_HELP, run: recommendCommand };

/** Users scored per `recommendBatch` call with --users. */
const BATCH = 8192;

/** Run `migrec recommend`. */
async function recommendCommand(v: Values, io: CliIO): Promise<number> {
  const modelPath = required(v, 'model', 'recommend');
  if ((v.user === undefined) === (v.users === undefined)) throw new UsageError('give exactly one of --user and --users');
  const k = parseNumber(String(v.k), '--k', (x) => Number.isInteger(x) && x > 0, 'a positive integer');
  const fallback = String(v.fallback);
  if (fallback !== 'none' && fallback !== 'popularity') throw new UsageError(`--fallback must be none or popularity (got ${JSON.stringify(fallback)})`);
  if (v.strict && v.user !== undefined) throw new UsageError('--strict is for --users');
  const opts: RecommendOptions = { k, domain: v.domain as string | undefined, fallback };
  if (v.category !== undefined) opts.categories = many(v.category);
  if (v['min-price'] !== undefined) opts.minPrice = parseNumber(String(v['min-price']), '--min-price');
  if (v['max-price'] !== undefined) opts.maxPrice = parseNumber(String(v['max-price']), '--max-price');
  if (v.redis !== undefined || v.out !== undefined) return recommendOnCluster(modelPath, v, opts, io);
  for (const f of ['queue', 'part-size']) if (v[f] !== undefined) throw new UsageError(`--${f} is for a distributed scoring: give --redis URL and --out DIR too`);
  if (v.user !== undefined) {
    const user = String(v.user);
    const model = await loadModel(modelPath);
    try {
      if (fallback === 'none' && !model.hasUser(user)) throw unknownUser(user);
      const r = model.recommend(user, opts);
      if (v.json) io.stdout(`${JSON.stringify(resultJson(user, r))}\n`);
      else {
        const head = r.fallback ? '(popularity fallback: unknown user)\n' : '';
        io.stdout(head + r.items.map((it, i) => `${i + 1}\t${it}\t${r.scores[i].toPrecision(6)}\n`).join(''));
      }
      return 0;
    } finally {
      await model.close();
    }
  }
  const threads = v.threads === undefined ? availableParallelism() : parseThreads(String(v.threads));
  let pool: KernelPool | undefined;
  try {
    if (threads > 0) pool = createPool({ threads });
    const model = await loadModel(modelPath, { pool });
    try {
      const { users, failed } = await recommendFile(model, String(v.users), opts, v.strict === true, io);
      if (failed > 0 && failed === users) {
        io.stderr(`migrec: none of the ${users} users in ${String(v.users)} is known to the model (use --fallback popularity to recommend popular items)\n`);
        return 2;
      }
      if (failed > 0) io.stderr(`migrec: ${failed} of ${users} users in ${String(v.users)} are unknown to the model (their lines hold an error)\n`);
      return 0;
    } finally {
      await model.close();
    }
  } finally {
    await pool?.close();
  }
}

/** `recommend --users FILE --redis URL --out DIR`: the parts scored by the workers. */
async function recommendOnCluster(model: string, v: Values, opts: RecommendOptions, io: CliIO): Promise<number> {
  if (v.redis === undefined || v.out === undefined) throw new UsageError('--redis and --out go together: --redis URL --out DIR (a directory shared with the workers)');
  if (v.users === undefined) throw new UsageError('--redis is for --users FILE (one --user is answered here)');
  if (v.strict) throw new UsageError('--strict is not available with --redis (unknown users get error lines in the parts)');
  if (v.threads !== undefined) throw new UsageError('--threads is for scoring in this process: with --redis the workers score');
  const path = String(v.users);
  async function* ids(): AsyncGenerator<string> {
    for await (const line of idLines(path)) {
      const id = line.trim();
      if (id !== '') yield id;
    }
  }
  const partSize = v['part-size'] === undefined ? undefined : parseNumber(String(v['part-size']), '--part-size', (x) => Number.isInteger(x) && x > 0, 'a positive integer');
  const line = progressLine(io, false);
  const onProgress = line && ((p: { done: number; total: number }) => line({ model: 'cluster', stage: 'score jobs', done: p.done, total: p.total }));
  const r = await scoreOnCluster(ids(), { redis: String(v.redis), queue: v.queue as string | undefined, model, out: String(v.out), partSize, options: opts, onProgress });
  clearProgress(io, line);
  io.stdout(`${JSON.stringify(r)}\n`);
  if (r.failed > 0 && r.failed === r.users) {
    io.stderr(`migrec: none of the ${r.users} users in ${path} is known to the model (use --fallback popularity to recommend popular items)\n`);
    return 2;
  }
  if (r.failed > 0) io.stderr(`migrec: ${r.failed} of ${r.users} users in ${path} are unknown to the model (their lines hold an error)\n`);
  return 0;
}

/** One result line of `recommend --json`. */
function resultJson(user: string, r: Recommendation): { user: string; items: string[]; scores: number[]; fallback: boolean } {
  return { user, items: r.items, scores: Array.from(r.scores), fallback: r.fallback };
}

/**
 * Recommend for every user of a file, one JSON line each in file order, in batches of the known
 * users. Two batches are in flight: the next one is prepared and queued on the pool while the
 * pool still scores the last, whose lines are then formatted and written, so neither the pool
 * nor this thread waits for the other between batches. Lines are written in file order.
 * @throws {UnknownIdError} with `strict`, at the first unknown user (after the lines before it)
 */
async function recommendFile(model: Recommender, path: string, opts: RecommendOptions, strict: boolean, io: CliIO): Promise<{ users: number; failed: number }> {
  const scoreAll = opts.fallback === 'popularity';
  let users = 0;
  let failed = 0;
  let batch: string[] = [];
  let inFlight: Promise<{ text: string; failed: number }> | undefined;
  const write = async () => {
    if (!inFlight) return;
    const part = await inFlight;
    inFlight = undefined;
    failed += part.failed;
    io.stdout(part.text);
  };
  const flush = async () => {
    if (batch.length === 0) return;
    const next = recommendationLines(model, batch, opts);
    next.catch(() => {}); // awaited below; a failure must not surface as unhandled while the previous batch is written
    batch = [];
    await write();
    inFlight = next;
  };
  try {
    for await (const line of idLines(path)) {
      const id = line.trim();
      if (id === '') continue;
      users++;
      if (strict && !scoreAll && !model.hasUser(id)) {
        await flush();
        await write();
        throw unknownUser(id);
      }
      batch.push(id);
      if (batch.length >= BATCH) await flush();
    }
    await flush();
    await write();
  } catch (e) {
    // A failure while reading the file: the batch in flight was scored from lines read before it,
    // so its lines are written first, as they were when batches ran one at a time.
    await write().catch(() => {});
    throw e;
  }
  return { users, failed };
}

/** Longest line of a --users file, in bytes. */
const MAX_LINE = 2 ** 20;

/**
 * The lines of a --users file (a regular file or a pipe), each at most `MAX_LINE` bytes.
 * @throws {DataError} for a missing path, a directory, a device or socket, or a longer line;
 * {StorageError} when it cannot be read
 */
async function* idLines(path: string): AsyncGenerator<string> {
  const where = { file: path };
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw new DataError(where, `file not found: ${path}`);
  if (st.isDirectory()) throw new DataError(where, 'a directory, not a file of user ids (--users takes one id a line)');
  if (!st.isFile() && !st.isFIFO()) throw new DataError(where, 'not a regular file or a pipe (a device or socket): --users takes a file of user ids, one a line');
  let parts: Buffer[] = [];
  let pending = 0;
  let line = 0;
  const tooLong = () => new DataError({ file: path, line: line + 1 }, `line ${line + 1} is longer than ${MAX_LINE} bytes: --users takes a file of user ids, one a line`);
  // Ids must be UTF-8: an invalid byte is an error, never a U+FFFD that could match another id.
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const decode = (bytes: Buffer, lineNo: number): string => {
    try {
      return utf8.decode(bytes);
    } catch {
      throw new DataError({ file: path, line: lineNo }, 'not valid UTF-8: --users takes a UTF-8 file of user ids');
    }
  };
  try {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      let start = 0;
      for (let nl = chunk.indexOf(10); nl >= 0; nl = chunk.indexOf(10, start)) {
        if (pending + nl - start > MAX_LINE) throw tooLong();
        parts.push(chunk.subarray(start, nl));
        const text = decode(Buffer.concat(parts), line + 1);
        line++;
        parts = [];
        pending = 0;
        start = nl + 1;
        yield text;
      }
      if (start < chunk.length) {
        parts.push(chunk.subarray(start));
        pending += chunk.length - start;
        if (pending > MAX_LINE) throw tooLong();
      }
    }
  } catch (e) {
    const sys = e as NodeJS.ErrnoException;
    if (sys?.syscall === undefined) throw e;
    throw new StorageError(`--users ${path}: cannot be read (${sys.code ?? sys.message})`);
  }
  if (pending > 0) yield decode(Buffer.concat(parts), line + 1);
}
