/**
 * What every command shares: where the CLI writes, and parsers of flag values. Commands import
 * this module, never `run.ts` (which imports the commands).
 */
import { availableParallelism } from 'node:os';
import { maxThreads, THREADS_PER_CORE, UsageError, type FitProgress } from '../index.js';

/** Where the CLI writes. */
export interface CliIO {
  stdout(s: string): void;
  stderr(s: string): void;
  /** Is stderr a terminal (progress output only then). */
  isTTY: boolean;
}

/** Flag values as `parseArgs` returns them. */
export type Values = Record<string, string | boolean | string[] | undefined>;

/** Parse `--k 10,20`. @throws {UsageError} unless every entry is a positive integer. */
export function parseKs(text: string, flag = '--k'): number[] {
  const parts = text.split(',').map((s) => s.trim());
  const ks = parts.map(Number);
  if (parts.length === 0 || ks.some((k, i) => parts[i] === '' || !Number.isInteger(k) || k <= 0)) {
    throw new UsageError(`${flag} must be a comma-separated list of positive integers (got ${JSON.stringify(text)})`);
  }
  return ks;
}

/** Parse a number flag. @throws {UsageError} when it is not a finite number in range. */
export function parseNumber(text: string, flag: string, check: (x: number) => boolean = () => true, expected = 'a number'): number {
  const x = Number(text);
  if (text.trim() === '' || !Number.isFinite(x) || !check(x)) throw new UsageError(`${flag} must be ${expected} (got ${JSON.stringify(text)})`);
  return x;
}

/** Parse `--threads N` (0: in this thread; at most the pool's limit, `maxThreads()`). @throws {UsageError} */
export function parseThreads(text: string, flag = '--threads'): number {
  const n = parseNumber(text, flag, (x) => Number.isInteger(x) && x >= 0, 'an integer >= 0');
  const max = maxThreads();
  if (n > max) throw new UsageError(`${flag} must be at most ${max} (${THREADS_PER_CORE} x the ${availableParallelism()} available cores; got ${JSON.stringify(text)})`);
  return n;
}

/** A required string flag. @throws {UsageError} when missing. */
export function required(values: Values, name: string, command: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`missing required option --${name} (see \`migrec ${command} --help\`)`);
  return v;
}

/** Parse a comma-separated list of names (`--models a,b`). @throws {UsageError} for an empty entry. */
export function parseNames(text: string, flag: string): string[] {
  const names = text.split(',').map((s) => s.trim());
  if (names.some((n) => n === '')) throw new UsageError(`${flag} must be a comma-separated list of names (got ${JSON.stringify(text)})`);
  return names;
}

/** The values of a repeatable flag (`undefined` and one value included). */
export function many(v: string | boolean | string[] | undefined): string[] {
  if (v === undefined || typeof v === 'boolean') return [];
  return Array.isArray(v) ? v : [v];
}

/** Split `NAME=VALUE` of a flag such as `--set` or `--behavior-weight`. @throws {UsageError} */
export function splitAssignment(text: string, flag: string, shape: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`${flag} takes ${shape} (got ${JSON.stringify(text)})`);
  return [text.slice(0, eq).trim(), text.slice(eq + 1).trim()];
}

/** `parseArgs` option descriptions. */
export type FlagOptions = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string; default?: string | boolean | string[] }>;

/** A command: its flags, its help text and its body. */
export interface Command {
  /** Its flags (built on use: model flags come from the library's schemas). */
  options(): FlagOptions;
  /** Its help; `values` are the flags given with `--help` (e.g. `--models` narrows the model options listed). */
  help(values: Values): string;
  run(values: Values, io: CliIO): Promise<number>;
}

/**
 * `--k N`, the deprecated spelling of `--neighbors N` in `fit` and `bench`: the values with
 * `neighbors` set from it, after a one-line warning. @throws {UsageError} when both are given
 */
export function neighborsAlias(v: Values, command: string, io: CliIO): Values {
  if (v.k === undefined) return v;
  if (v.neighbors !== undefined) throw new UsageError('--k and --neighbors are the same option: give one');
  io.stderr(`migrec: --k is deprecated in ${command}: use --neighbors\n`);
  return { ...v, neighbors: v.k };
}

/**
 * A progress line on stderr for `fit({ onProgress })`: model, stage, done/total and an estimate of
 * the stage's time left, redrawn in place. Undefined (silent) unless stderr is a terminal and the
 * command was not asked to be quiet.
 */
export function progressLine(io: CliIO, quiet: boolean): ((p: FitProgress) => void) | undefined {
  if (!io.isTTY || quiet) return undefined;
  let key = '';
  let since = 0;
  return (p) => {
    const now = performance.now();
    if (`${p.model}/${p.stage}` !== key) {
      key = `${p.model}/${p.stage}`;
      since = now;
    }
    const left = p.done > 0 && p.done < p.total ? ` ETA ${(((now - since) / p.done) * (p.total - p.done) / 1000).toFixed(0)} s` : '';
    io.stderr(`\r\x1b[2K${p.model} ${p.stage} ${p.done}/${p.total}${left}`);
  };
}

/** Erase the progress line (when one was drawn). */
export function clearProgress(io: CliIO, line: unknown): void {
  if (line !== undefined) io.stderr('\r\x1b[2K');
}
