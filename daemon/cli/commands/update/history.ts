import { request } from '../../client.js';
import { print, withTechnician, type CliCommand } from '../../context.js';
import type { UpdaterHistoryEntry } from '../../../updater/state-file.js';
import { historyLine } from './status.js';

/** `lanectl update history`: every switch, commit, rollback and install the state file keeps. */
export const history: CliCommand = {
  usage: '',
  help: 'what each update came to (good, rolled-back and why, installed)',
  async run(ctx) {
    const rows = (await withTechnician(ctx, (c) => request(c, 'updater', 'History', undefined, 5000))) as UpdaterHistoryEntry[];
    print(ctx, rows, () => (rows.length ? rows.map(historyLine).join('\n') : 'no updates yet'));
  },
};
