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

/**
 * Answers `cmd/<source>/Replay` from a source's log (the design "Delivery
 * guarantees": catch-up replay): the events on `replay/<source>/<consumer>`,
 * then an end marker saying which is the first event the log still holds.
 */
export class ReplayServer {
  private readonly budget = new ReplayBudget();

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
    const rows = await o.readLog(args.from, Math.min(args.to, args.from + 4999));
    const client = this.opts.client();
    if (!client) return;
    for (const row of rows) client.publish(replay(source, args.consumer), row.payload, { qos: 1 });
    client.publish(replayEnd(source, args.consumer), JSON.stringify({ from: args.from, to: args.to, firstAvailable: await o.firstAvailable() }), {
      qos: 1,
    });
    log.info({ source, consumer: args.consumer, from: args.from, to: args.to, sent: rows.length }, 'replayed events from the log');
  }
}
