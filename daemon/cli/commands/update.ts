import { CliError, EXIT } from '../client.js';
import type { CliCommand } from '../context.js';
import { apply } from './update/apply.js';
import { keygen } from './update/keygen.js';
import { history } from './update/history.js';
import { rollback } from './update/rollback.js';
import { status } from './update/status.js';

/** `lanectl update <verb>`: one file per verb in update/; add new ones here. */
const verbs: Record<string, CliCommand> = {
  apply,
  keygen,
  status,
  history,
  rollback,
};

export const update: CliCommand = {
  usage: Object.entries(verbs)
    .map(([name, v]) => `${name} ${v.usage}`.trim())
    .join(' | '),
  help: `over-the-air updates: ${Object.entries(verbs)
    .map(([name, v]) => `${name}: ${v.help}`)
    .join('; ')}`,
  async run(ctx) {
    const [verb, ...args] = ctx.args;
    const v = verb ? verbs[verb] : undefined;
    if (!v) throw new CliError(`update ${verb ?? ''}: give one of ${Object.keys(verbs).join(', ')}`.replace('update : ', 'update: '), EXIT.usage);
    return v.run({ ...ctx, args });
  },
};
