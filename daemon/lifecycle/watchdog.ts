import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { Notifier } from './notify.js';

/** Something the watchdog asks each tick whether it still answers (a service's store queue). */
export interface LivenessProbe {
  name: string;
  answers(timeoutMs: number): Promise<boolean>;
}

export interface WatchdogOptions {
  notifier: Notifier;
  log: Logger;
  metrics: Metrics;
  /** WATCHDOG_USEC/2 in ms (sd_watchdog_enabled(3)). */
  everyMs: number;
  /** Event-loop lag above this withholds the ping; default half the interval. */
  lagBoundMs?: number;
  probes(): LivenessProbe[];
}

export interface WatchdogState {
  enabled: boolean;
  everyMs?: number;
  lagBoundMs?: number;
  pings: number;
  withheld: number;
  /** Worst event-loop delay seen over the last tick, ms. */
  lastLagMs?: number;
  lastPingAt?: string;
  /** Why the last ping was withheld, while it still is. */
  withholding?: string;
}

/**
 * systemd's watchdog (WatchdogSec=, sd_notify(3) WATCHDOG=1): every
 * WATCHDOG_USEC/2 it pings only when the event loop kept up (the worst delay
 * since the last tick, from perf_hooks, and the tick's own lateness, both under
 * the bound) and every running service's store answers a query. A wedged
 * daemon then misses WatchdogSec and systemd kills and restarts it.
 */
export class Watchdog {
  private timer: NodeJS.Timeout | undefined;
  private histogram: IntervalHistogram | undefined;
  private last = 0n;
  private busy = false;
  private readonly lagBoundMs: number;
  private readonly st: WatchdogState;

  constructor(private readonly o: WatchdogOptions) {
    this.lagBoundMs = o.lagBoundMs ?? Math.max(20, Math.floor(o.everyMs / 2));
    this.st = { enabled: true, everyMs: o.everyMs, lagBoundMs: this.lagBoundMs, pings: 0, withheld: 0 };
  }

  start(): void {
    this.histogram = monitorEventLoopDelay({ resolution: 10 });
    this.histogram.enable();
    this.last = process.hrtime.bigint();
    this.timer = setInterval(() => void this.tick(), this.o.everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.histogram?.disable();
  }

  state(): WatchdogState {
    return { ...this.st };
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const now = process.hrtime.bigint();
      const late = Number(now - this.last) / 1e6 - this.o.everyMs;
      this.last = now;
      const worst = Math.max(late, (this.histogram?.max ?? 0) / 1e6);
      this.histogram?.reset();
      this.st.lastLagMs = Math.round(worst);
      let reason: string | undefined;
      if (worst > this.lagBoundMs) {
        reason = `event loop blocked for ${Math.round(worst)} ms (bound ${this.lagBoundMs} ms)`;
      } else {
        const probes = this.o.probes();
        const answers = await Promise.all(probes.map((p) => p.answers(this.lagBoundMs)));
        const silent = probes.filter((_, i) => !answers[i]).map((p) => p.name);
        if (silent.length) reason = `no answer within ${this.lagBoundMs} ms from ${silent.join(', ')}`;
      }
      if (!this.timer) return;
      if (reason) {
        this.st.withheld += 1;
        this.o.metrics.watchdogWithheld.inc({ reason: reason.startsWith('event loop') ? 'lag' : 'service' });
        if (this.st.withholding === undefined)
          this.o.log.error({ reason }, `watchdog ping withheld: ${reason}; systemd restarts laned if this lasts WatchdogSec`);
        this.st.withholding = reason;
        return;
      }
      if (this.st.withholding !== undefined) this.o.log.warn({ was: this.st.withholding }, 'watchdog pings resumed');
      delete this.st.withholding;
      this.st.pings += 1;
      this.st.lastPingAt = new Date().toISOString();
      this.o.metrics.watchdogPings.inc();
      await this.o.notifier.watchdog();
    } finally {
      this.busy = false;
    }
  }
}
