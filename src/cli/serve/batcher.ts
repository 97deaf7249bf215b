/**
 * Micro-batching of `migrec serve`'s recommendations. Requests that arrive while the scoring
 * lanes are busy wait in a queue, grouped by their options (k, domain, fallback); when a lane is
 * free, the oldest group goes to it as one job (one `recommendBatch`), and each request gets its
 * own user's answer. A user asked for twice in a group is scored once. A batch request (POST)
 * is cut into jobs of its own, at most one lane's share each, so both threads work on it.
 *
 * Bounds: at most `maxQueue` users wait (beyond it a request gets 503 OVERLOADED; a batch is
 * refused only when users are already waiting); a request whose deadline has passed before its
 * job starts is dropped from the job (the service has answered it 503 TIMEOUT).
 */
import { HttpError } from './http.js';
import type { JobOptions, Scoring } from './scoring.js';

/** Requests of one job waiting for their answers. */
interface Waiter {
  users: string[];
  deadline: number;
  resolve(texts: string[]): void;
  reject(e: unknown): void;
}

interface Job {
  key: string;
  options: JobOptions;
  waiters: Waiter[];
  /** Users asked for (with repeats). */
  size: number;
}

/** Limits of a batcher. */
export interface BatchLimits {
  /** Users waiting at most; more are refused with 503 OVERLOADED. */
  maxQueue: number;
  /** Users of single requests scored in one job at most. */
  jobUsers: number;
}

/** The queue in front of a slot's scoring. */
export class MicroBatcher {
  private readonly jobs: Job[] = [];
  /** Per options key, the queued job that single requests join. */
  private readonly open = new Map<string, Job>();
  private waiting = 0;
  private scheduled = false;
  /** Jobs sent to scoring, and the distinct users they scored. */
  batches = 0;
  scored = 0;

  constructor(
    private readonly scoring: Scoring,
    private readonly limits: BatchLimits,
  ) {}

  /** Users waiting for a lane. */
  get queued(): number {
    return this.waiting;
  }

  /** One user's answer (JSON text). @throws {HttpError} 503 OVERLOADED when the queue is full. */
  one(user: string, options: JobOptions, deadline: number): Promise<string> {
    this.admit(1, false);
    const key = `${options.k}\u0000${options.domain ?? ''}\u0000${options.fallback}`;
    let job = this.open.get(key);
    if (job === undefined || job.size >= this.limits.jobUsers) {
      job = { key, options, waiters: [], size: 0 };
      this.jobs.push(job);
      this.open.set(key, job);
    }
    const target = job;
    return new Promise((resolve, reject) => {
      target.waiters.push({ users: [user], deadline, resolve: (texts) => resolve(texts[0]), reject });
      target.size++;
      this.waiting++;
      this.schedule();
    });
  }

  /** The answers of many users, in order, scored in jobs of their own. @throws {HttpError} 503 OVERLOADED */
  many(users: readonly string[], options: JobOptions, deadline: number): Promise<string[]> {
    if (users.length === 0) return Promise.resolve([]);
    try {
      this.admit(users.length, true);
    } catch (e) {
      return Promise.reject(e);
    }
    const lanes = Math.max(1, this.scoring.threads);
    const size = Math.max(1, Math.min(4 * this.limits.jobUsers, Math.ceil(users.length / lanes)));
    const parts: Array<Promise<string[]>> = [];
    for (let s = 0; s < users.length; s += size) {
      const chunk = users.slice(s, s + size);
      parts.push(
        new Promise((resolve, reject) => {
          this.jobs.push({ key: '', options, waiters: [{ users: chunk, deadline, resolve, reject }], size: chunk.length });
          this.waiting += chunk.length;
        }),
      );
    }
    this.schedule();
    return Promise.all(parts).then((lists) => lists.flat());
  }

  /** @throws {HttpError} 503 when `n` more users would pass the bound (a batch passes it only when none wait). */
  private admit(n: number, batch: boolean): void {
    if (this.waiting + n <= this.limits.maxQueue || (batch && this.waiting === 0)) return;
    throw new HttpError(503, 'OVERLOADED', `${this.waiting} users are waiting to be scored (at most ${this.limits.maxQueue}); try again later`);
  }

  /** Start jobs after this turn of the event loop (requests parsed in it join them). */
  private schedule(): void {
    if (this.scheduled || this.jobs.length === 0 || this.scoring.free === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /**
   * After a job: a scoring thread starts on the requests that queued meanwhile at once, before
   * this thread writes the answers just received (the two overlap); in the server thread the next
   * job waits for those answers to be written.
   */
  private next(): void {
    if (this.scoring.threads > 0) this.pump();
    else this.schedule();
  }

  private pump(): void {
    while (this.jobs.length > 0 && this.scoring.free > 0) {
      const job = this.jobs.shift()!;
      if (this.open.get(job.key) === job) this.open.delete(job.key);
      this.waiting -= job.size;
      const now = performance.now();
      const live: Waiter[] = [];
      for (const w of job.waiters) {
        if (w.deadline > now) live.push(w);
        else w.reject(new HttpError(503, 'TIMEOUT', 'the request waited past its deadline'));
      }
      if (live.length === 0) continue;
      const index = new Map<string, number>();
      const users: string[] = [];
      for (const w of live) {
        for (const u of w.users) {
          if (!index.has(u)) {
            index.set(u, users.length);
            users.push(u);
          }
        }
      }
      this.batches++;
      this.scored += users.length;
      this.scoring.run(users, job.options).then(
        (texts) => {
          this.next();
          for (const w of live) w.resolve(w.users.length === 1 ? [texts[index.get(w.users[0])!]] : w.users.map((u) => texts[index.get(u)!]));
        },
        (e: unknown) => {
          this.next();
          for (const w of live) w.reject(e);
        },
      );
    }
  }
}
