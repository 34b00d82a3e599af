import type { ServiceDefinition, ServiceLogic } from '../runtime.js';

/**
 * probe-sink: applies ProbeTick events from `probe`, counting how often each tick
 * was applied. Duplicates would show as applied > 1, losses as missing ticks.
 */
export const probeSink: ServiceDefinition = {
  name: 'probe-sink',
  create(ctx): ServiceLogic {
    return {
      sources: ['probe'],
      async migrate(store) {
        await store.exec('CREATE TABLE IF NOT EXISTS probe_tally (n INTEGER PRIMARY KEY, applied INTEGER NOT NULL, event_id TEXT NOT NULL)');
      },
      async onEvent(ev, tx) {
        if (ev.type !== 'ProbeTick') return;
        const { n } = ev.data as { n: number };
        await tx.run('INSERT INTO probe_tally (n, applied, event_id) VALUES (?, 1, ?) ON CONFLICT(n) DO UPDATE SET applied = applied + 1', [n, ev.id]);
      },
      commands: {
        Tally: {
          async handle() {
            const r = await ctx.store.get<{ ticks: number; applied: number; max: number | null; twice: number }>(
              'SELECT count(*) AS ticks, coalesce(sum(applied),0) AS applied, max(n) AS max, coalesce(sum(applied > 1),0) AS twice FROM probe_tally',
            );
            return r;
          },
        },
      },
    };
  },
};
