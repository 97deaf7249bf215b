/** Command dispatch, argument parsing and failure reporting of `migrec`. */
import { parseArgs } from 'node:util';
import { nearestName, UsageError } from '../index.js';
import type { CliIO, Command, FlagOptions, Values } from './args.js';
import { bench } from './bench.js';
import { demoCommand } from './demo.js';
import { evalCmd } from './eval.js';
import { explain } from './explain.js';
import { fit } from './fit.js';
import { forget, update } from './live.js';
import { exitStatus, failureMessage } from './failure.js';
import { recommend } from './recommend.js';
import { serve } from './serve.js';
import { worker } from './worker.js';

export type { CliIO } from './args.js';

const MAIN_HELP = `migrec: user-interest migration for cross-domain recommendation

Usage: migrec <command> [options]

Commands:
  demo        run everything on a generated two-domain log: metrics, a cold user's recommendations
  eval        fit models on training events and report full-ranking metrics
  fit         fit one or more models, report timings, save them to model files
  recommend   recommend from a model file for one user or a file of users
  explain     why a model file scores an item for a user: the contributions to the score
  update      add new events to a model file without a refit
  forget      remove every trace of a user from a model file
  bench       time the item-kNN fit and recommendation on a file, per thread count
  serve       serve a model file over HTTP: API, inspection page, metrics, reload
  worker      run the jobs of distributed fits and batch scorings (fit/recommend --redis) from Redis

Run \`migrec <command> --help\` for a command's options.
Exit status: 0 success, 2 bad input or usage, 1 internal failure.
`;

const COMMANDS: Record<string, Command> = { demo: demoCommand(() => Object.keys(COMMANDS)), eval: evalCmd, fit, recommend, explain, update, forget, bench, serve, worker };

/** Flags every command takes. */
const COMMON: FlagOptions = { debug: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } };

/**
 * Run the CLI on `argv` (without node and script) and return the exit status. Failures print one
 * line on stderr (`migrec: ...`) and give 2 for bad input or usage, 1 otherwise; `--debug` adds the stack.
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
  try {
    const cmd = COMMANDS[name];
    if (!cmd) throw new UsageError(`unknown command ${JSON.stringify(name)}${didYouMean(name, Object.keys(COMMANDS), '') || ` (commands: ${Object.keys(COMMANDS).join(', ')})`}`);
    const options = { ...cmd.options(), ...COMMON };
    const loose = looseParse(name, rest, options);
    if (loose.help === true) {
      io.stdout(cmd.help(loose));
      return 0;
    }
    let values: Values;
    try {
      values = parseArgs({ args: rest, options, strict: true, allowPositionals: false }).values as Values;
    } catch (e) {
      throw new UsageError(`${(e as Error).message.split('\n')[0]} (see \`migrec ${name} --help\`)`);
    }
    return await cmd.run(values, io);
  } catch (e) {
    io.stderr(`migrec: ${failureMessage(e)}\n`);
    if (debug && e instanceof Error && e.stack) io.stderr(`${e.stack}\n`);
    return exitStatus(e);
  }
}

/**
 * The flags as far as they can be read without failing, after refusing unknown flags: `unknown
 * option --neighbours (did you mean --neighbors?)`. @throws {UsageError}
 */
function looseParse(command: string, args: string[], options: FlagOptions): Values {
  const { values, tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  for (const t of tokens) {
    if (t.kind !== 'option' || Object.hasOwn(options, t.name)) continue;
    const flags = Object.keys(options).filter((f) => f !== 'debug' && f !== 'help');
    throw new UsageError(`unknown option ${t.rawName}${didYouMean(t.name, flags, '--') || ` (see \`migrec ${command} --help\`)`}`);
  }
  return values as Values;
}

/** ` (did you mean PREFIXname?)` for the candidate nearest to `name`, or '' when none is near. */
function didYouMean(name: string, candidates: readonly string[], prefix: string): string {
  const near = nearestName(name, candidates);
  return near === undefined ? '' : ` (did you mean ${prefix}${near}?)`;
}
