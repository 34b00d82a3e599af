import { createInterface } from 'node:readline';
import { hashPassword } from '../../../broker/credentials.js';
import { CliError, EXIT } from '../client.js';
import { print, type CliCommand } from '../context.js';

/** The secret from stdin's first line (a pipe, or typed after a prompt), so it stays out of the shell history and `ps`. */
async function fromStdin(what: string): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write(`${what}: `);
  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of rl) return line.replace(/\r$/, '');
  } finally {
    rl.close();
  }
  throw new CliError(`hash-password: no ${what} given (as an argument or on stdin)`, EXIT.usage);
}

export const hashPasswordCommand: CliCommand = {
  usage: '[<password>] | --pin [<digits>]',
  help: 'make a scrypt hash: broker.credentials (a password), or services.attendant.pinHash (--pin); the secret from stdin when not given',
  async run(ctx) {
    const pw = ctx.args[0] ?? (await fromStdin(ctx.flags.pin ? 'attendant PIN' : 'password'));
    if (ctx.flags.pin) {
      if (!/^\d{4,12}$/.test(pw)) throw new CliError('hash-password --pin: give the attendant PIN, 4 to 12 digits', EXIT.usage);
    } else if (pw.length < 8) throw new CliError('give a password of at least 8 characters (an attendant PIN: --pin <digits>)', EXIT.usage);
    const hash = await hashPassword(pw);
    print(ctx, { hash }, () => hash);
  },
};
