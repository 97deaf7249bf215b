/**
 * Where a pool's tasks run. A {@link TaskDispatcher} takes named tasks (the objects of
 * protocol.ts) and runs them somewhere: {@link PiscinaDispatcher} on this process's worker threads,
 * or a remote queue (src/cluster/remote.ts) on other processes. The pool's callers see no difference:
 * each task writes its declared output rows, and the results are the same wherever it ran.
 */
import { Piscina } from 'piscina';

/** Runs the named tasks of a {@link KernelPool}. */
export interface TaskDispatcher {
  /** Run one task; `signal` aborts it (a task that outlived the pool's timeout). */
  run(name: string, task: unknown, signal?: AbortSignal): Promise<unknown>;
  /**
   * Run tasks of one kind that belong together (the shards of one stage), all results or the first
   * failure. Optional: without it the pool keeps at most two tasks per thread in flight itself.
   */
  runAll?(name: string, tasks: unknown[]): Promise<unknown[]>;
  /** Stop; tasks still running are rejected. */
  close(): Promise<void>;
}

/** Tasks on worker threads of this process (one worker file, wasm instantiated once per worker). */
export class PiscinaDispatcher implements TaskDispatcher {
  readonly #piscina: Piscina;

  constructor(threads: number, filename: string, module: WebAssembly.Module | undefined) {
    this.#piscina = new Piscina({
      filename,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: 1,
      workerData: { module },
      // The worker is plain JavaScript: do not hand it this process's flags (loader hooks such as
      // tsx cost tens of MB per worker; per-process flags such as --expose-gc make Worker throw).
      execArgv: [],
    });
    // A worker that dies between tasks is replaced by Piscina; nothing to report here.
    this.#piscina.on('error', () => {});
  }

  run(name: string, task: unknown, signal?: AbortSignal): Promise<unknown> {
    return this.#piscina.run(task, { name, signal });
  }

  async close(): Promise<void> {
    await this.#piscina.destroy();
  }
}
