import { execFile } from 'node:child_process';
import type { Logger } from '../core/log.js';

/**
 * sd_notify(3) through the `systemd-notify` tool: Node has no AF_UNIX datagram
 * sockets (dgram is UDP only; net is stream only), and the tool is what systemd
 * ships for exactly this, so no native addon is needed. The unit needs
 * `NotifyAccess=all` because the sender is a child process (systemd.service(5)).
 * Without `--no-block` the tool (systemd >= 246) waits on a BARRIER=1 until the
 * manager has read the message, so the message is not dropped as coming from a
 * PID that already exited (systemd-notify(1)). Nothing is sent when
 * NOTIFY_SOCKET is unset.
 */
export class Notifier {
  private readonly socket = process.env.NOTIFY_SOCKET;
  private warned = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: Logger,
    private readonly tool = process.env.LANED_SYSTEMD_NOTIFY ?? 'systemd-notify',
  ) {}

  get enabled(): boolean {
    return Boolean(this.socket);
  }

  /** Send `KEY=value` assignments in one datagram; sends are kept in order. */
  send(fields: Record<string, string | number>): Promise<void> {
    if (!this.socket) return Promise.resolve();
    const args = Object.entries(fields).map(([k, v]) => `${k}=${String(v).replace(/\n/g, ' ')}`);
    this.chain = this.chain.then(
      () =>
        new Promise<void>((resolve) => {
          execFile(this.tool, args, { timeout: 5000 }, (err) => {
            if (err && !this.warned) {
              this.warned = true;
              this.log.warn({ tool: this.tool, err: err.message }, `cannot notify systemd through ${this.tool}: ${err.message}`);
            }
            resolve();
          });
        }),
    );
    return this.chain;
  }

  ready(status: string): Promise<void> {
    return this.send({ READY: 1, STATUS: status, MAINPID: process.pid });
  }

  status(status: string): Promise<void> {
    return this.send({ STATUS: status });
  }

  stopping(status: string): Promise<void> {
    return this.send({ STOPPING: 1, STATUS: status });
  }

  watchdog(): Promise<void> {
    return this.send({ WATCHDOG: 1 });
  }

  /** Ask for more time during long work (migration, calibration), in µs. */
  extendTimeout(usec: number, status?: string): Promise<void> {
    return this.send({ EXTEND_TIMEOUT_USEC: Math.round(usec), ...(status ? { STATUS: status } : {}) });
  }

  /**
   * Run long work (a migration, the outbox flush at stop) and, while it runs,
   * keep asking for `extendUsec` more every `everyMs`, for at most `maxMs` in
   * all: work that hangs still meets TimeoutStartSec/TimeoutStopSec in the end.
   * EXTEND_TIMEOUT_USEC extends the start or stop timeout of the state the
   * service is in (sd_notify(3)); it does not stop the watchdog.
   */
  async whileLong<T>(what: string, work: () => Promise<T>, opts: { everyMs?: number; extendUsec?: number; maxMs?: number } = {}): Promise<T> {
    if (!this.socket) return work();
    const everyMs = opts.everyMs ?? 5000;
    const extendUsec = opts.extendUsec ?? 3 * everyMs * 1000;
    const maxMs = opts.maxMs ?? 10 * 60_000;
    const t0 = Date.now();
    const timer = setInterval(() => {
      if (Date.now() - t0 > maxMs) return clearInterval(timer);
      void this.extendTimeout(extendUsec, `${what} (${Math.round((Date.now() - t0) / 1000)} s)`);
    }, everyMs);
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  /** Half the unit's WatchdogSec, in ms, or undefined without a watchdog (sd_watchdog_enabled(3)). */
  static watchdogIntervalMs(): number | undefined {
    const usec = Number(process.env.WATCHDOG_USEC);
    const pid = process.env.WATCHDOG_PID;
    if (!Number.isFinite(usec) || usec <= 0) return undefined;
    if (pid && Number(pid) !== process.pid) return undefined;
    return Math.max(50, Math.floor(usec / 2000));
  }
}
