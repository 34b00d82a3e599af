import { CliError, EXIT, connectTechnician } from '../client.js';
import type { CliCommand } from '../context.js';
import type { Envelope } from '../../events/envelope.js';
import { EventLogs } from './trace.js';
import { ANY, evt } from '../../../broker/topics.js';

/**
 * `lanectl events tail`: follow the lane's events. With `--count N` the last N
 * events that match come first, read from the sources' outbox logs in the state
 * directory (every event a source emitted, kept up to events.outboxRetention),
 * then it follows new ones as they are published.
 */
export const events: CliCommand = {
  usage: 'tail [--type T] [--source S] [--txn X] [--count N]',
  help: "the last N events (from the sources' logs), then follow new ones; filtered",
  async run(ctx) {
    if (ctx.args[0] !== 'tail') throw new CliError('events tail [--type T] [--source S] [--txn X] [--count N]', EXIT.usage);
    const count = ctx.flags.count === undefined ? 0 : Number(ctx.flags.count);
    if (!Number.isInteger(count)) throw new CliError(`--count ${String(ctx.flags.count)}: a whole number of events`, EXIT.usage);
    if (ctx.flags.count !== undefined && count < 1) throw new CliError(`--count ${String(ctx.flags.count)}: at least 1`, EXIT.usage);
    // one topic level each: no MQTT wildcard or separator from the command line
    for (const key of ['source', 'type'] as const) {
      const v = ctx.flags[key];
      if (v !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(String(v)))
        throw new CliError(`--${key} ${String(v)}: a ${key} name (letters, digits, - and _)`, EXIT.usage);
    }
    const filter = {
      ...(typeof ctx.flags.source === 'string' ? { source: ctx.flags.source } : {}),
      ...(typeof ctx.flags.type === 'string' ? { type: ctx.flags.type } : {}),
      ...(typeof ctx.flags.txn === 'string' ? { txn: ctx.flags.txn } : {}),
    };
    const show = (ev: Envelope): void =>
      ctx.out(ctx.json ? JSON.stringify(ev) : `${ev.time}  ${ev.source}#${ev.seq}  ${ev.type}${ev.txn ? `  txn ${ev.txn}` : ''}  ${JSON.stringify(ev.data)}`);

    const client = await connectTechnician(ctx.stateDir);
    const topic = evt(filter.source ?? ANY, filter.type ?? ANY);
    // Subscribed before the logs are read: an event published meanwhile is held and shown once after the history.
    const shown = new Set<string>();
    let held: Envelope[] | undefined = [];
    client.on('message', (_t, payload) => {
      let ev: Envelope;
      try {
        ev = JSON.parse(payload.toString('utf8')) as Envelope;
      } catch {
        return;
      }
      if (filter.txn && ev.txn !== filter.txn) return;
      if (held) return void held.push(ev);
      if (shown.has(ev.id)) return;
      shown.add(ev.id);
      show(ev);
    });
    await new Promise<void>((resolve, reject) =>
      client.subscribe(topic, { qos: 1 }, (err) => (err ? reject(new CliError(`cannot subscribe to ${topic}: ${err.message}`, EXIT.unavailable)) : resolve())),
    );
    if (count > 0) {
      const logs = await EventLogs.open(ctx.stateDir);
      try {
        for (const ev of await logs.last(count, filter)) {
          shown.add(ev.id);
          show(ev);
        }
        if (!ctx.json) for (const u of logs.unreadable) ctx.out(`skipped ${u}`);
      } finally {
        await logs.close();
      }
    }
    for (const ev of held.splice(0)) {
      if (shown.has(ev.id)) continue;
      shown.add(ev.id);
      show(ev);
    }
    held = undefined;
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    client.end(true);
  },
};
