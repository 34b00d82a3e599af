#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { existsSync } from 'node:fs';
import { resolveStateDir } from '../core/paths.js';
import { CliError, EXIT } from './client.js';
import { commands } from './commands/index.js';
import type { CliContext } from './context.js';
import { nearest } from './nearest.js';

/** The usage text with every command's line: loads them all, so only for --help and usage errors. */
async function usage(): Promise<string> {
  const lines = await Promise.all(
    Object.entries(commands).map(async ([name, load]) => {
      const c = await load();
      return `  ${`${name} ${c.usage}`.padEnd(34)} ${c.help}`;
    }),
  );
  return `usage: lanectl [--state-dir DIR] [--json] COMMAND ...

${lines.join('\n')}

Exit codes: 0 ok, 1 failed, 64 usage, 65 bad input (no such device, not a number), 66 no such file, 69 laned not reachable, 73 cannot write, 77 no permission.
lanectl COMMAND --help shows one command's usage; with --json, errors are a JSON document on stderr.
`;
}

/** On a board (image/install.sh) laned's state is systemd's StateDirectory=laned. */
function boardStateDir(): string | undefined {
  if (process.env.STATE_DIRECTORY) return undefined;
  return existsSync('/var/lib/laned') ? '/var/lib/laned' : undefined;
}

/** `lanectl <command> --help`: that command's usage line and what it does. */
async function commandUsage(name: string): Promise<string> {
  const c = await commands[name]!();
  return `usage: lanectl [--state-dir DIR] [--json] ${name} ${c.usage}\n\n  ${c.help}\n`;
}

/** A failure on stderr: one line of text, or with --json one JSON document with the exit code. */
function fail(json: boolean, command: string | undefined, message: string, code: number, usage?: string): number {
  if (json) process.stderr.write(`${JSON.stringify({ error: message, code, ...(command ? { command } : {}) })}\n`);
  else process.stderr.write(`lanectl${command ? ` ${command}` : ''}: ${message}\n${usage ?? ''}`);
  return code;
}

async function main(argv: string[]): Promise<number> {
  const wantsJson = argv.includes('--json');
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
        root: { type: 'string' },
        strict: { type: 'boolean' },
        pin: { type: 'boolean' },
        force: { type: 'boolean' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    const name = argv.find((a) => !a.startsWith('-'));
    return fail(
      wantsJson,
      name && commands[name] ? name : undefined,
      (err as Error).message,
      EXIT.usage,
      name && commands[name] ? await commandUsage(name) : await usage(),
    );
  }
  const [name, ...rest] = parsed.positionals;
  if (name && parsed.values.help && commands[name]) {
    process.stdout.write(await commandUsage(name));
    return EXIT.ok;
  }
  if (!name) {
    process.stdout.write(await usage());
    return parsed.values.help ? EXIT.ok : EXIT.usage;
  }
  const load = commands[name];
  if (!load) {
    const near = nearest(name, Object.keys(commands));
    return fail(
      parsed.values.json ?? false,
      undefined,
      `unknown command ${name}${near ? `; did you mean ${near}?` : ''} (lanectl --help lists them)`,
      EXIT.usage,
    );
  }
  const ctx: CliContext = {
    stateDir: resolveStateDir(parsed.values['state-dir'] ?? boardStateDir()),
    json: parsed.values.json ?? false,
    args: rest,
    flags: parsed.values as Record<string, string | boolean | undefined>,
    out: (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  };
  try {
    return (await (await load()).run(ctx)) ?? EXIT.ok;
  } catch (err) {
    if (err instanceof CliError) return fail(ctx.json, name, err.message, err.code);
    return fail(ctx.json, name, (err as Error).stack ?? String(err), EXIT.software);
  }
}

// main answers every failure with an exit code; anything else ends the process with its stack
void main(process.argv.slice(2)).then((code) => process.exit(code));
