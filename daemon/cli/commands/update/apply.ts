import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CliError, EXIT, request } from '../../client.js';
import { print, withTechnician, type CliCommand } from '../../context.js';

/** `lanectl update apply FILE`: the running laned checks the bundle and stages it into the inactive slot. */
export const apply: CliCommand = {
  usage: 'FILE',
  help: 'check a bundle file and stage it into the inactive slot',
  async run(ctx) {
    const [arg] = ctx.args;
    if (!arg) throw new CliError('update apply FILE: give the .bundle file', EXIT.usage);
    const path = resolve(arg);
    if (!existsSync(path)) throw new CliError(`${path}: no such file`, EXIT.noInput);
    // verifying and unpacking a full payload takes a while on a board's SD card
    const r = (await withTechnician(ctx, (c) => request(c, 'updater', 'Apply', { path }, 600_000))) as { slot: string; version: string };
    print(ctx, r, () => `${r.version} staged in slot ${r.slot}; it is switched to when the lane is idle`);
  },
};
