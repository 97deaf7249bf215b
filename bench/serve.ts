/**
 * Load benchmark of `migrec serve` (issue 16): wrk (Debian's `wrk`, C, so the load generator takes
 * little of the 2 cores) against the built binary on 127.0.0.1, each run bounded in time.
 *
 * 1. Equality: `GET /v1/recommend` for 100 users against `migrec recommend --users` (and 5 users
 *    against `migrec recommend --user U --json`), the same model file.
 * 2. Single-user top-10 (users cycling through every training user, each wrk thread from its own
 *    offset) at 1, 8 and 64 connections, with the answer cache off (`--cache 0`: every request
 *    scored) and on (the default).
 * 3. 100-user batches (`POST /v1/recommend`) at 1 and 8 connections.
 * 4. Long runs at 64 connections (`--long` seconds with the cache off and on, and `--longer`
 *    seconds with it off when given): error responses, and the server's RSS after start, after a
 *    5-second warm-up, every 10 s and at the end.
 * Every run prints the load average before and after (the machine is shared) and the server's
 * scoring jobs and users (so the mean micro-batch).
 *
 *   node dist/cli/main.js fit --train ../shared/data/amazon-toys-videogames/train.csv \
 *     --valid ../shared/data/amazon-toys-videogames/valid.csv --target videogames --source toys --out /tmp/amazon.migrec
 *   npx tsx bench/serve.ts --model /tmp/amazon.migrec --train ../shared/data/amazon-toys-videogames/train.csv \
 *     [--seconds 10] [--long 60] [--longer 180] [--threads auto] [--screenshot docs/serve-page.png --user U]
 */
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { machine } from './machine.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    train: { type: 'string', default: '../shared/data/amazon-toys-videogames/train.csv' },
    seconds: { type: 'string', default: '10' },
    long: { type: 'string', default: '60' },
    longer: { type: 'string', default: '0' },
    threads: { type: 'string', default: 'auto' },
    only: { type: 'string', default: 'equal,single,batch,long' },
    screenshot: { type: 'string' },
    user: { type: 'string' },
  },
});
if (!values.model) throw new Error('--model FILE is required (fit it first: see the header of bench/serve.ts)');
const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const only = new Set(values.only!.split(','));
const seconds = Number(values.seconds);
const work = mkdtempSync(join(tmpdir(), 'migrec-bench-serve-'));
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

/** Distinct users of the training file (first column), in file order. */
function trainingUsers(path: string): string[] {
  const seen = new Set<string>();
  const lines = readFileSync(path, 'utf8').split('\n');
  const col = lines[0].split(',').indexOf('user');
  for (const line of lines.slice(1)) if (line) seen.add(line.split(',')[col]);
  return [...seen];
}

/** Scoring threads of the last server started (from its log). */
let serverThreads = -1;

/** Start `migrec serve` on a free port; resolves with its URL once it listens. */
async function startServer(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--model', values.model!, '--port', '0', '--threads', values.threads!, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stderr!.on('data', (c) => {
      text += c;
      const m = /"url":"([^"]+)".*"threads":(\d+)/.exec(text);
      if (m) {
        serverThreads = Number(m[2]);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${text}`)));
  });
  return { child, url };
}

async function stopServer(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  return exited;
}

/** Resident memory of a process, in MiB (from /proc). */
function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

interface WrkResult {
  label: string;
  connections: number;
  seconds: number;
  requests: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  non2xx: number;
  socketErrors: string;
  loadBefore: string;
  loadAfter: string;
  /** Scoring jobs and distinct users scored during the run (server metrics). */
  jobs: number;
  usersScored: number;
  threads: number;
}

/** Scoring jobs and users scored so far (from /metrics). */
async function scoringCounts(url: string): Promise<[number, number]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const pick = (name: string) => Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);
  return [pick('migrec_scoring_batches_total'), pick('migrec_scoring_users_total')];
}

const ms = (text: string): number => {
  const m = /([\d.]+)(us|ms|s)/.exec(text);
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
};

/** One wrk run with a Lua script; its figures (and `during` called every 10 s while it runs). */
async function wrk(label: string, url: string, script: string, connections: number, secs: number, during?: () => void): Promise<WrkResult> {
  const lua = join(work, 'script.lua');
  writeFileSync(lua, script);
  const loadBefore = load();
  const [jobs0, users0] = await scoringCounts(url);
  const timer = during ? setInterval(during, 10_000) : undefined;
  const { stdout: out } = await promisify(execFile)('wrk', ['-t', connections > 1 ? '2' : '1', '-c', String(connections), '-d', `${secs}s`, '--timeout', '5s', '--latency', '-s', lua, url], { encoding: 'utf8' });
  if (timer) clearInterval(timer);
  const [jobs1, users1] = await scoringCounts(url);
  const pick = (re: RegExp) => re.exec(out)?.[1] ?? '';
  const r: WrkResult = {
    label,
    connections,
    seconds: secs,
    requests: Number(pick(/(\d+) requests in/)),
    rps: Number(pick(/Requests\/sec:\s+([\d.]+)/)),
    // Anchored: the thread stats columns end in percentages such as 91.50% too.
    p50_ms: ms(pick(/^\s+50%\s+(\S+)/m)),
    p99_ms: ms(pick(/^\s+99%\s+(\S+)/m)),
    non2xx: Number(pick(/Non-2xx or 3xx responses: (\d+)/) || 0),
    socketErrors: pick(/Socket errors: ([^\n]+)/) || 'none',
    loadBefore,
    loadAfter: load(),
    jobs: jobs1 - jobs0,
    usersScored: users1 - users0,
    threads: serverThreads,
  };
  console.log(JSON.stringify(r));
  return r;
}

/** Lua: GET /v1/recommend for users cycling through the file, each wrk thread from its own offset. */
const singleScript = (usersFile: string) => `
local users = {}
for line in io.lines("${usersFile}") do users[#users + 1] = line end
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end
local n = 0
function init(args)
  n = (id or 0) * math.floor(#users / 2)
end
request = function()
  n = n + 1
  return wrk.format("GET", "/v1/recommend?user=" .. users[(n % #users) + 1] .. "&k=10")
end
`;

/** Lua: POST /v1/recommend with 100 consecutive users at a time (ids as they are: JSON, not a URL). */
const batchScript = (usersFile: string) => `
local users = {}
for line in io.lines("${usersFile}") do users[#users + 1] = line end
local n = 0
request = function()
  local ids = {}
  for j = 1, 100 do ids[j] = '"' .. users[((n + j) % #users) + 1] .. '"' end
  n = n + 100
  return wrk.format("POST", "/v1/recommend", { ["content-type"] = "application/json" }, '{"k":10,"users":[' .. table.concat(ids, ",") .. ']}')
end
`;

console.log(JSON.stringify({ machine: machine(), model: values.model, train: values.train, threads: values.threads, wrk: spawnSync('wrk', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0].trim(), load: load() }));
const users = trainingUsers(values.train!);
// Ids are URL-safe in the Amazon files (letters, digits, ':'); others would need encoding in the Lua.
const usersFile = join(work, 'users.txt');
writeFileSync(usersFile, users.map(encodeURIComponent).join('\n'));
// Raw ids for the JSON bodies of batches (ids with quotes or backslashes would need escaping).
const rawUsersFile = join(work, 'users-raw.txt');
writeFileSync(rawUsersFile, users.filter((u) => !/["\\]/.test(u)).join('\n'));
console.log(JSON.stringify({ users: users.length }));
const results: WrkResult[] = [];

try {
  if (only.has('equal')) {
    const { child, url } = await startServer(['--cache', '0']);
    const sample = users.filter((_, i) => i % Math.max(1, Math.floor(users.length / 100)) === 0).slice(0, 100);
    const list = join(work, 'sample.txt');
    writeFileSync(list, sample.join('\n'));
    const cliLines = execFileSync(process.execPath, [BIN, 'recommend', '--model', values.model!, '--users', list, '--k', '10', '--threads', '0'], { encoding: 'utf8', maxBuffer: 1 << 26 }).trim().split('\n');
    // Every CLI run first: a blocked event loop here would outlive the server's keep-alive timeout.
    const singles = sample.slice(0, 5).map((user) => execFileSync(process.execPath, [BIN, 'recommend', '--model', values.model!, '--user', user, '--k', '10', '--json'], { encoding: 'utf8' }).trim());
    let equal = 0;
    for (const [i, user] of sample.entries()) {
      const api = await (await fetch(`${url}/v1/recommend?user=${encodeURIComponent(user)}&k=10`)).text();
      if (api === cliLines[i]) equal++;
    }
    let singleEqual = 0;
    for (const [i, user] of sample.slice(0, 5).entries()) {
      if (singles[i] === (await (await fetch(`${url}/v1/recommend?user=${encodeURIComponent(user)}&k=10`)).text())) singleEqual++;
    }
    console.log(JSON.stringify({ equality: { users: sample.length, equalToRecommendUsers: equal, checkedWithUserJson: 5, equalToRecommendUserJson: singleEqual } }));
    await stopServer(child);
  }
  for (const cache of ['0', '50000']) {
    if (!only.has('single')) break;
    const { child, url } = await startServer(['--cache', cache]);
    for (const c of [1, 8, 64]) results.push(await wrk(`single top-10, cache ${cache === '0' ? 'off' : 'on'}`, url, singleScript(usersFile), c, seconds));
    await stopServer(child);
  }
  if (only.has('batch')) {
    const { child, url } = await startServer(['--cache', '0']);
    for (const c of [1, 8]) results.push(await wrk('batch of 100 users', url, batchScript(rawUsersFile), c, seconds));
    await stopServer(child);
  }
  if (only.has('long')) {
    const runs: Array<[string, number]> = [['0', Number(values.long)], ['50000', Number(values.long)]];
    if (Number(values.longer) > 0) runs.push(['0', Number(values.longer)]);
    for (const [cache, secs] of runs) {
      const { child, url } = await startServer(['--cache', cache]);
      await fetch(`${url}/v1/recommend?user=${encodeURIComponent(users[0])}&k=10`);
      const started = rssMiB(child.pid!);
      await wrk('warm-up', url, singleScript(usersFile), 64, 5);
      const before = rssMiB(child.pid!);
      const samples: number[] = [];
      const r = await wrk(`${secs} s, cache ${cache === '0' ? 'off' : 'on'}`, url, singleScript(usersFile), 64, secs, () => samples.push(Math.round(rssMiB(child.pid!))));
      const after = rssMiB(child.pid!);
      const code = await stopServer(child);
      console.log(JSON.stringify({ long: r.label, rss_started_mib: Math.round(started), rss_before_mib: Math.round(before), rss_every_10s_mib: samples, rss_after_mib: Math.round(after), exit: code }));
      results.push(r);
    }
  }
  if (values.screenshot) {
    const { chromium } = await import('playwright-core');
    const { child, url } = await startServer([]);
    const profile = mkdtempSync(join(tmpdir(), 'migrec-shot-'));
    const ctx = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    const page = await ctx.newPage();
    await page.goto(`${url}/?user=${encodeURIComponent(values.user ?? users[0])}`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.screenshot({ path: values.screenshot, fullPage: true });
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
    await stopServer(child);
    console.log(JSON.stringify({ screenshot: values.screenshot }));
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log('\n| run | threads | connections | requests/s | p50 ms | p99 ms | non-2xx | socket errors | users per job | load avg before -> after |');
console.log('|---|---:|---:|---:|---:|---:|---:|---|---:|---|');
for (const r of results) {
  const perJob = r.jobs > 0 ? (r.usersScored / r.jobs).toFixed(1) : '-';
  console.log(`| ${r.label} | ${r.threads} | ${r.connections} | ${Math.round(r.rps).toLocaleString('en-US')} | ${r.p50_ms.toFixed(2)} | ${r.p99_ms.toFixed(2)} | ${r.non2xx} | ${r.socketErrors} | ${perJob} | ${r.loadBefore} -> ${r.loadAfter} |`);
}
