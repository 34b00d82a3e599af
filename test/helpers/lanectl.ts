import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { LANECTL, ROOT } from './daemon.js';

export interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Run lanectl (dist/, as installed) against a state directory; resolves with exit code and output. */
export function lanectl(stateDir: string, args: string[], opts: { env?: Record<string, string>; timeoutMs?: number; input?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [LANECTL, '--state-dir', stateDir, ...args],
      { timeout: opts.timeoutMs ?? 30_000, env: { ...process.env, ...opts.env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0, out: stdout, err: stderr }),
    );
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** lanectl as a running child, for interactive commands: read its stderr, write its stdin. */
export function lanectlInteractive(
  stateDir: string,
  args: string[],
): {
  proc: ChildProcess;
  err(): string;
  out(): string;
  waitErr(re: RegExp, timeoutMs?: number): Promise<void>;
  waitOut(re: RegExp, timeoutMs?: number): Promise<void>;
  done: Promise<CliResult>;
} {
  const proc = spawn(process.execPath, [LANECTL, '--state-dir', stateDir, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<{ re: RegExp; resolve: () => void }> = [];
  const outWaiters: Array<{ re: RegExp; resolve: () => void }> = [];
  proc.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
    for (const w of [...outWaiters]) {
      if (!w.re.test(out)) continue;
      outWaiters.splice(outWaiters.indexOf(w), 1);
      w.resolve();
    }
  });
  proc.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
    for (const w of [...waiters]) {
      if (!w.re.test(err)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const done = new Promise<CliResult>((resolve) => proc.on('exit', (code) => resolve({ code: code ?? -1, out, err })));
  return {
    proc,
    err: () => err,
    out: () => out,
    waitErr: (re, timeoutMs = 20_000) =>
      re.test(err)
        ? Promise.resolve()
        : new Promise((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`lanectl ${args.join(' ')}: no ${re} on stderr within ${timeoutMs} ms; stderr:\n${err}`)),
              timeoutMs,
            );
            waiters.push({
              re,
              resolve: () => {
                clearTimeout(timer);
                resolve();
              },
            });
          }),
    waitOut: (re, timeoutMs = 20_000) =>
      re.test(out)
        ? Promise.resolve()
        : new Promise((resolve, reject) => {
            const timer = setTimeout(
              () => reject(new Error(`lanectl ${args.join(' ')}: no ${re} on stdout within ${timeoutMs} ms; stdout:\n${out}\nstderr:\n${err}`)),
              timeoutMs,
            );
            outWaiters.push({
              re,
              resolve: () => {
                clearTimeout(timer);
                resolve();
              },
            });
          }),
    done,
  };
}

/** The passwords the daemon generated in `<stateDir>/credentials.json`. */
export function generatedPasswords(stateDir: string): Record<string, string> {
  return JSON.parse(readFileSync(join(stateDir, 'credentials.json'), 'utf8')) as Record<string, string>;
}

/** A technician MQTT client on the daemon's broker. */
export async function technician(stateDir: string, brokerUrl: string): Promise<MqttClient> {
  const c = mqtt.connect(brokerUrl, {
    clientId: `test-tech-${process.pid}-${Math.random().toString(16).slice(2, 8)}`,
    username: 'technician',
    password: generatedPasswords(stateDir).technician,
    reconnectPeriod: 0,
  });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return c;
}

/** A setting of systemd/laned.service, e.g. unitSetting('TimeoutStopSec') -> '30'. */
export function unitSetting(key: string): string {
  const text = readFileSync(join(ROOT, 'systemd/laned.service'), 'utf8');
  const m = new RegExp(`^${key}=(.*)$`, 'm').exec(text);
  if (!m) throw new Error(`systemd/laned.service has no ${key}=`);
  return m[1]!.trim();
}

/** A valid EAN-13 from 12 digits (GS1 General Specifications 7.9.1, mod-10 check digit). */
export function ean13(twelve: string): string {
  const sum = [...twelve].reduce((a, ch, i) => a + Number(ch) * (i % 2 === 0 ? 1 : 3), 0);
  return `${twelve}${(10 - (sum % 10)) % 10}`;
}
