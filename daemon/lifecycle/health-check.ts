import { statfsSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { LivenessProbe } from './watchdog.js';

export interface HealthCheckOptions {
  stateDir: string;
  /** `health.checkMs`, `health.diskMinFreeMB`, `health.maxLagMs` (daemon/core/config.ts). */
  checkMs: number;
  diskMinFreeMB: number;
  maxLagMs: number;
  log: Logger;
  metrics: Metrics;
  /** The running services' stores, asked each check whether they answer within maxLagMs. */
  probes(): LivenessProbe[];
  /** More checks of the daemon's own, run on the same tick. */
  onTick?(): void;
}

export interface DiskState {
  path: string;
  freeBytes: number;
  totalBytes: number;
  minFreeBytes: number;
  /** `nearly full` below minFreeBytes, `full` when no block is left for laned. */
  alarm?: 'nearly full' | 'full';
}

const MB = 1024 * 1024;
const mb = (n: number): string => `${(n / MB).toFixed(1)} MB`;

/**
 * What the lane's health must notice between starts (README "Health and
 * metrics"): the state filesystem filling up (statfs(2), before SQLite's first
 * SQLITE_FULL), an event loop that does not keep up, and services whose store
 * does not answer in time (a wedged queue, a thread pool taken by other work).
 */
export class HealthCheck {
  private timer: NodeJS.Timeout | undefined;
  private histogram: IntervalHistogram | undefined;
  private last = 0n;
  private busy = false;
  private diskState: DiskState | undefined;
  private diskError: string | undefined;
  /** Worst event-loop delay over the last check, ms. */
  lagMs = 0;
  /** Service name (probe name) -> why it counts as stalled. */
  private stalled = new Map<string, string>();

  constructor(private readonly o: HealthCheckOptions) {}

  start(): void {
    this.histogram = monitorEventLoopDelay({ resolution: 20 });
    this.histogram.enable();
    this.last = process.hrtime.bigint();
    this.checkDisk();
    this.timer = setInterval(() => void this.tick(), this.o.checkMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.histogram?.disable();
  }

  get disk(): DiskState | undefined {
    return this.diskState && { ...this.diskState };
  }

  /** Why a service counts as stalled now, if it does. */
  stalledWhy(name: string): string | undefined {
    return this.stalled.get(name);
  }

  /** Problems of the lane as a whole, keyed as the daemon keeps them. */
  problems(): Map<string, string> {
    const p = new Map<string, string>();
    const d = this.diskState;
    if (d?.alarm) {
      p.set(
        `disk ${d.path}`,
        `${d.alarm}: ${mb(d.freeBytes)} free of ${mb(d.totalBytes)} (alarm below ${mb(d.minFreeBytes)}, health.diskMinFreeMB); free space there or scans and payments cannot be stored`,
      );
    }
    if (this.diskError) p.set(`disk ${this.o.stateDir}`, this.diskError);
    return p;
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      this.checkDisk();
      this.o.onTick?.();
      const now = process.hrtime.bigint();
      const late = Number(now - this.last) / 1e6 - this.o.checkMs;
      this.last = now;
      this.lagMs = Math.round(Math.max(late, (this.histogram?.max ?? 0) / 1e6));
      this.histogram?.reset();
      const probes = this.o.probes();
      const stalled = new Map<string, string>();
      if (this.lagMs > this.o.maxLagMs) {
        for (const p of probes) stalled.set(p.name, `event loop lag ${this.lagMs} ms over the ${this.o.maxLagMs} ms bound (health.maxLagMs)`);
      } else {
        const answers = await Promise.all(probes.map((p) => p.answers(this.o.maxLagMs)));
        probes.forEach((p, i) => {
          if (!answers[i]) stalled.set(p.name, `its store did not answer within ${this.o.maxLagMs} ms (health.maxLagMs)`);
        });
      }
      for (const [name, why] of stalled) if (!this.stalled.has(name)) this.o.log.error({ service: name, why }, `service ${name} is stalled: ${why}`);
      for (const name of this.stalled.keys()) if (!stalled.has(name)) this.o.log.warn({ service: name }, `service ${name} keeps up again`);
      this.stalled = stalled;
    } finally {
      this.busy = false;
    }
  }

  private checkDisk(): void {
    const path = this.o.stateDir;
    let next: DiskState;
    try {
      const s = statfsSync(path);
      next = { path, freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize, minFreeBytes: Math.round(this.o.diskMinFreeMB * MB) };
      this.diskError = undefined;
    } catch (err) {
      const message = `cannot check free space (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
      if (this.diskError !== message) this.o.log.error({ path }, `state directory ${path}: ${message}`);
      this.diskError = message;
      return;
    }
    if (next.freeBytes === 0) next.alarm = 'full';
    else if (next.freeBytes < next.minFreeBytes) next.alarm = 'nearly full';
    if (next.alarm !== this.diskState?.alarm) {
      if (next.alarm) this.o.log.error(next, `state filesystem at ${path} is ${next.alarm}: ${mb(next.freeBytes)} free (alarm below ${mb(next.minFreeBytes)})`);
      else if (this.diskState) this.o.log.warn(next, `state filesystem at ${path} has room again: ${mb(next.freeBytes)} free`);
    }
    this.diskState = next;
    this.o.metrics.stateDiskFree.set(next.freeBytes);
  }
}
