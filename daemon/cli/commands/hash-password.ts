import { hashPassword } from '../../../broker/credentials.js';
import { CliError, EXIT } from '../client.js';
import { print, type CliCommand } from '../context.js';

export const hashPasswordCommand: CliCommand = {
  usage: '<password>',
  help: 'make a scrypt hash for broker.credentials in the config',
  async run(ctx) {
    const pw = ctx.args[0];
    if (!pw || pw.length < 8) throw new CliError('give a password of at least 8 characters', EXIT.usage);
    const hash = await hashPassword(pw);
    print(ctx, { hash }, () => hash);
  },
};
