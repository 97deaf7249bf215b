/**
 * How a failure reaches the terminal: its exit status, decided by the error's type (never by its
 * message), and its message in command-line words (flags, not option objects).
 */
import { isMigrecError, isOptionError, kebab, UnknownIdError, type MigrecErrorCode } from '../index.js';

/** Codes of errors about the caller's input (data, files, ids, options): exit status 2. */
const BAD_INPUT: ReadonlySet<MigrecErrorCode> = new Set(['DATA', 'USAGE', 'UNKNOWN_ID', 'MODEL_FORMAT', 'NOT_SUPPORTED', 'STORAGE', 'MODEL_FIT']);

/** Exit status of a failure: 2 for bad input or usage, 1 for an internal failure. */
export function exitStatus(e: unknown): 1 | 2 {
  return isOptionError(e) || (isMigrecError(e) && BAD_INPUT.has(e.code)) ? 2 : 1;
}

/** The flag that sets a library option: `--bm25-k1` for `bm25K1`, `--set itemknn.neighbors` for `components.itemknn.neighbors`. */
export function flagOf(option: string): string {
  const parts = option.split('.');
  if (parts[0] === 'components' && parts.length >= 3) return `--set ${parts.slice(1).join('.')}`;
  return `--${kebab(option)}`;
}

/**
 * The one-line message of a failure, without the `migrec: ` prefix (added once by the caller). An
 * option error from the library names the option as `options.<path>`; here it names the flag.
 */
export function failureMessage(e: unknown): string {
  let msg = e instanceof Error ? e.message : String(e);
  if (isOptionError(e)) {
    const prefix = `options.${e.option}`;
    msg = msg.startsWith(prefix) ? `${flagOf(e.option)}${msg.slice(prefix.length)}` : `${flagOf(e.option)}: ${msg}`;
  }
  const first = msg.split('\n')[0];
  // A distributed run that failed (Redis gone, a job failing every attempt) is no internal error: its message says why.
  return exitStatus(e) === 2 || (isMigrecError(e) && e.code === 'CLUSTER') ? first : `internal error: ${first}`;
}

/** An unknown user, in command-line words (`hint` says what to do about it). */
export function unknownUser(id: string, hint = ' (use --fallback popularity to recommend popular items)'): UnknownIdError {
  return new UnknownIdError('user', id, `not in the training data${hint}`);
}
