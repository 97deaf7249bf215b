/**
 * The whole error vocabulary of migrec. Every error has a stable `name` and `code`, so type guards
 * work across worker boundaries (where `instanceof` does not), and a message that says what was
 * wrong and where.
 */

/** Stable codes for every failure kind. */
export type MigrecErrorCode =
  | 'DATA'
  | 'UNKNOWN_ID'
  | 'NOT_FITTED'
  | 'MODEL_FIT'
  | 'KERNEL'
  | 'MODEL_FORMAT'
  | 'NOT_SUPPORTED'
  | 'STORAGE'
  | 'USAGE'
  | 'CLUSTER';

/** Base class of every error migrec throws on purpose. */
export class MigrecError extends Error {
  /** Stable machine-readable code. */
  readonly code: MigrecErrorCode;
  constructor(code: MigrecErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = 'MigrecError';
  }
}

/** Where in an input file a problem was found (1-based line and column). */
export interface DataLocation {
  /** File path, or a label such as `<memory>` for in-memory input. */
  file: string;
  /** 1-based line number, counting the header. */
  line?: number;
  /** 1-based column number (the field position); for JSON Lines, the key. */
  column?: number | string;
}

/** Input data that cannot be read: malformed rows, missing columns, bad numbers, empty files. */
export class DataError extends MigrecError {
  readonly file: string;
  readonly line: number | undefined;
  readonly column: number | string | undefined;
  constructor(where: DataLocation, message: string) {
    const at = [where.file, where.line, where.column].filter((p) => p !== undefined).join(':');
    super('DATA', `${at}: ${message}`);
    this.name = 'DataError';
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
  }
}

/** A user or item id that the fitted model (or the data set) does not know. */
export class UnknownIdError extends MigrecError {
  readonly kind: 'user' | 'item' | 'domain' | 'category';
  readonly id: string;
  constructor(kind: 'user' | 'item' | 'domain' | 'category', id: string, detail?: string) {
    // The id is quoted as a short, escaped excerpt: ids come from input and may be huge or hold control characters.
    super('UNKNOWN_ID', `unknown ${kind} ${quoteInput(String(id), 120)}${detail ? `: ${detail}` : ''}`);
    this.name = 'UnknownIdError';
    this.kind = kind;
    this.id = id;
  }
}

/** A model used before `fit` (or after `close`). */
export class NotFittedError extends MigrecError {
  constructor(message: string) {
    super('NOT_FITTED', message);
    this.name = 'NotFittedError';
  }
}

/** Training failed: NaN/Inf values, or data a model cannot learn from. */
export class ModelFitError extends MigrecError {
  constructor(message: string) {
    super('MODEL_FIT', message);
    this.name = 'ModelFitError';
  }
}

/** A compute kernel or worker failed (wasm trap, worker crash, timeout). */
export class KernelError extends MigrecError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KERNEL', message, options);
    this.name = 'KernelError';
  }
}

/** A model file that is truncated, corrupted, of another model type or of a newer format. */
export class ModelFormatError extends MigrecError {
  constructor(message: string) {
    super('MODEL_FORMAT', message);
    this.name = 'ModelFormatError';
  }
}

/** A file that cannot be written or read (missing directory, permissions). */
export class StorageError extends MigrecError {
  constructor(message: string) {
    super('STORAGE', message);
    this.name = 'StorageError';
  }
}

/** An operation the model does not provide. */
export class NotSupportedError extends MigrecError {
  constructor(message: string) {
    super('NOT_SUPPORTED', message);
    this.name = 'NotSupportedError';
  }
}

/** Wrong command-line usage (unknown flag, missing argument); the CLI exits with status 2. */
export class UsageError extends MigrecError {
  constructor(message: string) {
    super('USAGE', message);
    this.name = 'UsageError';
  }
}

/**
 * A distributed run (a fit or a batch scoring on a Redis queue, see `createClusterPool`) that could
 * not finish: Redis unreachable or restarted and the run's jobs lost, a job that failed every
 * attempt (its message is included), a run that made no progress in time. Says where (the Redis
 * URL, the queue, the job).
 */
export class ClusterError extends MigrecError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CLUSTER', message, options);
    this.name = 'ClusterError';
  }
}

/** True for any error migrec throws on purpose, also across worker boundaries. */
export function isMigrecError(e: unknown): e is MigrecError {
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof (e as { code?: unknown }).code === 'string' &&
    typeof (e as { name?: unknown }).name === 'string' &&
    /Error$/.test((e as { name: string }).name) &&
    ['DATA', 'UNKNOWN_ID', 'NOT_FITTED', 'MODEL_FIT', 'KERNEL', 'MODEL_FORMAT', 'NOT_SUPPORTED', 'STORAGE', 'USAGE', 'CLUSTER'].includes(
      (e as { code: string }).code,
    )
  );
}

/**
 * A wrong option: an unknown key, or a value of the wrong type. `option` is the dotted path of the
 * option, e.g. `neighbors` or `components.itemknn.neighbors`.
 */
export class OptionTypeError extends TypeError {
  /** Stable machine-readable code (shared with `OptionRangeError`). */
  readonly code = 'OPTION' as const;
  /** Dotted path of the wrong option. */
  readonly option: string;
  constructor(option: string, message: string) {
    super(message);
    this.name = 'OptionTypeError';
    this.option = option;
  }
}

/** An option value of the right type but out of range (too small, not an integer, not one of the allowed values). */
export class OptionRangeError extends RangeError {
  /** Stable machine-readable code (shared with `OptionTypeError`). */
  readonly code = 'OPTION' as const;
  /** Dotted path of the wrong option. */
  readonly option: string;
  constructor(option: string, message: string) {
    super(message);
    this.name = 'OptionRangeError';
    this.option = option;
  }
}

/** True for `OptionTypeError` and `OptionRangeError`, also across worker boundaries (by name and code). */
export function isOptionError(e: unknown): e is OptionTypeError | OptionRangeError {
  if (typeof e !== 'object' || e === null) return false;
  const { name, code } = e as { name?: unknown; code?: unknown };
  return code === 'OPTION' && (name === 'OptionTypeError' || name === 'OptionRangeError');
}

/**
 * Input text made safe to print inside an error message: at most `max` characters of it (cut at a
 * code-point boundary, `…` marking the cut) with backslash, control characters (U+0000-U+001F,
 * U+007F-U+009F, so ESC too), U+2028/U+2029 and lone surrogates escaped the way `JSON.stringify`
 * writes them. `quoteInput` adds the double quotes (and escapes `"`): for ordinary short text it
 * equals `JSON.stringify(text)`. A 50 MB header or an id with terminal escape sequences thus never
 * reaches a terminal or a log as it is.
 */
export function escapeInput(text: string, max = 60): string {
  return escapeExcerpt(text, max, false);
}

/** `escapeInput` inside double quotes, with `"` escaped too (see there). */
export function quoteInput(text: string, max = 60): string {
  return `"${escapeExcerpt(text, max, true)}"`;
}

function escapeExcerpt(text: string, max: number, quotes: boolean): string {
  let s = String(text);
  let cut = false;
  if (s.length > max) {
    let end = Math.max(0, max);
    const c = s.charCodeAt(end - 1);
    if (c >= 0xd800 && c <= 0xdbff) end--; // do not split a surrogate pair
    s = s.slice(0, end);
    cut = true;
  }
  let out = '';
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) {
      esc = c === 10 ? '\\n' : c === 13 ? '\\r' : c === 9 ? '\\t' : `\\u${c.toString(16).padStart(4, '0')}`;
    } else if (c === 0x5c) esc = '\\\\';
    else if (c === 0x22 && quotes) esc = '\\"';
    else if (c >= 0xd800 && c <= 0xdfff) {
      const pair = c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
      if (pair) {
        i++;
        continue;
      }
      esc = `\\u${c.toString(16)}`;
    }
    if (esc !== undefined) {
      out += s.slice(from, i) + esc;
      from = i + 1;
    }
  }
  out += s.slice(from);
  return cut ? `${out}…` : out;
}
