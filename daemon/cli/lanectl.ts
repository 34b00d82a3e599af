#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { resolveStateDir } from '../config.js';
import { CliError, EXIT } from './client.js';
import { commands } from './commands/index.js';
import type { CliContext } from './context.js';

const USAGE = `usage: lanectl [--state-dir DIR] [--json] COMMAND ...

${Object.entries(commands)
  .map(([name, c]) => `  ${`${name} ${c.usage}`.padEnd(34)} ${c.help}`)
  .join('\n')}

Exit codes: 0 ok, 1 failed, 64 usage, 65 bad input, 66 no such file, 69 laned not reachable, 73 cannot write, 77 no permission.
`;

/** On a board (image/install.sh) laned's state is systemd's StateDirectory=laned. */
function boardStateDir(): string | undefined {
  if (process.env.STATE_DIRECTORY) return undefined;
  return existsSync('/var/lib/laned') ? '/var/lib/laned' : undefined;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        'state-dir': { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        type: { type: 'string' },
        source: { type: 'string' },
        txn: { type: 'string' },
        count: { type: 'string' },
        device: { type: 'string' },
        timeout: { type: 'string' },
        grams: { type: 'string' },
        out: { type: 'string' },
        config: { type: 'string' },
        strict: { type: 'boolean' },
        pin: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    process.stderr.write(`lanectl: ${(err as Error).message}\n${USAGE}`);
    return EXIT.usage;
  }
  const [name, ...rest] = parsed.positionals;
  if (parsed.values.help || !name) {
    process.stdout.write(USAGE);
    return name || parsed.values.help ? EXIT.ok : EXIT.usage;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`lanectl: unknown command ${name}\n${USAGE}`);
    return EXIT.usage;
  }
  const ctx: CliContext = {
    stateDir: resolveStateDir(parsed.values['state-dir'] ?? boardStateDir()),
    json: parsed.values.json ?? false,
    args: rest,
    flags: parsed.values as Record<string, string | boolean | undefined>,
    out: (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  };
  try {
    return (await command.run(ctx)) ?? EXIT.ok;
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`lanectl ${name}: ${err.message}\n`);
      return err.code;
    }
    process.stderr.write(`lanectl ${name}: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.software;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
