import type { MqttClient } from 'mqtt';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import type { Outbox } from '../events/outbox.js';
import { ReplayBudget } from '../events/replay-budget.js';
import { Type } from '@sinclair/typebox';
import { argsChecker, parseCommand } from '../events/command.js';
import { replay, replayEnd } from '../../broker/topics.js';

/** `args` of `cmd/<source>/Replay`: the seqs wanted and who asks (the broker stamps `by`, which must be that consumer's). */
export const ReplayArgs = Type.Object({
  from: Type.Number(),
  to: Type.Number(),
  consumer: Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }),
});

const replayArgsProblem = argsChecker(ReplayArgs);

/** Events one answer carries at most. */
const REPLAY_MAX = 5000;
/** Events published before waiting for the broker's PUBACKs of them. */
const REPLAY_SLICE = 25;
/** A slice the broker has not acknowledged in this time ends the answer (its client went away); the consumer asks again. */
const SLICE_ACK_MS = 30_000;

async function acknowledged(publishes: Array<Promise<unknown>>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no PUBACK within ${SLICE_ACK_MS / 1000} s`)), SLICE_ACK_MS);
  });
  try {
    await Promise.race([Promise.all(publishes), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Answers `cmd/<source>/Replay` from a source's log (the design "Delivery
 * guarantees": catch-up replay): the events on `replay/<source>/<consumer>`,
 * then an end marker saying which is the first event the log still holds.
 */
export class ReplayServer {
  private readonly budget = new ReplayBudget();
  /** The answer being sent per source and consumer; the next one waits for it. */
  private readonly sending = new Map<string, Promise<void>>();

  constructor(
    private readonly opts: {
      service: string;
      metrics: Metrics;
      log: Logger;
      maxPayloadBytes: number;
      outbox(source: string): Outbox | undefined;
      client(): MqttClient | undefined;
    },
  ) {}

  async answer(source: string, payload: Buffer): Promise<void> {
    const { service, metrics, log } = this.opts;
    const o = this.opts.outbox(source);
    const parsed = parseCommand(payload, this.opts.maxPayloadBytes);
    const args = parsed.ok ? (parsed.cmd.args as { from: number; to: number; consumer: string }) : undefined;
    const by = parsed.ok ? parsed.cmd.by : undefined;
    const problem = parsed.ok ? replayArgsProblem(args) : parsed.reason;
    if (!o || args === undefined || problem) {
      metrics.rejected.inc({ service, reason: 'replay' });
      const reason = o ? (problem ?? 'no args') : `no source ${source} here`;
      log.warn({ source, by, reason }, `replay request for ${source} refused: ${reason}`);
      return;
    }
    // `by` is stamped by the broker (broker/commands.ts): a service asks for its own replays only
    if (by !== `service:${args.consumer}`) {
      metrics.rejected.inc({ service, reason: 'replay' });
      log.warn(
        { source, by, consumer: args.consumer },
        `replay request for ${source} refused: ${by ?? 'an unknown sender'} asked on behalf of ${args.consumer}`,
      );
      return;
    }
    if (!this.budget.take(by, source)) {
      metrics.rejected.inc({ service, reason: 'replay-rate' });
      log.warn(
        { source, by, from: args.from, to: args.to },
        `replay request of ${by} for ${source} refused: too many requests; asked again later it is answered`,
      );
      return;
    }
    // Sent apart from the delivery of the request: mqtt.js hands this client its next packet,
    // the PUBACKs the slices wait for among them, only once the request's handler returned.
    const key = `${source}\u0000${args.consumer}`;
    const sending = (this.sending.get(key) ?? Promise.resolve()).then(() => this.send(o, source, args));
    this.sending.set(key, sending);
    void sending.finally(() => {
      if (this.sending.get(key) === sending) this.sending.delete(key);
    });
  }

  /**
   * The events in slices of REPLAY_SLICE, each slice once the broker acknowledged the one
   * before (PUBACK), then the end marker: a catch-up of thousands of events never stands
   * in the broker's queue ahead of a scan by more than one slice.
   */
  private async send(o: Outbox, source: string, args: { from: number; to: number; consumer: string }): Promise<void> {
    const { log } = this.opts;
    try {
      const rows = await o.readLog(args.from, Math.min(args.to, args.from + REPLAY_MAX - 1));
      for (let i = 0; i < rows.length; i += REPLAY_SLICE) {
        const client = this.opts.client();
        if (!client) return;
        await acknowledged(rows.slice(i, i + REPLAY_SLICE).map((row) => client.publishAsync(replay(source, args.consumer), row.payload, { qos: 1 })));
      }
      const client = this.opts.client();
      if (!client) return;
      const end = JSON.stringify({ from: args.from, to: args.to, firstAvailable: await o.firstAvailable() });
      await acknowledged([client.publishAsync(replayEnd(source, args.consumer), end, { qos: 1 })]);
      log.info({ source, consumer: args.consumer, from: args.from, to: args.to, sent: rows.length }, 'replayed events from the log');
    } catch (err) {
      // the consumer asks again when no end marker comes
      log.warn(
        { source, consumer: args.consumer, from: args.from, to: args.to, err: (err as Error).message },
        `replay of ${source} for ${args.consumer} cut short`,
      );
    }
  }
}
