/**
 * A real redis-server and real `migrec worker` processes for the cluster tests: Redis on 127.0.0.1
 * on a free port with persistence off, workers running the built CLI (dist/). Everything started
 * here is stopped by `stop()`; nothing listens beyond loopback.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Whether redis-server is installed (.ci/run installs it). */
export function haveRedis(): boolean {
  return spawnSync('redis-server', ['--version']).status === 0;
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Children still running when this process exits are killed (a test that timed out skips its afterAll). */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});
function track(c: ChildProcess): void {
  running.add(c);
  c.once('exit', () => running.delete(c));
}

/** Wait until `read()` holds `pattern`, or fail after `ms`. */
export async function waitFor(read: () => string, pattern: RegExp, ms: number, what: string): Promise<RegExpMatchArray> {
  const end = Date.now() + ms;
  for (;;) {
    const m = read().match(pattern);
    if (m) return m;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}; output so far:\n${read().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A redis-server of the test: no persistence, noeviction, loopback only. */
export class TestRedis {
  #child: ChildProcess | undefined;
  #out = '';
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<TestRedis> {
    const r = new TestRedis(await freePort());
    await r.launch();
    return r;
  }

  async launch(): Promise<void> {
    this.#out = '';
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    track(child);
    child.stdout!.on('data', (d: Buffer) => (this.#out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.#out += d.toString()));
    await waitFor(() => this.#out, /Ready to accept connections/, 10_000, 'redis-server');
  }

  /** Kill it (SIGKILL: a crash, nothing kept) and wait until it is gone. */
  async kill(): Promise<void> {
    const c = this.#child;
    this.#child = undefined;
    if (!c || c.exitCode !== null) return;
    const gone = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await gone;
  }
}

let logs = 0;

/** A `migrec worker` child process. */
export class TestWorker {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  readonly #logFile: string;

  constructor(url: string, args: string[] = []) {
    if (!existsSync(BIN)) throw new Error('dist/ is missing: run `npm run build` (npm install does it)');
    // The log goes to a file, not a pipe: a worker never blocks on a log line this process is slow to read.
    this.#logFile = join(tmpdir(), `migrec-test-worker-${process.pid}-${++logs}.log`);
    const fd = openSync(this.#logFile, 'w');
    // Short locks, so a killed worker's job is taken over within seconds.
    this.child = spawn(process.execPath, [BIN, 'worker', '--redis', url, '--threads', '1', '--lock-ms', '1500', '--stalled-ms', '500', '--verbose', ...args], {
      stdio: ['ignore', 'ignore', fd],
    });
    closeSync(fd);
    track(this.child);
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
  }

  /** What it printed so far. */
  get log(): string {
    return readFileSync(this.#logFile, 'utf8');
  }

  static async start(url: string, args: string[] = []): Promise<TestWorker> {
    const w = new TestWorker(url, args);
    await waitFor(() => w.log, /ready: queue/, 30_000, 'a worker to start');
    return w;
  }

  /** SIGTERM (graceful), then SIGKILL if it has not exited within `ms`; its log file is removed. */
  async stop(ms = 10_000): Promise<number | null> {
    try {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode;
      this.child.kill('SIGTERM');
      const t = setTimeout(() => this.child.kill('SIGKILL'), ms);
      const code = await this.exited;
      clearTimeout(t);
      return code;
    } finally {
      rmSync(this.#logFile, { force: true });
    }
  }
}
