import { spawn, type ChildProcess } from 'node:child_process';
import { guardChild } from './orphan-guard.js';
import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './daemon.js';
import { listenNotify, type NotifyListener } from './notify-socket.js';

/**
 * A small stand-in for systemd running systemd/laned.service, with the unit's own
 * commands (ExecStartPre=, ExecStart=, ExecStopPost=, Environment=) and, on failure,
 * those of systemd/laned-rollback.service (ExecCondition=, ExecStart=; its
 * `systemctl reset-failed` / `start laned` become a reset and a start here):
 * Type=notify (READY=1 on a NOTIFY_SOCKET), a start timeout, Restart=on-failure with
 * RestartPreventExitStatus=, StartLimitBurst= in StartLimitIntervalSec=, OnFailure=,
 * and $SERVICE_RESULT/$EXIT_CODE/$EXIT_STATUS for ExecStopPost= (systemd.exec(5)).
 * Paths: /opt/laned is `root`, /etc/laned/laned.yaml is `config`, the slots' node is this node.
 */
export interface Start {
  n: number;
  /** The slot `current` pointed to when laned was started. */
  slot: string | undefined;
  pid: number;
  /** CLOCK_MONOTONIC ns (process.hrtime.bigint()). */
  spawnedAt: bigint;
  readyAt?: bigint;
  /** STOPPING=1: no longer serving. */
  stoppingAt?: bigint;
  result?: string;
  exit?: string;
  lines: string[];
}

export interface Supervisor {
  starts: Start[];
  /** Lines of the boot check (ExecStartPre/ExecStopPost) and the rollback unit. */
  bootLines: string[];
  /** The unit ended failed (start limit, or an exit status it does not restart) and OnFailure= ran. */
  failures: number;
  /** The start running now, READY or not. */
  running(): Start | undefined;
  waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void>;
  /** Stop the way `systemctl stop` does (SIGTERM), and stop restarting. */
  stop(): Promise<void>;
}

export interface SuperviseOptions {
  root: string;
  stateDir: string;
  config: string;
  env?: Record<string, string>;
  /** TimeoutStartSec= in ms; default: the unit's. */
  startTimeoutMs?: number;
  /** RestartSec= in ms (the unit's 2 s, shortened for a test). */
  restartMs?: number;
}

function settings(unit: string, key: string): string[] {
  return [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());
}

export async function supervise(o: SuperviseOptions): Promise<Supervisor> {
  const unit = readFileSync(join(ROOT, 'systemd/laned.service'), 'utf8');
  const rollbackUnit = readFileSync(join(ROOT, 'systemd/laned-rollback.service'), 'utf8');
  const words = (cmd: string): { args: string[]; ignoreFailure: boolean; privileged: boolean } => {
    const ignoreFailure = cmd.startsWith('-');
    const privileged = cmd.startsWith('+');
    const line = cmd
      .replace(/^[-+]/, '')
      .replaceAll('/opt/laned/good/runtime/node', process.execPath)
      .replaceAll('/opt/laned/current/runtime/node', process.execPath)
      .replaceAll('/etc/laned/laned.yaml', o.config)
      .replaceAll('/opt/laned', o.root);
    return { args: line.split(/\s+/), ignoreFailure, privileged };
  };
  const environment = Object.fromEntries(
    settings(unit, 'Environment')
      .flatMap((v) => v.split(/\s+/))
      .map((kv) => kv.split('=', 2) as [string, string]),
  );
  const prevent = settings(unit, 'RestartPreventExitStatus')
    .flatMap((v) => v.split(/\s+/))
    .map(Number);
  const startTimeoutMs = Number(settings(unit, 'TimeoutStartSec')[0] ?? 90) * 1000;
  const burst = Number(settings(unit, 'StartLimitBurst')[0] ?? 5);
  const intervalMs = Number(settings(unit, 'StartLimitIntervalSec')[0] ?? 10) * 1000;
  if (settings(unit, 'Restart')[0] !== 'on-failure') throw new Error('systemd/laned.service: the supervisor knows Restart=on-failure only');
  if (settings(unit, 'OnFailure')[0] !== 'laned-rollback.service') throw new Error('systemd/laned.service: OnFailure= is not laned-rollback.service');

  const notify: NotifyListener = await listenNotify(o.stateDir);
  const env = { ...process.env, ...environment, STATE_DIRECTORY: o.stateDir, NOTIFY_SOCKET: notify.path, ...o.env };
  const s: Supervisor = {
    starts: [],
    bootLines: [],
    failures: 0,
    running: () => s.starts.find((x) => x.exit === undefined),
    waitFor: (cond, timeoutMs, what) =>
      new Promise((resolve, reject) => {
        const t0 = Date.now();
        const tick = (): void => {
          if (cond()) return resolve();
          if (Date.now() - t0 > timeoutMs) {
            const last = s.starts.at(-1);
            return reject(
              new Error(
                `timed out waiting for ${what}; starts: ${s.starts.map((x) => `#${x.n} ${x.slot} ${x.readyAt ? 'ready' : 'not ready'} ${x.exit ?? 'running'}`).join(', ')}\nboot: ${s.bootLines.slice(-6).join('\n')}\nlast lines:\n${last?.lines.slice(-12).join('\n') ?? ''}`,
              ),
            );
          }
          setTimeout(tick, 25);
        };
        tick();
      }),
    stop: async () => {
      stopped = true;
      const p = proc;
      if (p && p.exitCode === null && p.signalCode === null) {
        p.kill('SIGTERM');
        await new Promise((r) => p.once('exit', r));
      }
      await cycling;
      await notify.close();
    },
  };

  let stopped = false;
  let proc: ChildProcess | undefined;
  const startTimes: number[] = [];

  const run = (cmd: string, extraEnv: Record<string, string> = {}): Promise<{ ok: boolean; code: number | null }> => {
    const { args, ignoreFailure } = words(cmd);
    return new Promise((resolve) => {
      const p = spawn(args[0]!, args.slice(1), { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
      const out = (b: Buffer): void => void s.bootLines.push(...b.toString('utf8').split('\n').filter(Boolean));
      p.stdout!.on('data', out);
      p.stderr!.on('data', out);
      p.on('exit', (code) => resolve({ ok: ignoreFailure || code === 0, code }));
    });
  };

  /** One start: ExecStartPre, ExecStart until it exits, ExecStopPost. Returns how it ended. */
  const once = async (): Promise<{ result: string; status?: number }> => {
    for (const pre of settings(unit, 'ExecStartPre')) {
      const r = await run(pre);
      if (!r.ok) return { result: 'exit-code', status: r.code ?? -1 };
    }
    const { args } = words(settings(unit, 'ExecStart')[0]!);
    let slot: string | undefined;
    try {
      slot = /slots\/(a|b)$/.exec(readlinkSync(join(o.root, 'current')))?.[1];
    } catch {
      slot = undefined;
    }
    const p = spawn(args[0]!, args.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    guardChild(p);
    proc = p;
    const start: Start = { n: s.starts.length + 1, slot, pid: p.pid ?? 0, spawnedAt: process.hrtime.bigint(), lines: [] };
    s.starts.push(start);
    const seen = notify.messages.length;
    let buf = '';
    const onData = (b: Buffer): void => {
      buf += b.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        start.lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
      }
    };
    p.stdout!.on('data', onData);
    p.stderr!.on('data', onData);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => p.on('exit', (code, signal) => r({ code, signal })));
    let timedOut = false;
    const watch = (): void => {
      const mine = notify.messages.slice(seen);
      start.readyAt ??= mine.find((x) => x.fields.READY === '1')?.t;
      start.stoppingAt ??= mine.find((x) => x.fields.STOPPING === '1')?.t;
    };
    const readyWatch = setInterval(watch, 10);
    const timeout = setTimeout(() => {
      if (start.readyAt !== undefined) return;
      timedOut = true;
      p.kill('SIGTERM');
      setTimeout(() => p.kill('SIGKILL'), 2000).unref();
    }, o.startTimeoutMs ?? startTimeoutMs);
    const { code, signal } = await exited;
    clearInterval(readyWatch);
    clearTimeout(timeout);
    watch();
    const result = timedOut ? 'timeout' : signal ? 'signal' : code === 0 ? 'success' : 'exit-code';
    start.result = result;
    start.exit = signal ?? String(code);
    for (const post of settings(unit, 'ExecStopPost')) {
      await run(post, { SERVICE_RESULT: result, EXIT_CODE: signal ? 'killed' : 'exited', EXIT_STATUS: signal ? signal.replace(/^SIG/, '') : String(code) });
    }
    return { result, ...(code !== null ? { status: code } : {}) };
  };

  /** OnFailure=laned-rollback.service: its condition, its command, then laned again. */
  const onFailure = async (): Promise<boolean> => {
    s.failures += 1;
    for (const cond of settings(rollbackUnit, 'ExecCondition')) if (!(await run(cond)).ok) return false;
    for (const cmd of settings(rollbackUnit, 'ExecStart')) if (!(await run(cmd)).ok) return false;
    const post = settings(rollbackUnit, 'ExecStartPost').map((c) => words(c).args.join(' '));
    if (!post.some((c) => /systemctl reset-failed laned\.service$/.test(c)) || !post.some((c) => /systemctl --no-block start laned\.service$/.test(c)))
      throw new Error('systemd/laned-rollback.service no longer resets and starts laned.service: teach the supervisor what it does now');
    startTimes.length = 0;
    return true;
  };

  const cycle = async (): Promise<void> => {
    while (!stopped) {
      const now = Date.now();
      while (startTimes.length && now - startTimes[0]! > intervalMs) startTimes.shift();
      if (startTimes.length >= burst) {
        if (!(await onFailure())) return;
        continue;
      }
      startTimes.push(now);
      const r = await once();
      if (stopped) return;
      if (r.result === 'success') return;
      if (r.status !== undefined && prevent.includes(r.status)) {
        if (!(await onFailure())) return;
        continue;
      }
      await new Promise((res) => setTimeout(res, o.restartMs ?? 100));
    }
  };
  const cycling = cycle();
  return s;
}
