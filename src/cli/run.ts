/** Command dispatch, argument parsing and error-to-exit-status mapping for `migrec`. */
import { parseArgs } from 'node:util';
import { isMigrecError, UsageError } from '../index.js';
import { benchCommand, BENCH_HELP, BENCH_OPTIONS } from './bench.js';
import { evalCommand, EVAL_HELP, EVAL_OPTIONS } from './eval.js';
import { fitCommand, FIT_HELP, FIT_OPTIONS } from './fit.js';
import { recommendCommand, RECOMMEND_HELP, RECOMMEND_OPTIONS } from './recommend.js';

/** Where the CLI writes. */
export interface CliIO {
  stdout(s: string): void;
  stderr(s: string): void;
  /** Is stderr a terminal (progress output only then). */
  isTTY: boolean;
}

const MAIN_HELP = `migrec: user-interest migration for cross-domain recommendation

Usage: migrec <command> [options]

Commands:
  eval        fit models on training events and report full-ranking metrics
  fit         fit one model, report timings, save it to a model file
  recommend   recommend from a model file for one user or a file of users
  bench       time the item-kNN fit and recommendation on a file, per thread count

Run \`migrec <command> --help\` for a command's options.
Exit status: 0 success, 2 bad input or usage, 1 internal failure.
`;

/** A command: its options for `parseArgs`, its help text and its body. */
interface Command {
  options: NonNullable<NonNullable<Parameters<typeof parseArgs>[0]>['options']>;
  help: string;
  run(values: Record<string, unknown>, io: CliIO): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  eval: { options: EVAL_OPTIONS, help: EVAL_HELP, run: evalCommand },
  fit: { options: FIT_OPTIONS, help: FIT_HELP, run: fitCommand },
  recommend: { options: RECOMMEND_OPTIONS, help: RECOMMEND_HELP, run: recommendCommand },
  bench: { options: BENCH_OPTIONS, help: BENCH_HELP, run: benchCommand },
};

/**
 * Run the CLI on `argv` (without node and script) and return the exit status. Expected failures
 * (bad input, usage) print one line and give 2; anything else gives 1. `--debug` adds the stack.
 */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const debug = argv.includes('--debug');
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(MAIN_HELP);
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    io.stdout('migrec 0.1.0\n');
    return 0;
  }
  const cmd = COMMANDS[name];
  try {
    if (!cmd) throw new UsageError(`unknown command ${JSON.stringify(name)} (commands: ${Object.keys(COMMANDS).join(', ')})`);
    if (rest.includes('--help') || rest.includes('-h')) {
      io.stdout(cmd.help);
      return 0;
    }
    let values: Record<string, unknown>;
    try {
      ({ values } = parseArgs({ args: rest, options: { ...cmd.options, debug: { type: 'boolean' } }, strict: true, allowPositionals: false }));
    } catch (e) {
      throw new UsageError(`${(e as Error).message.split('\n')[0]} (see \`migrec ${name} --help\`)`);
    }
    return await cmd.run(values, io);
  } catch (e) {
    // Bad input or usage: our typed errors about the caller's data, files or options, and the
    // TypeError/RangeError that option validation throws (their messages name the option).
    // Anything else (a bug, a failed worker) is internal.
    const msg = (e as Error)?.message ?? String(e);
    const optionError = (e instanceof TypeError || e instanceof RangeError) && /^(options\.|--|n must|index |seed must|unknown domain )/.test(msg);
    const bad = optionError || (isMigrecError(e) && ['DATA', 'USAGE', 'UNKNOWN_ID', 'MODEL_FORMAT', 'NOT_SUPPORTED', 'STORAGE', 'MODEL_FIT'].includes(e.code));
    io.stderr(`migrec: ${bad ? '' : 'internal error: '}${msg}\n`);
    if (debug && e instanceof Error && e.stack) io.stderr(`${e.stack}\n`);
    return bad ? 2 : 1;
  }
}

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

/** A required string flag. @throws {UsageError} when missing. */
export function required(values: Record<string, unknown>, name: string, command: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`missing required option --${name} (see \`migrec ${command} --help\`)`);
  return v;
}

