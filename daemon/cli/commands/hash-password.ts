import { hashPassword } from '../../../broker/credentials.js';
import { CliError, EXIT } from '../client.js';
import { print, type CliCommand } from '../context.js';

export const hashPasswordCommand: CliCommand = {
  usage: '<password> | --pin <digits>',
  help: 'make a scrypt hash: broker.credentials (a password), or services.attendant.pinHash (--pin)',
  async run(ctx) {
    const pw = ctx.args[0];
    if (ctx.flags.pin) {
      if (!pw || !/^\d{4,12}$/.test(pw)) throw new CliError('hash-password --pin: give the attendant PIN, 4 to 12 digits', EXIT.usage);
    } else if (!pw || pw.length < 8) throw new CliError('give a password of at least 8 characters (an attendant PIN: --pin <digits>)', EXIT.usage);
    const hash = await hashPassword(pw);
    print(ctx, { hash }, () => hash);
  },
};
