import { join } from 'node:path';
import { Roles, type Role } from '../../core/config.js';
import { Credentials, PER_CLIENT_ROLES } from '../../../broker/credentials.js';
import { CliError, EXIT } from '../client.js';
import { print, type CliCommand } from '../context.js';

export const creds: CliCommand = {
  usage: '<role> [laned-<name>]',
  help: `print the generated broker password of a role (${Roles.join(', ')}); driver and service: of one client, laned-<name>`,
  async run(ctx) {
    const role = ctx.args[0] as Role | undefined;
    if (!role || !(Roles as readonly string[]).includes(role)) throw new CliError(`name a role: ${Roles.join(', ')}`, EXIT.usage);
    const clientId = ctx.args[1];
    if (PER_CLIENT_ROLES.has(role) && !/^laned-[a-z][a-z0-9-]{0,31}$/.test(clientId ?? ''))
      throw new CliError(`role ${role} has one password per client: lanectl creds ${role} laned-<name> (e.g. laned-basket)`, EXIT.usage);
    let creds;
    try {
      creds = Credentials.readGenerated(ctx.stateDir);
    } catch (err) {
      throw new CliError(
        `cannot read ${join(ctx.stateDir, 'credentials.json')}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (run as the laned user or root; start laned once to create it)`,
        EXIT.noPerm,
      );
    }
    if (!creds[role])
      throw new CliError(`role ${role} has a configured scrypt hash (broker.credentials.${role}); its password is not stored on the board`, EXIT.failed);
    const pw = Credentials.passwordOf(creds, role, clientId);
    print(ctx, { role, ...(PER_CLIENT_ROLES.has(role) ? { clientId } : {}), password: pw }, () => pw);
  },
};
