import { CliError, EXIT, connectTechnician } from '../client.js';
import type { CliCommand } from '../context.js';
import type { Envelope } from '../../events/envelope.js';

export const events: CliCommand = {
  usage: 'tail [--type T] [--source S] [--txn X] [--count N]',
  help: 'follow events on the lane, filtered',
  async run(ctx) {
    if (ctx.args[0] !== 'tail') throw new CliError('events tail [--type T] [--source S] [--txn X] [--count N]', EXIT.usage);
    const max = ctx.flags.count ? Number(ctx.flags.count) : Infinity;
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
