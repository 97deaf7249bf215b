/** `migrec update` and `migrec forget`: change a model file without a refit, and save the result. */
import { loadEvents, loadModel, type LiveReport, type Recommender } from '../index.js';
import { required, type CliIO, type Command, type Values } from './args.js';
import { DATA_HELP, DATA_OPTIONS, loadOptionsFrom, reportSkipped } from './common.js';

const UPDATE_OPTIONS = { model: { type: 'string' }, events: { type: 'string' }, out: { type: 'string' }, json: { type: 'boolean', default: false }, ...DATA_OPTIONS } as const;
const FORGET_OPTIONS = { model: { type: 'string' }, user: { type: 'string', multiple: true }, out: { type: 'string' }, json: { type: 'boolean', default: false } } as const;

const UPDATE_HELP = `Usage: migrec update --model FILE --events FILE --out FILE [--json] [data options]

Adds new events (of known or new users and items, in domains the model knows) to a model file
without a refit and saves the result atomically. Popularity, itemknn, userknn and bridge give the
same lists as a refit on old and new rows with the same options; mf, emcdr and ptupcdr re-solve
the factors of the users and items the events touch; migrec updates its components and keeps its
fusion weights. See docs/live-models.md for when to refit.

Options:
  --model FILE          the model file to update
  --events FILE         the new events (same columns as training files)
  --out FILE            where to save the updated model (may be --model itself)
  --json                print { operation, rows, newUsers, newItems, seconds, out }
${DATA_HELP}
`;

const FORGET_HELP = `Usage: migrec forget --model FILE --user U [--user U2 ...] --out FILE [--json]

Removes every trace of a user from a model file: their rows, their rows in every similarity
(recomputed as a fit without them), their factors, folded-in behaviour and their id; the saved
file no longer contains the id. Saved atomically.

Options:
  --model FILE          the model file
  --user U              the user to forget (repeatable)
  --out FILE            where to save the model (may be --model itself)
  --json                print { operation, users, rows, seconds, out }
`;

/** `migrec update`. */
export const update: Command = { options: () => UPDATE_OPTIONS, help: () => UPDATE_HELP, run: updateCommand };

/** `migrec forget`. */
export const forget: Command = { options: () => FORGET_OPTIONS, help: () => FORGET_HELP, run: forgetCommand };

async function updateCommand(v: Values, io: CliIO): Promise<number> {
  const path = required(v, 'model', 'update');
  const events = required(v, 'events', 'update');
  const out = required(v, 'out', 'update');
  const loadOpts = loadOptionsFrom(v);
  return withModel(path, async (model) => {
    const table = await loadEvents(events, loadOpts);
    reportSkipped(io.stderr, events, table);
    const r = await model.update(table);
    await model.save(out);
    print(io, v, { ...r, out }, `updated ${path}: ${r.rows} rows (${r.newUsers} new users, ${r.newItems} new items) in ${r.seconds.toFixed(3)} s; saved ${out}\n`);
  });
}

async function forgetCommand(v: Values, io: CliIO): Promise<number> {
  const path = required(v, 'model', 'forget');
  const users = v.user as string[] | undefined;
  if (!users || users.length === 0) required(v, 'user', 'forget');
  const out = required(v, 'out', 'forget');
  return withModel(path, async (model) => {
    let rows = 0;
    let seconds = 0;
    for (const u of users!) {
      const r: LiveReport = await model.forget(u);
      rows += r.rows;
      seconds += r.seconds;
    }
    await model.save(out);
    print(io, v, { operation: 'forget', users: users!.length, rows, seconds, out }, `forgot ${users!.length} user(s) of ${path} (${rows} rows) in ${seconds.toFixed(3)} s; saved ${out}\n`);
  });
}

async function withModel(path: string, run: (model: Recommender) => Promise<void>): Promise<number> {
  const model = await loadModel(path);
  try {
    await run(model);
    return 0;
  } finally {
    await model.close();
  }
}

function print(io: CliIO, v: Values, json: object, text: string): void {
  io.stdout(v.json ? `${JSON.stringify(json)}\n` : text);
}
