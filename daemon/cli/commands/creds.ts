import { join } from 'node:path';
import { Roles, type Role } from '../../config.js';
import { Credentials } from '../../../broker/credentials.js';
import { CliError, EXIT } from '../client.js';
import { print, type CliCommand } from '../context.js';

export const creds: CliCommand = {
  usage: '<role>',
  help: `print the generated broker password of a role (${Roles.join(', ')})`,
  async run(ctx) {
    const role = ctx.args[0] as Role | undefined;
    if (!role || !(Roles as readonly string[]).includes(role)) throw new CliError(`name a role: ${Roles.join(', ')}`, EXIT.usage);
    let creds;
    try {
      creds = Credentials.readGenerated(ctx.stateDir);
    } catch (err) {
      throw new CliError(
        `cannot read ${join(ctx.stateDir, 'credentials.json')}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (run as the laned user or root; start laned once to create it)`,
        EXIT.noPerm,
      );
    }
    const pw = creds[role];
    if (!pw) throw new CliError(`role ${role} has a configured scrypt hash (broker.credentials.${role}); its password is not stored on the board`, EXIT.failed);
    print(ctx, { role, password: pw }, () => pw);
  },
};
