/** `migrec explain`: why a model file scores an item for a user, contribution by contribution. */
import { loadModel, type Explanation } from '../index.js';
import { parseNumber, required, type CliIO, type Command, type Values } from './args.js';
import { unknownUser } from './failure.js';

const EXPLAIN_OPTIONS = {
  model: { type: 'string' },
  user: { type: 'string' },
  item: { type: 'string' },
  domain: { type: 'string' },
  top: { type: 'string', default: '20' },
  json: { type: 'boolean', default: false },
} as const;

const EXPLAIN_HELP = `Usage: migrec explain --model FILE --user U --item I [--domain D] [--top 20] [--json]

Explains the score a model file gives item I for user U: the items, users, popularity or
component models that contributed to it, largest first (the weights add up to the score).

Options:
  --model FILE          a model file
  --user U              the user (known to the model)
  --item I              the item
  --domain D            domain of the item (default: the model's target domain)
  --top N               contributions shown in the text output (default 20; --json prints all)
  --json                print the explanation object { user, item, domain, score, contributions:
                        [{ kind, id, domain?, weight, model? }] }
`;

/** `migrec explain`. */
export const explain: Command = { options: () => EXPLAIN_OPTIONS, help: () => EXPLAIN_HELP, run: explainCommand };

/** Run `migrec explain`. */
async function explainCommand(v: Values, io: CliIO): Promise<number> {
  const path = required(v, 'model', 'explain');
  const user = required(v, 'user', 'explain');
  const item = required(v, 'item', 'explain');
  const top = parseNumber(String(v.top), '--top', (x) => Number.isInteger(x) && x > 0, 'a positive integer');
  const model = await loadModel(path);
  try {
    if (!model.hasUser(user)) throw unknownUser(user, '');
    const e = model.explain(user, item, { domain: v.domain as string | undefined });
    io.stdout(v.json ? `${JSON.stringify(e)}\n` : formatExplanation(e, top));
    return 0;
  } finally {
    await model.close();
  }
}

/** The text form: the score, then a table of the largest `top` contributions (also used by `migrec demo`). */
export function formatExplanation(e: Explanation, top: number): string {
  const sorted = [...e.contributions].sort((a, b) => b.weight - a.weight);
  const head = ['weight', 'kind', 'id', 'domain', 'model'];
  const rows = sorted.slice(0, top).map((c) => [c.weight.toPrecision(4), c.kind, c.id || '-', c.domain ?? '-', c.model ?? '-']);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const title = `score ${e.score.toPrecision(6)} for item ${e.item} (domain ${e.domain}), user ${e.user}`;
  if (sorted.length === 0) return `${title}\n(no contributions)\n`;
  const out = [title, line(head), ...rows.map(line)];
  const rest = sorted.slice(top);
  if (rest.length > 0) out.push(`... ${rest.length} more, weight ${rest.reduce((a, c) => a + c.weight, 0).toPrecision(4)} in all`);
  return `${out.join('\n')}\n`;
}
