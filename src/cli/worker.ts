/** `migrec worker`: take migrec's jobs (distributed fit stages, batch scoring parts) from a Redis queue until SIGTERM. */
import { availableParallelism } from 'node:os';
import { startWorker, UsageError, type WorkerOptions } from '../index.js';
import { parseNumber, parseThreads, required, type CliIO, type Command, type Values } from './args.js';

const WORKER_OPTIONS = {
  redis: { type: 'string' },
  queue: { type: 'string', default: 'migrec' },
  threads: { type: 'string' },
  concurrency: { type: 'string' },
  'lock-ms': { type: 'string' },
  'stalled-ms': { type: 'string' },
  'cache-mb': { type: 'string' },
  verbose: { type: 'boolean', default: false },
} as const;

const WORKER_HELP = `Usage: migrec worker --redis URL [--queue NAME] [--threads N] [--concurrency N] [--verbose]

Takes migrec's jobs from a Redis queue and runs them on a kernel pool of its own: the stages of
\`migrec fit --redis\` and the parts of \`migrec recommend --users --redis\`. Run one per machine
(or several); the work directory and model files must be at the same path on every machine.
SIGTERM (or Ctrl-C) lets the running jobs finish, then exits 0; a second one hands them back.

Options:
  --redis URL           Redis, e.g. redis://127.0.0.1:6379 (rediss:// for TLS, /N for database N)
  --queue NAME          queue name, the one the submitters use (default migrec)
  --threads N           threads of this worker's kernel pool (default: cores)
  --concurrency N       jobs run at the same time (default: --threads)
  --lock-ms N           job lock duration: a dead worker's job goes to another after this long
                        (default 30000; renewed every N/2 ms from the event loop)
  --stalled-ms N        how often to look for jobs of dead workers (default 30000)
  --cache-mb N          input arrays kept in memory between jobs of a run (default 1024)
  --verbose             one line per job on stderr (started, done, failed)
`;

/** `migrec worker`. */
export const worker: Command = { options: () => WORKER_OPTIONS, help: () => WORKER_HELP, run: workerCommand };

async function workerCommand(v: Values, io: CliIO): Promise<number> {
  const redis = required(v, 'redis', 'worker');
  const ms = (flag: string) => (v[flag] === undefined ? undefined : parseNumber(String(v[flag]), `--${flag}`, (x) => Number.isInteger(x) && x >= 100, 'an integer >= 100'));
  const threads = v.threads === undefined ? availableParallelism() : parseThreads(String(v.threads));
  if (threads === 0) throw new UsageError('--threads must be at least 1 for a worker');
  const options: WorkerOptions = {
    redis,
    queue: String(v.queue),
    threads,
    concurrency: v.concurrency === undefined ? undefined : parseNumber(String(v.concurrency), '--concurrency', (x) => Number.isInteger(x) && x >= 1, 'a positive integer'),
    lockDurationMs: ms('lock-ms'),
    stalledIntervalMs: ms('stalled-ms'),
    cacheBytes: v['cache-mb'] === undefined ? undefined : parseNumber(String(v['cache-mb']), '--cache-mb', (x) => x > 0, 'a positive number') * 2 ** 20,
    log: (line) => {
      if (v.verbose || !line.startsWith('job ') || line.includes(' failed: ')) io.stderr(`migrec worker: ${line}\n`);
    },
  };
  const w = await startWorker(options);
  await new Promise<void>((resolve) => {
    let signals = 0;
    const stop = () => {
      signals++;
      void w.close(signals > 1).then(resolve, resolve);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  return 0;
}
