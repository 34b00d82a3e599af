import { commandSpecs, type ServiceDefinition, type ServiceLogic } from '../../runtime/runtime.js';
import { PROBE_COMMANDS } from './commands.js';
import type { ProbeSettings } from './settings.js';

/**
 * probe: emits numbered ProbeTick events through its outbox — the producer of the
 * end-to-end event-path check (`lanectl probe`, crash tests, bench). Its progress
 * and its events commit together, so a restart continues where it stopped.
 */
export const probe: ServiceDefinition<ProbeSettings> = {
  name: 'probe',
  create(ctx): ServiceLogic {
    let running = false;
    let loop: Promise<void> | undefined;
    let target = Number(ctx.settings.count ?? 0);
    const batch = Math.max(1, Number(ctx.settings.batch ?? 1));
    const interval = Math.max(0, Number(ctx.settings.intervalMs ?? 0));
    const pad = 'x'.repeat(Math.max(0, Math.min(4096, Number(ctx.settings.padBytes ?? 0))));

    const emitted = async (): Promise<number> => (await ctx.store.get<{ n: number }>('SELECT n FROM probe_progress WHERE k = 1'))?.n ?? 0;

    const run = async (): Promise<void> => {
      // Paced by the clock, not by sleeping after each commit: `batch` per `intervalMs` exactly.
      let due = performance.now();
      while (running) {
        const done = await ctx.tx(async (tx) => {
          const row = await tx.get<{ n: number }>('SELECT n FROM probe_progress WHERE k = 1');
          let n = row?.n ?? 0;
          if (n >= target) return true;
          const upto = Math.min(target, n + batch);
          while (n < upto) {
            n += 1;
            await ctx.emit(tx, 'ProbeTick', pad ? { n, pad } : { n }, { txn: 'probe' });
          }
          await tx.run('INSERT INTO probe_progress (k, n) VALUES (1, ?) ON CONFLICT(k) DO UPDATE SET n = excluded.n', [n]);
          return n >= target;
        });
        if (done) break;
        due += interval;
        if (interval) await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
        else await new Promise((r) => setImmediate(r));
      }
    };

    const kick = (): void => {
      if (loop || !running) return;
      loop = run()
        .catch((err: Error) => ctx.log.error({ err: err.message }, 'probe stopped emitting'))
        .finally(() => {
          loop = undefined;
        });
    };

    return {
      async migrate(store) {
        await store.exec('CREATE TABLE IF NOT EXISTS probe_progress (k INTEGER PRIMARY KEY, n INTEGER NOT NULL)');
      },
      async start() {
        running = true;
        kick();
      },
      async stop() {
        running = false;
        await loop;
      },
      commands: commandSpecs(PROBE_COMMANDS, {
        /** Emit `count` more ticks. */
        Emit: {
          async handle(args, tx) {
            const row = await tx.get<{ n: number }>('SELECT n FROM probe_progress WHERE k = 1');
            target = Math.max(target, row?.n ?? 0) + args.count;
            setImmediate(kick);
            return { target };
          },
        },
        Progress: {
          async handle() {
            return { emitted: await emitted(), target };
          },
        },
      }),
      status: () => ({ target }),
    };
  },
};
