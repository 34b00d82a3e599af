import { generateKeyPairSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CliError, EXIT } from '../../client.js';
import { print, type CliCommand } from '../../context.js';

/** `lanectl update keygen ID [--out DIR]`: an Ed25519 key pair for signing bundles. */
export const keygen: CliCommand = {
  usage: 'ID [--out DIR] [--force]',
  help: 'make an Ed25519 key pair for signing bundles: ID.key (private, 0600) and ID.pub',
  async run(ctx) {
    const [id] = ctx.args;
    if (!id || !/^[A-Za-z0-9._-]{1,64}$/.test(id))
      throw new CliError('update keygen ID: give the key id (letters, digits, . _ -), e.g. store-2026', EXIT.usage);
    const dir = resolve(typeof ctx.flags.out === 'string' ? ctx.flags.out : '.');
    const priv = join(dir, `${id}.key`);
    const pub = join(dir, `${id}.pub`);
    for (const f of [priv, pub])
      if (existsSync(f) && !ctx.flags.force) throw new CliError(`${f} exists: keep it, or pass --force to replace it`, EXIT.cantCreate);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    try {
      writeFileSync(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: ctx.flags.force ? 'w' : 'wx' });
      writeFileSync(pub, publicPem, { mode: 0o644, flag: ctx.flags.force ? 'w' : 'wx' });
    } catch (err) {
      throw new CliError(`cannot write the key pair in ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, EXIT.cantCreate);
    }
    print(ctx, { id, privateKey: priv, publicKey: pub, publicPem }, () =>
      [
        `wrote ${priv} (private: keep it off the lanes, sign with npm run bundle -- --key ${priv}) and ${pub}`,
        'trust it on a lane (laned.yaml):',
        '  updater:',
        '    keys:',
        `      - id: ${id}`,
        `        file: ${pub}`,
      ].join('\n'),
    );
  },
};
