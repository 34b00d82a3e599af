import { CliError, EXIT, connectTechnician } from '../client.js';
import type { CliCommand } from '../context.js';
import type { Envelope } from '../../events/envelope.js';

export const events: CliCommand = {
  usage: 'tail [--type T] [--source S] [--txn X] [--count N]',
  help: 'follow events on the lane, filtered',
  async run(ctx) {
    if (ctx.args[0] !== 'tail') throw new CliError('events tail [--type T] [--source S] [--txn X] [--count N]', EXIT.usage);
    const max = ctx.flags.count === undefined ? Infinity : Number(ctx.flags.count);
    if (!Number.isInteger(max) && max !== Infinity) throw new CliError(`--count ${String(ctx.flags.count)}: a whole number of events`, EXIT.usage);
    if (max < 1) throw new CliError(`--count ${String(ctx.flags.count)}: at least 1`, EXIT.usage);
    // one topic level each: no MQTT wildcard or separator from the command line
    for (const key of ['source', 'type'] as const) {
      const v = ctx.flags[key];
      if (v !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(String(v)))
        throw new CliError(`--${key} ${String(v)}: a ${key} name (letters, digits, - and _)`, EXIT.usage);
    }
    const client = await connectTechnician(ctx.stateDir);
    const topic = `evt/${(ctx.flags.source as string) ?? '+'}/${(ctx.flags.type as string) ?? '+'}`;
    let seen = 0;
    await new Promise<void>((resolve) => {
      client.on('message', (_t, payload) => {
        let ev: Envelope;
        try {
          ev = JSON.parse(payload.toString('utf8')) as Envelope;
        } catch {
          return;
        }
        if (ctx.flags.txn && ev.txn !== ctx.flags.txn) return;
        ctx.out(ctx.json ? JSON.stringify(ev) : `${ev.time}  ${ev.source}#${ev.seq}  ${ev.type}${ev.txn ? `  txn ${ev.txn}` : ''}  ${JSON.stringify(ev.data)}`);
        seen += 1;
        if (seen >= max) resolve();
      });
      client.subscribe(topic, { qos: 1 });
      process.once('SIGINT', () => resolve());
    });
    client.end(true);
  },
};
