import type { MqttClient } from 'mqtt';
import { connectTechnician } from './client.js';

export interface CliContext {
  stateDir: string;
  json: boolean;
  args: string[];
  flags: Record<string, string | boolean | undefined>;
  out(s: string): void;
}

/** One lanectl subcommand: `--json` output and a sysexits.h code on failure (CliError). */
export interface CliCommand {
  usage: string;
  help: string;
  run(ctx: CliContext): Promise<number | void>;
}

export function print(ctx: CliContext, value: unknown, human: () => string): void {
  ctx.out(ctx.json ? JSON.stringify(value, null, 2) : human());
}

/** Run `fn` with a short-lived technician connection to the lane's broker. */
export async function withTechnician<T>(ctx: CliContext, fn: (c: MqttClient) => Promise<T>): Promise<T> {
  const client = await connectTechnician(ctx.stateDir);
  try {
    return await fn(client);
  } finally {
    client.end(true);
  }
}
