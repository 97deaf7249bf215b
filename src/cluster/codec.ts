/**
 * Pool tasks as files on shared storage, so another process (a `migrec worker`) can run them.
 *
 * A task object (protocol.ts, als-task.ts, fused-task.ts, search-task.ts) is walked: every
 * `SharedRef` (`{ id, array }`) becomes a reference to `<run>/arrays/<name>.bin`, written once per
 * run by the submitter (its contents never change under one id); other typed arrays go into the
 * task's own file, or, when large and shared by several tasks of one stage, into an array file too;
 * the task's output (per kind: which field, which rows; {@link outputOf}) is replaced by its shape.
 * The worker rebuilds the task (arrays on SharedArrayBuffers, so its own pool threads share them),
 * runs it, and writes just the output rows to a result file; the submitter copies them into its
 * arrays. Container layout: `MRC1`, u32 JSON length, the JSON, zero padding to 8 bytes, the blobs.
 */
import { open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClusterError } from '../errors.js';

/** Typed arrays a task may hold. */
export type Typed = Uint8Array | Uint16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

const CTORS = {
  u8: Uint8Array,
  u16: Uint16Array,
  u32: Uint32Array,
  i32: Int32Array,
  f32: Float32Array,
  f64: Float64Array,
} as const;
type TypeName = keyof typeof CTORS;

function typeName(a: ArrayBufferView): TypeName | undefined {
  for (const [name, C] of Object.entries(CTORS)) if (a instanceof C) return name as TypeName;
  return undefined;
}

/** A zeroed array of type `t` and length `n` on a SharedArrayBuffer. */
function sharedOf(t: TypeName, n: number): Typed {
  const C = CTORS[t] as unknown as new (b: SharedArrayBuffer) => Typed;
  return new C(new SharedArrayBuffer(n * CTORS[t].BYTES_PER_ELEMENT));
}

function isTyped(v: unknown): v is Typed {
  return ArrayBuffer.isView(v) && typeName(v) !== undefined;
}

/** The output of a task kind: `slots` (top-k rows [lo, hi) of `out`) or `rows` (elements [lo, hi) of `x`, also read). */
export interface OutputSpec {
  field: 'out' | 'x';
  shape: 'slots' | 'elements';
  lo: number;
  hi: number;
}

type Task = Record<string, unknown>;

/** Where each task kind writes (undefined: the kind returns its result, e.g. `weightSearch`). */
export function outputOf(kind: string, t: Task): OutputSpec | undefined {
  const n = (k: string) => t[k] as number;
  switch (kind) {
    case 'knn':
    case 'fused':
      return { field: 'out', shape: 'slots', lo: n('start'), hi: n('end') };
    case 'sparse':
    case 'dense':
      return { field: 'out', shape: 'slots', lo: n('offset'), hi: n('offset') + (t.users as Typed).length };
    case 'alsRows':
      return { field: 'x', shape: 'elements', lo: n('start') * n('d'), hi: n('end') * n('d') };
    default:
      return undefined;
  }
}

/** A container: JSON head plus blobs. */
async function writeContainer(path: string, head: unknown, blobs: readonly ArrayBufferView[]): Promise<void> {
  const json = Buffer.from(JSON.stringify(head), 'utf8');
  const start = align8(8 + json.length);
  const pre = Buffer.alloc(start);
  pre.write('MRC1', 0, 'latin1');
  pre.writeUInt32LE(json.length, 4);
  json.copy(pre, 8);
  const parts: Buffer[] = [pre];
  for (const b of blobs) {
    parts.push(Buffer.from(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength));
    const pad = align8(b.byteLength) - b.byteLength;
    if (pad > 0) parts.push(Buffer.alloc(pad));
  }
  // Written aside and renamed: a reader (or a retried job) never sees half a file.
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writev(parts);
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

/** Read a container; blobs are addressed by byte offset from the end of the head. */
async function readContainer(path: string): Promise<{ head: unknown; body: Buffer }> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new ClusterError(`cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): is the work directory shared with this process?`);
  }
  if (buf.length < 8 || buf.toString('latin1', 0, 4) !== 'MRC1') throw new ClusterError(`${path} is not a migrec task or result file`);
  const len = buf.readUInt32LE(4);
  const head = JSON.parse(buf.toString('utf8', 8, 8 + len)) as unknown;
  return { head, body: buf.subarray(align8(8 + len)) };
}

/** A copy of the blob at `off` (its own aligned buffer). */
function blobAt(body: Buffer, t: TypeName, n: number, off: number): Typed {
  const C = CTORS[t];
  const out = new C(n);
  new Uint8Array(out.buffer).set(body.subarray(off, off + n * C.BYTES_PER_ELEMENT));
  return out;
}

/** Arrays under this many bytes always travel inside the task file. */
const INLINE_BYTES = 64 * 1024;

/** The submitter's side of one run: which array files are written, and the files of each task. */
export class RunFiles {
  readonly dir: string;
  /** SharedRef id -> file name, with the array it was written from (held weakly) and the last stage that used it. */
  readonly #refs = new Map<string, { name: string; array: WeakRef<Typed>; used: number }>();
  #names = 0;
  #stage = 0;
  /** Stages in flight: the array files they read (never collected while they run), and their own arrays. */
  readonly #active = new Map<number, { refs: Set<string>; own: string[] }>();

  constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Encode the tasks of one stage; returns the task file names (relative to the run directory).
   * Arrays over 64 KiB held by several tasks are written once for the stage.
   */
  async writeStage(kind: string, tasks: readonly unknown[], prefix: string): Promise<{ stage: number; files: string[] }> {
    const stage = ++this.#stage;
    const active = { refs: new Set<string>(), own: [] as string[] };
    this.#active.set(stage, active);
    const pending: Array<Promise<void>> = [];
    const seen = new Map<Typed, number>();
    const count = (v: unknown) => {
      if (isTyped(v)) seen.set(v, (seen.get(v) ?? 0) + 1);
      else if (Array.isArray(v)) v.forEach(count);
      else if (v && typeof v === 'object' && !isRef(v)) Object.values(v).forEach(count);
    };
    tasks.forEach(count);
    const stageArrays = new Map<Typed, string>();
    const files: string[] = [];
    for (const [i, task] of tasks.entries()) {
      const blobs: Typed[] = [];
      let offset = 0;
      const blob = (a: Typed) => {
        blobs.push(a);
        const at = offset;
        offset += align8(a.byteLength);
        return at;
      };
      const arrayFile = (name: string, a: Typed) => pending.push(writeArray(join(this.dir, 'arrays', `${name}.bin`), a));
      const walk = (v: unknown): unknown => {
        if (v === undefined) return { $u: 1 };
        if (isRef(v)) {
          const name = this.#refName(v, stage, arrayFile);
          active.refs.add(name);
          return { $ref: name, r: 1, t: typeName(v.array), n: v.array.length };
        }
        if (isTyped(v)) {
          if (v.byteLength >= INLINE_BYTES && (seen.get(v) ?? 0) > 1) {
            let name = stageArrays.get(v);
            if (name === undefined) {
              stageArrays.set(v, (name = `s${stage}.${++this.#names}`));
              active.own.push(name);
              arrayFile(name, v);
            }
            return { $ref: name, t: typeName(v), n: v.length };
          }
          return { $blob: blob(v), t: typeName(v), n: v.length };
        }
        if (Array.isArray(v)) return v.map(walk);
        if (v && typeof v === 'object') {
          const o: Record<string, unknown> = {};
          for (const [k, x] of Object.entries(v)) o[k] = walk(x);
          return o;
        }
        if (typeof v === 'number' && !Number.isFinite(v)) return { $num: String(v) };
        return v;
      };
      const t = task as Task;
      const spec = outputOf(kind, t);
      const head: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(t)) {
        if (spec && k === spec.field && spec.shape === 'slots') {
          const s = x as { k: number; counts: Uint32Array };
          head[k] = { $slots: { k: s.k, rows: s.counts.length } };
        } else if (spec && k === spec.field) {
          const a = x as Float32Array;
          head[k] = { $part: { t: typeName(a), n: a.length, lo: spec.lo, hi: spec.hi, blob: blob(a.subarray(spec.lo, spec.hi)) } };
        } else head[k] = walk(x);
      }
      const file = `tasks/${prefix}.${i}.bin`;
      pending.push(writeContainer(join(this.dir, file), { kind, task: head }, blobs));
      files.push(file);
    }
    await Promise.all(pending);
    return { stage, files };
  }

  /** A stage is over: its own arrays are deleted, and the arrays no stage used lately (see {@link collect}). */
  async endStage(stage: number): Promise<void> {
    const a = this.#active.get(stage);
    this.#active.delete(stage);
    if (a) await Promise.all(a.own.map((n) => rm(join(this.dir, 'arrays', `${n}.bin`), { force: true })));
    await this.collect();
  }

  /** The file name of a SharedRef (written on first use), a new name when an id comes back with other contents. */
  #refName(r: { id: string; array: Typed }, stage: number, write: (name: string, a: Typed) => void): string {
    const hit = this.#refs.get(r.id);
    if (hit && hit.array.deref() === r.array) {
      hit.used = stage;
      return hit.name;
    }
    const name = `r${r.id.replace(/[^A-Za-z0-9.]/g, '_')}.${++this.#names}`;
    if (hit) void rm(join(this.dir, 'arrays', `${hit.name}.bin`), { force: true });
    this.#refs.set(r.id, { name, array: new WeakRef(r.array), used: stage });
    write(name, r.array);
    return name;
  }

  /**
   * Delete the array files no stage used in the last `keep` stages (and the stage-only arrays): a
   * later use writes the array again from the submitter's copy, so this only costs a rewrite.
   */
  async collect(keep = 8): Promise<void> {
    const dead: string[] = [];
    const busy = new Set<string>();
    for (const a of this.#active.values()) for (const n of a.refs) busy.add(n);
    for (const [id, e] of this.#refs) {
      if (busy.has(e.name)) continue;
      if (e.used <= this.#stage - keep || e.array.deref() === undefined) {
        dead.push(e.name);
        this.#refs.delete(id);
      }
    }
    await Promise.all(dead.map((n) => rm(join(this.dir, 'arrays', `${n}.bin`), { force: true })));
  }
}

function isRef(v: unknown): v is { id: string; array: Typed } {
  if (!v || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) return false;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  return keys.length === 2 && typeof o.id === 'string' && isTyped(o.array);
}

async function writeArray(path: string, a: Typed): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, Buffer.from(a.buffer as ArrayBuffer, a.byteOffset, a.byteLength));
  await rename(tmp, path);
}

/** A worker's cache of array files, by run directory and name, within a byte budget (least recently used out first). */
export class ArrayCache {
  readonly #map = new Map<string, Typed>();
  #bytes = 0;
  constructor(readonly budget: number) {}

  async get(dir: string, name: string, t: TypeName, n: number): Promise<Typed> {
    const key = `${dir}\0${name}`;
    const hit = this.#map.get(key);
    if (hit) {
      this.#map.delete(key);
      this.#map.set(key, hit);
      return hit;
    }
    const path = join(dir, 'arrays', `${name}.bin`);
    const a = sharedOf(t, n);
    let fh;
    try {
      fh = await open(path, 'r');
      const { bytesRead } = await fh.read(new Uint8Array(a.buffer), 0, a.byteLength, 0);
      if (bytesRead !== a.byteLength) throw new ClusterError(`${path}: ${bytesRead} bytes, expected ${a.byteLength}`);
    } catch (e) {
      if (e instanceof ClusterError) throw e;
      throw new ClusterError(`cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): is the work directory shared with this process?`);
    } finally {
      await fh?.close();
    }
    this.#map.set(key, a);
    this.#bytes += a.byteLength;
    for (const [k, v] of this.#map) {
      if (this.#bytes <= this.budget || k === key) break;
      this.#map.delete(k);
      this.#bytes -= v.byteLength;
    }
    return a;
  }
}

/** A task rebuilt by the worker, with where its output lives. */
export interface DecodedTask {
  kind: string;
  task: Task;
  spec: OutputSpec | undefined;
}

/** Rebuild a task from its file; referenced arrays come from `cache`, under ids unique to the run. */
export async function readTask(runDir: string, file: string, cache: ArrayCache): Promise<DecodedTask> {
  const { head, body } = await readContainer(join(runDir, file));
  const { kind, task } = head as { kind: string; task: Record<string, unknown> };
  const refs: Array<Promise<void>> = [];
  const walk = (v: unknown, set: (x: unknown) => void): void => {
    if (Array.isArray(v)) {
      const out: unknown[] = new Array(v.length);
      v.forEach((x, i) => walk(x, (y) => (out[i] = y)));
      set(out);
      return;
    }
    if (!v || typeof v !== 'object') return set(v);
    const o = v as Record<string, unknown>;
    if ('$u' in o) return set(undefined);
    if ('$num' in o) return set(Number(o.$num));
    if ('$blob' in o) return set(blobAt(body, o.t as TypeName, o.n as number, o.$blob as number));
    if ('$ref' in o) {
      const name = o.$ref as string;
      // A SharedRef keeps an id for the pool's resident copies: unique to this run and these contents.
      const wrap = o.r === 1 ? (a: Typed) => ({ id: `${runDir}/${name}`, array: a }) : (a: Typed) => a;
      refs.push(cache.get(runDir, name, o.t as TypeName, o.n as number).then((a) => set(wrap(a))));
      return;
    }
    if ('$slots' in o) {
      const { k, rows } = o.$slots as { k: number; rows: number };
      const sab = (n: number) => new SharedArrayBuffer(n * 4);
      return set({ k, counts: new Uint32Array(sab(rows)), indices: new Uint32Array(sab(rows * k)), scores: new Float32Array(sab(rows * k)) });
    }
    if ('$part' in o) {
      // The whole array (on shared memory, for the pool's threads), with only the task's own rows filled in.
      const p = o.$part as { t: TypeName; n: number; lo: number; hi: number; blob: number };
      const a = sharedOf(p.t, p.n);
      a.set(blobAt(body, p.t, p.hi - p.lo, p.blob) as never, p.lo);
      return set(a);
    }
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) walk(x, (y) => (out[k] = y));
    set(out);
  };
  let rebuilt: Task = {};
  walk(task, (x) => (rebuilt = x as Task));
  await Promise.all(refs);
  return { kind, task: rebuilt, spec: outputOf(kind, rebuilt) };
}

const keepNonFinite = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { $num: String(v) } : v);
const reviveNonFinite = (_k: string, v: unknown) => (v && typeof v === 'object' && '$num' in v ? Number((v as { $num: string }).$num) : v);

/** Worker: write a finished task's output rows (and what it returned) to `<run>/results/<name>.bin`. */
export async function writeResult(runDir: string, name: string, d: DecodedTask, value: unknown): Promise<void> {
  const blobs: Typed[] = [];
  const spec = d.spec;
  if (spec?.shape === 'slots') {
    const s = d.task[spec.field] as { k: number; counts: Uint32Array; indices: Uint32Array; scores: Float32Array };
    blobs.push(s.counts.subarray(spec.lo, spec.hi), s.indices.subarray(spec.lo * s.k, spec.hi * s.k), s.scores.subarray(spec.lo * s.k, spec.hi * s.k));
  } else if (spec) blobs.push((d.task[spec.field] as Float32Array).subarray(spec.lo, spec.hi));
  const head = { value: JSON.stringify(value ?? null, keepNonFinite), spec: spec ?? null, sizes: blobs.map((b) => b.byteLength) };
  await writeContainer(join(runDir, 'results', `${name}.bin`), head, blobs);
}

/**
 * Submitter: copy a result's rows into the task's own output arrays; returns the task's value.
 * @throws {ClusterError} when the result does not match the task (another run's file, a changed work directory).
 */
export async function applyResult(runDir: string, name: string, kind: string, task: unknown): Promise<unknown> {
  const path = join(runDir, 'results', `${name}.bin`);
  const { head, body } = await readContainer(path);
  const h = head as { value: string; spec: OutputSpec | null; sizes: number[] };
  const spec = outputOf(kind, task as Task);
  if (JSON.stringify(spec ?? null) !== JSON.stringify(h.spec)) throw new ClusterError(`${path}: holds the result of another task (rows ${JSON.stringify(h.spec)}, expected ${JSON.stringify(spec ?? null)})`);
  let off = 0;
  const next = (into: Typed, at: number, bytes: number) => {
    const C = into.constructor as new (b: ArrayBuffer) => Typed;
    into.set(new C(body.buffer.slice(body.byteOffset + off, body.byteOffset + off + bytes) as ArrayBuffer) as never, at);
    off += align8(bytes);
  };
  if (spec?.shape === 'slots') {
    const s = (task as Task)[spec.field] as { k: number; counts: Uint32Array; indices: Uint32Array; scores: Float32Array };
    next(s.counts, spec.lo, h.sizes[0]);
    next(s.indices, spec.lo * s.k, h.sizes[1]);
    next(s.scores, spec.lo * s.k, h.sizes[2]);
  } else if (spec) next((task as Task)[spec.field] as Float32Array, spec.lo, h.sizes[0]);
  await rm(path, { force: true });
  return JSON.parse(h.value, reviveNonFinite) as unknown;
}
