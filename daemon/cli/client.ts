import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { Credentials } from '../../broker/credentials.js';
import { noDelay } from '../runtime/mqtt.js';
import { newCommand, type CommandReply } from '../events/command.js';
import { RUNTIME_FILE } from '../core/paths.js';
import { cmd as cmdTopic, reply as replyTopic } from '../../broker/topics.js';

/** sysexits.h codes lanectl uses, so scripts over SSH can tell failures apart. */
export const EXIT = { ok: 0, failed: 1, usage: 64, dataErr: 65, noInput: 66, unavailable: 69, software: 70, cantCreate: 73, noPerm: 77, config: 78 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number = EXIT.failed,
  ) {
    super(message);
  }
}

export interface RuntimeInfo {
  pid: number;
  broker?: string;
  http?: string;
}

export function readRuntime(stateDir: string): RuntimeInfo {
  const file = join(stateDir, RUNTIME_FILE);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as RuntimeInfo;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EACCES') {
      throw new CliError(`cannot read ${file} (permission denied): run lanectl with sudo, or add yourself to group laned`, EXIT.noPerm);
    }
    throw new CliError(
      `laned is not running for state directory ${stateDir} (no ${file}); start it (systemctl start laned) or pass --state-dir`,
      EXIT.unavailable,
    );
  }
}

export function technicianPassword(stateDir: string): string {
  try {
    const pw = Credentials.readGenerated(stateDir).technician;
    if (pw) return pw;
  } catch {
    // fall through to the message below
  }
  if (process.env.LANED_PASSWORD) return process.env.LANED_PASSWORD;
  throw new CliError(`no technician password in ${join(stateDir, 'credentials.json')} (configured as a hash?); set LANED_PASSWORD`, EXIT.noPerm);
}

/** A short-lived technician connection for one lanectl command. */
export async function connectTechnician(stateDir: string, timeoutMs = 5000): Promise<MqttClient> {
  const rt = readRuntime(stateDir);
  if (!rt.broker) throw new CliError('laned runs without its own broker here', EXIT.unavailable);
  const client = noDelay(
    mqtt.connect(rt.broker, {
      clientId: `lanectl-${process.pid}-${randomBytes(3).toString('hex')}`,
      clean: true,
      username: 'technician',
      password: technicianPassword(stateDir),
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
    }),
  );
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', (err) => reject(new CliError(`cannot connect to the lane's broker at ${rt.broker}: ${err.message}`, EXIT.unavailable)));
    client.once('close', () => reject(new CliError(`cannot connect to the lane's broker at ${rt.broker}`, EXIT.unavailable)));
  });
  return client;
}

/** Send a command and wait for its reply on reply/<clientId>/<id>. */
export async function request(client: MqttClient, target: string, command: string, args?: unknown, timeoutMs = 10_000, by = 'technician'): Promise<unknown> {
  const cmd = newCommand(args, undefined, by);
  const replyTo = replyTopic(client.options.clientId ?? '', cmd.id);
  cmd.replyTo = replyTo;
  const reply = await new Promise<CommandReply>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new CliError(`no answer from ${target} to ${command} within ${timeoutMs} ms (is the service running? lanectl status)`, EXIT.unavailable)),
      timeoutMs,
    );
    client.on('message', (topic, payload) => {
      if (topic !== replyTo) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(payload.toString('utf8')) as CommandReply);
      } catch {
        reject(new CliError(`unreadable reply from ${target}`, EXIT.software));
      }
    });
    client.subscribe(replyTo, { qos: 1 }, (err) => {
      if (err) return reject(new CliError(`cannot subscribe to replies: ${err.message}`, EXIT.unavailable));
      client.publish(cmdTopic(target, command), JSON.stringify(cmd), { qos: 1 });
    });
  });
  if (!reply.ok) throw new CliError(`${target} ${command}: ${reply.error ?? 'failed'}`, reply.kind === 'not-found' ? EXIT.dataErr : EXIT.failed);
  return reply.result;
}
