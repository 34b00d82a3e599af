/**
 * The polled side of a serial scale (Magellan S14/S11, Toledo 8217 W): one
 * weight request on the line at a time, a no-data watchdog that turns the
 * driver degraded after `missedPolls` unanswered requests, and the scale state
 * machine that publishes ScaleStatus on change and ProduceWeighed for each new
 * stable weight. The driver owns the port and the framing and tells this when
 * the link comes and goes and what the scale answered.
 */
import { Type } from '@sinclair/typebox';
import { ScaleState as ScaleStateSchema } from '../events.js';
import type { Publisher } from '../publish.js';
import type { StatusKeeper } from '../status.js';
import type { TimerHandle, Timers } from '../timers.js';

export type ScaleState = 'stable' | 'unstable' | 'zero' | 'underZero' | 'overweight' | 'notReady';

/** What a polled scale's `read` command answers of its platter (`reading()`); each driver adds its own fields. */
export const PolledReadingFields = {
  state: ScaleStateSchema,
  grams: Type.Union([Type.Number(), Type.Null()]),
  answering: Type.Boolean(),
};

/** The config fields every polled scale has. */
export interface PollConfig {
  pollMs: number;
  responseTimeoutMs: number;
  missedPolls: number;
  minChangeG: number;
}

/** What differs between the scales' protocols. */
export interface PollHooks {
  /** Write one weight request; false when the port did not take it (no answer is then awaited). */
  request(): boolean;
  /** Another request holds the line: put this poll off by pollMs. */
  busy?(): boolean;
  /** The weight request was answered or timed out: the line is free for what waited. */
  lineFree?(): void;
  /** Polling stopped (port down or driver stopping). */
  stopped?(): void;
  /** The degraded detail after `missed` weight requests in a row went unanswered. */
  notAnswering(missed: number): string;
}

/** The device's last reading (doc/devices `lastReading`): never a weight without the state it was read in. */
export interface ScaleReading {
  state: ScaleState;
  /** Present for `stable` (the weight on the platter) and `zero` (0). */
  grams?: number;
  unit?: 'kg' | 'lb';
  net?: boolean;
}

export class PolledScale {
  private pollTimer?: TimerHandle;
  private waitTimer?: TimerHandle;
  private waiting = false;
  private missed = 0;
  private isAnswering = true;
  private current: ScaleState = 'notReady';
  private published = 0;
  private last?: number;
  /** What `lanectl devices` and the produce screen last saw: the state always, grams only when they are true now. */
  private shown?: ScaleReading;

  constructor(
    private readonly config: PollConfig,
    private readonly timers: Timers,
    private readonly keeper: StatusKeeper,
    private readonly pub: Publisher,
    private readonly hooks: PollHooks,
  ) {}

  /** A weight request is on the line, unanswered. */
  get awaiting(): boolean {
    return this.waiting;
  }

  get answering(): boolean {
    return this.isAnswering;
  }

  get state(): ScaleState {
    return this.current;
  }

  /** The weight on the platter now, in grams: 0 at zero, undefined in motion or any other state. */
  get lastGrams(): number | undefined {
    return this.last;
  }

  /** The platter as the `read` command answers it: the state, the weight when there is one now, and whether the scale answers. */
  reading(): { state: ScaleState; grams: number | null; answering: boolean } {
    return { state: this.current, grams: this.last ?? null, answering: this.isAnswering };
  }

  /** The port opened: start polling. */
  linkUp(): void {
    this.isAnswering = true;
    this.missed = 0;
    this.keeper.set('ok');
    this.poll();
  }

  /** The port went away. */
  linkDown(detail: string): void {
    this.stopPolling();
    this.setState('notReady', undefined, detail);
    this.keeper.set('disconnected', detail);
  }

  stopPolling(): void {
    this.timers.clearTimeout(this.pollTimer);
    this.timers.clearTimeout(this.waitTimer);
    this.pollTimer = this.waitTimer = undefined;
    this.waiting = false;
    this.hooks.stopped?.();
  }

  /** The scale answered (a weight or a status): it is alive, and the next poll is due. */
  answered(): void {
    if (this.waiting) {
      this.waiting = false;
      this.timers.clearTimeout(this.waitTimer);
      this.waitTimer = undefined;
      this.schedulePoll();
      this.hooks.lineFree?.();
    }
    this.missed = 0;
    if (!this.isAnswering) {
      this.isAnswering = true;
      this.keeper.set('ok');
    }
  }

  /** A weight: published as ProduceWeighed when stable, above zero and new by at least minChangeG. */
  weighed(grams: number, unit: 'kg' | 'lb', raw: string, net?: boolean): void {
    const state = grams === 0 ? 'zero' : 'stable';
    this.setState(state, grams);
    this.last = grams;
    const netField = net === undefined ? {} : { net };
    if (grams > 0 && grams !== this.published && Math.abs(grams - this.published) >= this.config.minChangeG) {
      this.published = grams;
      void this.pub.emit('ProduceWeighed', { grams, stable: true, unit, raw, ...netField });
    }
    this.show({ state, grams, unit, ...netField });
  }

  /** ScaleStatus, published only when the state changes. */
  setState(state: ScaleState, grams?: number, detail?: string): void {
    if (state === 'zero') this.published = 0; // the same weight placed again is a new weighing
    if (state !== 'stable' && state !== 'zero') {
      // in motion, over capacity, under zero, not ready: no weight on the platter is known
      this.last = undefined;
      this.show({ state });
    } else if (grams === undefined) {
      // a status answer without a weight (Magellan S143, Toledo center of zero)
      this.last = state === 'zero' ? 0 : undefined;
      this.show(state === 'zero' ? { state, grams: 0 } : { state });
    }
    if (state === this.current) return;
    this.current = state;
    const data: Record<string, unknown> = { state };
    if (grams !== undefined) data.grams = grams;
    if (detail) data.detail = detail.slice(0, 300);
    void this.pub.emit('ScaleStatus', data);
  }

  /** Report the reading when it differs from the last one reported. */
  private show(r: ScaleReading): void {
    const s = this.shown;
    if (s && s.state === r.state && s.grams === r.grams && s.unit === r.unit && s.net === r.net) return;
    this.shown = r;
    this.keeper.reading(r);
  }

  private poll(): void {
    this.pollTimer = undefined;
    if (this.hooks.busy?.()) return this.schedulePoll();
    if (!this.hooks.request()) return;
    this.waiting = true;
    this.timers.clearTimeout(this.waitTimer);
    this.waitTimer = this.timers.setTimeout(() => this.timeout(), this.config.responseTimeoutMs);
  }

  private schedulePoll(): void {
    this.timers.clearTimeout(this.pollTimer);
    this.pollTimer = this.timers.setTimeout(() => this.poll(), this.config.pollMs);
  }

  private timeout(): void {
    this.waitTimer = undefined;
    this.waiting = false;
    this.missed++;
    if (this.missed >= this.config.missedPolls && this.isAnswering) {
      this.isAnswering = false;
      const detail = this.hooks.notAnswering(this.missed);
      this.keeper.set('degraded', detail);
      this.setState('notReady', undefined, detail);
    }
    this.schedulePoll();
    this.hooks.lineFree?.();
  }
}
