/**
 * The service behind `migrec serve`: one model file served over node:http, with reload without
 * downtime and a graceful stop.
 *
 * - **Model slots.** Every request takes the current slot when it starts and keeps it to the end;
 *   a reload loads and checks the new file aside (every check of `loadModel`), then swaps the slot
 *   at once. The old model is closed when its last request has finished. A file that fails to load
 *   leaves the old model serving; the failure is the reload's answer, a log line and `/healthz`.
 * - **Stop.** `shutdown()` stops accepting connections, answers requests that still arrive on open
 *   connections with 503 `SHUTTING_DOWN`, waits for the requests in flight (at most `timeoutMs`),
 *   then closes the connections, the model and its scoring threads.
 */
import { timingSafeEqual } from 'node:crypto';
import { statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadModel, UsageError, type Recommender } from '../../index.js';
import { describeFailure, HttpError, sendError, sendJson } from './http.js';
import { MicroBatcher } from './batcher.js';
import { ResultCache } from './cache.js';
import { Metrics } from './metrics.js';
import { Json, ROUTES, userRoute, type Route } from './routes.js';
import { ThreadScoring, WorkerScoring, type Scoring } from './scoring.js';
import { fileId } from './shared.js';
import { PageAssets } from './static.js';

/** Options of `Service.start`. */
export interface ServiceOptions {
  /** The model file. */
  model: string;
  /** Address to listen on. @default '127.0.0.1' */
  host?: string;
  /** Port (0: any free port). @default 8080 */
  port?: number;
  /** Scoring worker threads, each with its own copy of the model; 0 scores in the server thread. @default 0 */
  threads?: number;
  /** When set, admin routes need `Authorization: Bearer <token>`. */
  token?: string;
  /** Largest request body, in bytes. @default 1 MiB */
  maxBody?: number;
  /** Time limit of one request (receiving it and answering it), and of the drain on stop, in ms. @default 10000 */
  timeoutMs?: number;
  /** Most users in one batch request. @default 10000 */
  maxBatch?: number;
  /** Users waiting to be scored at most (more get 503 OVERLOADED). @default 10000 */
  queue?: number;
  /** Answers of `GET /v1/recommend` kept per model (0: none). @default 50000 */
  cache?: number;
  /** Where log events go (one object each). @default nowhere */
  log?: (event: Record<string, unknown>) => void;
}

/** A loaded model and the requests using it. */
export interface ModelSlot {
  model: Recommender;
  /** First 16 hex digits of the SHA-256 of the file as it was loaded. */
  id: string;
  path: string;
  bytes: number;
  loadedAt: Date;
  /** Requests holding this slot. */
  active: number;
  /** Replaced by a reload: close the model when `active` reaches 0. */
  retired: boolean;
  /** Answers of this model. */
  cache: ResultCache;
  /** Where its recommendations are scored, and the queue in front. */
  scoring: Scoring;
  batcher: MicroBatcher;
}

/** The outcome of the last reload. */
export interface ReloadStatus {
  ok: boolean;
  at: string;
  id?: string;
  error?: { code: string; message: string };
}

/** What a route handler gets. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  query: URLSearchParams;
  /** The slot this request holds (its model stays open until the request ends). */
  slot: ModelSlot;
  service: Service;
  /** Path parameter of `/v1/users/:user`. */
  param?: string;
  /** When the request times out (`performance.now()` time). */
  deadline: number;
}

/** `migrec serve`'s HTTP service. */
export class Service {
  readonly metrics = new Metrics();
  readonly options: Required<Omit<ServiceOptions, 'token' | 'log'>> & Pick<ServiceOptions, 'token' | 'log'>;
  private slot: ModelSlot;
  private readonly server: Server;
  private readonly assets: PageAssets;
  private inFlight = 0;
  private address = '';
  private idleWaiters: Array<() => void> = [];
  private draining = false;
  private stopping: Promise<void> | undefined;
  private reloading: Promise<ReloadStatus> | undefined;
  /** The last reload's outcome (undefined before the first). */
  lastReload: ReloadStatus | undefined;
  /** Resolves when the service has stopped (after `shutdown()`). */
  readonly stopped: Promise<void>;
  private markStopped!: () => void;

  private constructor(options: Service['options'], slot: ModelSlot, assets: PageAssets) {
    this.options = options;
    this.slot = slot;
    this.assets = assets;
    this.stopped = new Promise((resolve) => (this.markStopped = resolve));
    this.server = createServer((req, res) => this.handle(req, res));
    // Node's own limit on receiving a request comes after the handlers' (which answer 503 TIMEOUT).
    this.server.requestTimeout = options.timeoutMs + 1000;
    this.server.headersTimeout = Math.min(options.timeoutMs, 60_000);
  }

  /**
   * Load the model and listen.
   * @throws {UsageError} for bad options; {ModelFormatError|StorageError} for a model file that
   * cannot be loaded; the listen error (e.g. `EADDRINUSE`) as a {UsageError}.
   */
  static async start(options: ServiceOptions): Promise<Service> {
    const o = {
      model: options.model,
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 8080,
      threads: options.threads ?? 0,
      maxBody: options.maxBody ?? 2 ** 20,
      timeoutMs: options.timeoutMs ?? 10_000,
      maxBatch: options.maxBatch ?? 10_000,
      queue: options.queue ?? 10_000,
      cache: options.cache ?? 50_000,
      token: options.token,
      log: options.log,
    };
    if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new UsageError(`port must be an integer in 0..65535 (got ${o.port})`);
    if (!Number.isSafeInteger(o.threads) || o.threads < 0) throw new UsageError(`threads must be an integer >= 0 (got ${o.threads})`);
    for (const [name, v] of [['maxBody', o.maxBody], ['timeoutMs', o.timeoutMs], ['maxBatch', o.maxBatch], ['queue', o.queue]] as const) {
      if (!Number.isSafeInteger(v) || v <= 0) throw new UsageError(`${name} must be a positive integer (got ${v})`);
    }
    if (!Number.isSafeInteger(o.cache) || o.cache < 0) throw new UsageError(`cache must be an integer >= 0 (got ${o.cache})`);
    if (o.token !== undefined && o.token.length < 8) throw new UsageError('the token must be at least 8 characters long');
    const assets = await PageAssets.load();
    const slot = await loadSlot(o, (event) => service.log(event));
    const service: Service = new Service(o, slot, assets);
    try {
      await service.listen();
    } catch (e) {
      await closeSlot(slot);
      throw e;
    }
    service.log({ event: 'listening', url: service.url, model: service.slot.path, id: service.slot.id, threads: o.threads });
    return service;
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (e: NodeJS.ErrnoException) => {
        reject(new UsageError(`cannot listen on ${this.options.host}:${this.options.port} (${e.code ?? e.message})`));
      };
      this.server.once('error', fail);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', fail);
        const a = this.server.address() as AddressInfo;
        this.address = `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
        resolve();
      });
    });
  }

  /** The address the service listens on, e.g. `http://127.0.0.1:8080`. */
  get url(): string {
    return this.address;
  }

  /** The slot new requests get. */
  get current(): ModelSlot {
    return this.slot;
  }

  /** Scoring threads of the current model (0: the server thread). */
  get poolThreads(): number {
    return this.slot.scoring.threads;
  }

  /** Whether the service is stopping. */
  get isDraining(): boolean {
    return this.draining;
  }

  /** Requests being handled. */
  get requestsInFlight(): number {
    return this.inFlight;
  }

  /** Write a log event. */
  log(event: Record<string, unknown>): void {
    this.options.log?.({ time: new Date().toISOString(), ...event });
  }

  /**
   * Load the model file again, aside, and swap it in when it loaded; concurrent calls share one
   * reload. Never throws: a failure is in the returned status (and `/healthz`), the old model serving on.
   */
  reload(): Promise<ReloadStatus> {
    this.reloading ??= this.reloadNow().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  private async reloadNow(): Promise<ReloadStatus> {
    const at = () => new Date().toISOString();
    try {
      const next = await loadSlot(this.options, (event) => this.log(event));
      if (this.draining) {
        await closeSlot(next);
        throw new HttpError(503, 'SHUTTING_DOWN', 'the service is stopping');
      }
      const old = this.slot;
      this.slot = next;
      old.retired = true;
      if (old.active === 0) await closeSlot(old);
      this.lastReload = { ok: true, at: at(), id: next.id };
      this.metrics.reloaded(true);
      this.log({ event: 'reload', ok: true, id: next.id, previous: old.id });
    } catch (e) {
      const { code, message } = describeFailure(e);
      this.lastReload = { ok: false, at: at(), error: { code, message } };
      this.metrics.reloaded(false);
      this.log({ event: 'reload', ok: false, code, message, serving: this.slot.id });
    }
    return this.lastReload;
  }

  /** Stop: drain the requests in flight (at most `timeoutMs`), then close connections, model and scoring threads. Idempotent. */
  shutdown(): Promise<void> {
    this.stopping ??= this.stopNow();
    return this.stopping;
  }

  private async stopNow(): Promise<void> {
    this.draining = true;
    this.log({ event: 'draining', inFlight: this.inFlight });
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const drained = await this.idle(this.options.timeoutMs);
    this.server.closeAllConnections();
    await closed;
    await this.reloading;
    await closeSlot(this.slot);
    this.log({ event: 'stopped', drained });
    this.markStopped();
  }

  /** Resolves true when no request is in flight, false after `ms` with requests still running. */
  private idle(ms: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Whether a request carries the admin token (always true when none is set). */
  authorized(req: IncomingMessage): boolean {
    const token = this.options.token;
    if (token === undefined) return true;
    const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const a = Buffer.from(given);
    const b = Buffer.from(token);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const t0 = performance.now();
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const method = req.method ?? 'GET';
    let route: Route | undefined = ROUTES.get(`${method} ${path}`);
    let param: string | undefined;
    if (!route && path.startsWith('/v1/users/') && method === 'GET') {
      route = userRoute;
      param = safeDecode(path.slice('/v1/users/'.length));
    }
    const name = route?.name ?? (this.assets.has(path) ? 'page' : 'other');
    const finish = (status: number) => this.metrics.observe(name, method, status, (performance.now() - t0) / 1000);
    if (this.draining) {
      finish(sendError(res, new HttpError(503, 'SHUTTING_DOWN', 'the service is stopping'), { connection: 'close' }));
      return;
    }
    if (!route) {
      if (method === 'GET' && this.assets.has(path)) return finish(this.assets.send(path, res));
      const other = [...ROUTES.values()].some((r) => r.path === path) || this.assets.has(path);
      finish(sendError(res, other ? new HttpError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${path.slice(0, 100)}`) : new HttpError(404, 'NOT_FOUND', `no route ${method} ${path.slice(0, 100)}`)));
      return;
    }
    if (route.admin && !this.authorized(req)) {
      finish(sendError(res, new HttpError(401, 'UNAUTHORIZED', 'this route needs the admin token (Authorization: Bearer <token>)'), { 'www-authenticate': 'Bearer' }));
      return;
    }
    const slot = this.slot;
    slot.active++;
    this.inFlight++;
    const done = (status: number) => {
      finish(status);
      slot.active--;
      if (slot.retired && slot.active === 0) void closeSlot(slot);
      if (--this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
    };
    const ctx: RouteContext = { req, res, query: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)), slot, service: this, param, deadline: t0 + this.options.timeoutMs };
    let result: unknown;
    try {
      if (param === undefined && route === userRoute) throw new HttpError(400, 'BAD_REQUEST', 'the user id in the path is not valid percent-encoding');
      result = route.handle(ctx);
    } catch (e) {
      done(this.fail(res, e, route.name));
      return;
    }
    if (!(result instanceof Promise)) {
      done(reply(res, result));
      return;
    }
    // Asynchronous routes (bodies, queued scoring) answer 503 TIMEOUT after timeoutMs.
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      done(sendError(res, new HttpError(503, 'TIMEOUT', `the request took longer than ${this.options.timeoutMs} ms`), { connection: 'close' }));
    }, this.options.timeoutMs);
    result.then(
      (body) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        done(reply(res, body));
      },
      (e) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // A body over the limit is not read to its end: close the connection after the answer.
        done(this.fail(res, e, route.name, e instanceof HttpError && e.status === 413 ? { connection: 'close' } : {}));
      },
    );
  }

  /** Answer a failure; 5xx failures are logged. */
  private fail(res: ServerResponse, e: unknown, route: string, headers: Record<string, string> = {}): number {
    const status = sendError(res, e, headers);
    if (status >= 500) this.log({ event: 'error', route, ...describeFailure(e) });
    return status;
  }
}

/** Send a handler's result: a value as JSON 200 (or the status it already sent). */
function reply(res: ServerResponse, body: unknown): number {
  if (res.headersSent) return res.statusCode;
  sendJson(res, 200, body instanceof Json ? body.text : body);
  return 200;
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/**
 * Load the model file into a new slot, with its scoring threads (`threads` of them, each loading
 * the same file, checked by its id). @throws what `loadModel` throws
 */
async function loadSlot(o: Service['options'], log: (event: Record<string, unknown>) => void): Promise<ModelSlot> {
  const id = await fileId(o.model);
  const model = await loadModel(o.model);
  let scoring: Scoring;
  try {
    scoring = o.threads > 0 ? await WorkerScoring.start(o.model, id, o.threads, model, log) : new ThreadScoring(model);
  } catch (e) {
    await model.close();
    throw e;
  }
  const batcher = new MicroBatcher(scoring, { maxQueue: o.queue, jobUsers: JOB_USERS });
  return { model, id, path: o.model, bytes: statSync(o.model).size, loadedAt: new Date(), active: 0, retired: false, cache: new ResultCache(o.cache), scoring, batcher };
}

/** Users of single requests scored in one job at most (a batch's jobs take up to 4x as many). */
const JOB_USERS = 128;

/** Close a slot's scoring threads and model. */
async function closeSlot(slot: ModelSlot): Promise<void> {
  await slot.scoring.close();
  await slot.model.close();
}
