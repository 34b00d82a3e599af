import { request } from '../../client.js';
import { print, withTechnician, type CliCommand } from '../../context.js';
import { technicianName } from '../../lane-doc.js';

/** `lanectl update rollback`: back to the version in the other slot, when the lane is idle. */
export const rollback: CliCommand = {
  usage: '',
  help: 'go back to the previous version (the other slot), under the idle lease and a trial like an update',
  async run(ctx) {
    const r = (await withTechnician(ctx, (c) => request(c, 'updater', 'Rollback', undefined, 5000, technicianName()))) as { slot: string; version: string };
    print(ctx, r, () => `rollback to version ${r.version} (slot ${r.slot}) waits for an idle lane; lanectl update status shows it`);
  },
};
