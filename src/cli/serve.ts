/** `migrec serve`: serve a model file over HTTP (API, inspection page, metrics) until SIGTERM. */
import { availableParallelism } from 'node:os';
import { UsageError } from '../index.js';
import { parseNumber, parseThreads, required, type CliIO, type Command, type Values } from './args.js';
import { Service } from './serve/service.js';

const SERVE_OPTIONS = {
  model: { type: 'string' },
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '8080' },
  threads: { type: 'string', default: 'auto' },
  token: { type: 'string' },
  'max-body': { type: 'string', default: String(2 ** 20) },
  timeout: { type: 'string', default: '10000' },
  'max-batch': { type: 'string', default: '10000' },
  queue: { type: 'string', default: '10000' },
  cache: { type: 'string', default: '50000' },
} as const;

const SERVE_HELP = `Usage: migrec serve --model FILE [--host 127.0.0.1] [--port 8080] [--threads N] [--token T]

Serves a model file over HTTP until SIGTERM or SIGINT (which drain the requests in flight, then
exit 0); SIGHUP reloads the file. Logs one JSON object a line on stderr.

  GET  /                          the inspection page (/?user=U shows that user)
  GET  /v1/recommend?user=U&k=10[&domain=D][&fallback=popularity]
                                  { user, items, scores, fallback }, as \`migrec recommend --json\`
  POST /v1/recommend              { "users": [...], "k": 10, "domain"?, "fallback"? } -> { results:
                                  [{ user, items, scores, fallback } | { user, error }] }
  GET  /v1/explain?user=U&item=I[&domain=D]   the explanation, as \`migrec explain --json\`
  GET  /v1/similar-items?item=I[&k=10][&domain=D]
  GET  /v1/users/U                the user's rows per domain (and the fused model's bucket)
  GET  /v1/users?prefix=P[&limit=20]          user ids starting with P
  POST /v1/events                 { "user": U, "events": [{ "item", "domain"?, "weight"?, "behavior"? }] }
                                  folds new behaviour in (seen by the next recommend)
  GET  /v1/model                  the model card: sizes, fit date and seconds, validation, weights
  GET  /healthz, GET /metrics     health (JSON) and Prometheus metrics
  POST /v1/admin/reload           reload the model file (needs the token when one is set)

Errors are { "error": { "code", "message" } }: 400 bad parameter, 401 admin token missing,
404 unknown user (without fallback) or item, 413 body too large, 422 reload of a damaged file
(the old model serves on), 503 stopping, timed out or overloaded (--queue).

Recommendations are scored in micro-batches: requests with the same k, domain and fallback that
arrive while the scoring threads are busy are scored together (one recommendBatch per thread),
with the same answers as one by one.

Options:
  --model FILE          a model file (\`migrec fit --out\`)
  --host H              address to listen on (default 127.0.0.1)
  --port N              port; 0 picks a free one (default 8080)
  --threads N|auto      scoring threads, each with its own copy of the model (memory: one model
                        each); 0 scores in the server thread (default auto: the cores but one,
                        at least 1, at most 4)
  --token T             admin token (at least 8 characters): POST /v1/admin/reload needs
                        Authorization: Bearer T (without it, admin routes are open)
  --max-body N          largest request body in bytes (default 1048576)
  --timeout MS          time limit of a request, and of the drain on stop (default 10000)
  --max-batch N         most users in one POST /v1/recommend (default 10000)
  --queue N             most users waiting to be scored; more get 503 OVERLOADED (default 10000)
  --cache N             answers of GET /v1/recommend kept per model (default 50000; 0 turns it
                        off); a reload starts empty, POST /v1/events empties it
`;

/** `migrec serve`. */
export const serve: Command = { options: () => SERVE_OPTIONS, help: () => SERVE_HELP, run: serveCommand };

const positive = (x: number) => Number.isSafeInteger(x) && x > 0;

/** Run `migrec serve`: resolves with the exit status once the service has stopped. */
async function serveCommand(v: Values, io: CliIO): Promise<number> {
  const model = required(v, 'model', 'serve');
  const port = parseNumber(String(v.port), '--port', (x) => Number.isInteger(x) && x >= 0 && x <= 65535, 'an integer in 0..65535');
  // auto: one core for the server thread (HTTP), the others score (at least one, at most 4).
  const threads = v.threads === 'auto' ? Math.max(1, Math.min(availableParallelism() - 1, 4)) : parseThreads(String(v.threads));
  const token = v.token as string | undefined;
  if (token !== undefined && token.length < 8) throw new UsageError('--token must be at least 8 characters long');
  const service = await Service.start({
    model,
    host: String(v.host),
    port,
    threads,
    token,
    maxBody: parseNumber(String(v['max-body']), '--max-body', positive, 'a positive integer'),
    timeoutMs: parseNumber(String(v.timeout), '--timeout', positive, 'a positive integer'),
    maxBatch: parseNumber(String(v['max-batch']), '--max-batch', positive, 'a positive integer'),
    queue: parseNumber(String(v.queue), '--queue', positive, 'a positive integer'),
    cache: parseNumber(String(v.cache), '--cache', (x) => Number.isSafeInteger(x) && x >= 0, 'an integer >= 0'),
    log: (event) => io.stderr(`${JSON.stringify(event)}\n`),
  });
  const stop = () => void service.shutdown();
  const reload = () => void service.reload();
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', reload);
  try {
    await service.stopped;
  } finally {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    process.off('SIGHUP', reload);
  }
  return 0;
}
