import { spawn, type ChildProcess } from 'node:child_process';
import { guardChild } from './orphan-guard.js';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { stringify } from 'yaml';

import { PACKAGE_ROOT } from '../../daemon/core/paths.js';
import { defaultSimulatedDevices } from '../../drivers/registry.js';

export const ROOT = PACKAGE_ROOT;
export const LANED = join(ROOT, 'dist/daemon/main.js');
export const LANECTL = join(ROOT, 'dist/daemon/cli/lanectl.js');

export function tempDir(prefix = 'laned-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * The simulated lane of drivers/registry.ts without the scanner's demo scans: a
 * test's scans are the test's own, and an idle lane stays idle.
 */
export function quietSimulatedDevices(): Record<string, Record<string, unknown>> {
  const { script: _demo, ...scanner } = defaultSimulatedDevices().scanner!;
  return { ...defaultSimulatedDevices(), scanner };
}

/**
 * Write a YAML config with ports 0 (the kernel picks free ones) unless given, and
 * without `devices` the quiet simulated lane (`demoScans` keeps the scanner's script).
 */
export function writeConfig(dir: string, config: Record<string, unknown>, opts: { demoScans?: boolean } = {}): string {
  const file = join(dir, 'laned.yaml');
  const merged = {
    ...(opts.demoScans ? {} : { devices: quietSimulatedDevices() }),
    ...config,
    broker: { port: 0, ...(config.broker as object | undefined) },
    http: { port: 0, ...(config.http as object | undefined) },
  };
  writeFileSync(file, stringify(merged));
  return file;
}

export interface RunningDaemon {
  proc: ChildProcess;
  brokerUrl: string;
  brokerPort: number;
  httpUrl: string;
  lines: string[];
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

/**
 * The environment and node flags of the `laned` bin, read from its shebang
 * (`#!/usr/bin/env -S VAR=value node --flag`): tests run the daemon as the bin does.
 */
export function binRuntime(): { env: Record<string, string>; flags: string[] } {
  const words = readFileSync(LANED, 'utf8')
    .split('\n')[0]
    .replace(/^#!\/usr\/bin\/env -S /, '')
    .split(/\s+/);
  const node = words.indexOf('node');
  if (node < 0) throw new Error(`${LANED}: the shebang does not run node: ${words.join(' ')}`);
  const env = Object.fromEntries(words.slice(0, node).map((w) => w.split('=', 2) as [string, string]));
  return { env, flags: words.slice(node + 1).filter(Boolean) };
}

/** Run `laned` as a child process and wait for its "ready" line. */
export async function startDaemon(opts: {
  configFile?: string;
  stateDir: string;
  env?: Record<string, string>;
  args?: string[];
  waitReady?: boolean;
  /** A command that execs the rest of its arguments (e.g. unshare(1) into a mount namespace): it runs node. */
  wrap?: string[];
}): Promise<RunningDaemon> {
  const { env, flags } = binRuntime();
  const args = [...flags, LANED, '--state-dir', opts.stateDir, ...(opts.configFile ? ['--config', opts.configFile] : []), ...(opts.args ?? [])];
  const [cmd, ...cmdArgs] = opts.wrap?.length ? [...opts.wrap, process.execPath, ...args] : [process.execPath, ...args];
  const proc = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env, ...opts.env } });
  guardChild(proc);
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  let buf = '';
  const onData = (chunk: Buffer): void => {
    buf += chunk.toString('utf8');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.re.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<number | string>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const waitFor = (re: RegExp, timeoutMs = 20_000): Promise<string> => {
    const hit = lines.find((l) => re.test(l));
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no line matching ${re} within ${timeoutMs} ms; last lines:\n${lines.slice(-15).join('\n')}`)),
        timeoutMs,
      );
      waiters.push({
        re,
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`laned exited before a line matching ${re}; last lines:\n${lines.slice(-15).join('\n')}`));
      });
    });
  };
  const d: RunningDaemon = {
    proc,
    brokerUrl: '',
    brokerPort: 0,
    httpUrl: '',
    lines,
    exited,
    waitFor,
    kill: (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
  if (opts.waitReady !== false) {
    // a daemon that never says ready is not left running behind the caller's error
    const line = await waitFor(/"msg":"laned (ready|degraded) in/).catch(async (err: Error) => {
      await d.kill('SIGKILL');
      throw err;
    });
    const ready = JSON.parse(line.replace(/^<\d>/, '')) as { broker?: string; http?: string };
    d.brokerUrl = ready.broker ?? '';
    d.brokerPort = Number(new URL(d.brokerUrl || 'mqtt://x:0').port);
    d.httpUrl = ready.http ?? '';
  }
  return d;
}

/** Read rows from a service's SQLite file while the daemon may be writing it (WAL). */
export async function query<T = Record<string, unknown>>(file: string, sql: string, params: unknown[] = [], opts: { write?: boolean } = {}): Promise<T[]> {
  const sqlite3 = (await import('sqlite3')).default;
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, opts.write ? sqlite3.OPEN_READWRITE : sqlite3.OPEN_READONLY, (err) => {
      if (err) return reject(err);
      db.all(sql, params, (e, rows) => {
        db.close();
        return e ? reject(e) : resolve(rows as T[]);
      });
    });
  });
}

/** GET /healthz of a running lane: the HTTP status and the parsed body. */
export async function healthz<T = Record<string, unknown>>(lane: { httpUrl: string }): Promise<{ code: number; body: T }> {
  const res = await fetch(`${lane.httpUrl}/healthz`);
  return { code: res.status, body: (await res.json()) as T };
}

/** Deterministic PRNG so a failing run can be repeated with its seed. */
export { seeded as prng } from '../../drivers/sim/random.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A TCP port free on 127.0.0.1 at the moment of asking. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
