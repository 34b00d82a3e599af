import { commandSpecs, type ServiceDefinition, type ServiceLogic } from '../../runtime/runtime.js';
import { PROBE_SINK_COMMANDS } from './commands.js';
import type { ProbeSinkSettings } from './settings.js';

/**
 * probe-sink: applies ProbeTick events from `probe`, counting how often each tick
 * was applied. Duplicates would show as applied > 1, losses as missing ticks.
 */
export const probeSink: ServiceDefinition<ProbeSinkSettings> = {
  name: 'probe-sink',
  create(ctx): ServiceLogic {
    let refused = new Set(ctx.settings.failTicks ?? []);
    return {
      sources: ctx.settings.sources ?? ['probe'],
      async migrate(store) {
        await store.exec(
          'CREATE TABLE IF NOT EXISTS probe_tally (source TEXT NOT NULL, n INTEGER NOT NULL, applied INTEGER NOT NULL, event_id TEXT NOT NULL, ord INTEGER NOT NULL, latency_us INTEGER, PRIMARY KEY (source, n)); CREATE INDEX IF NOT EXISTS probe_tally_ord ON probe_tally (ord)',
        );
      },
      async onEvent(ev, tx) {
        if (ev.type !== 'ProbeTick') return;
        const { n } = ev.data;
        // A tick that always fails: how a technician (and the tests) see the dead-letter path work.
        if (refused.has(n)) throw new Error(`probe-sink is set to refuse tick ${n} (failTicks)`);
        // CLOCK_MONOTONIC is system-wide on Linux: emit-to-apply latency across processes of one boot
        const latencyUs = ev.at.epoch === ctx.clock.epoch ? Number((process.hrtime.bigint() - BigInt(ev.at.mono)) / 1000n) : null;
        await tx.run(
          'INSERT INTO probe_tally (source, n, applied, event_id, ord, latency_us) VALUES (?, ?, 1, ?, (SELECT coalesce(max(ord), 0) + 1 FROM probe_tally), ?) ON CONFLICT(source, n) DO UPDATE SET applied = applied + 1',
          [ev.source, n, ev.id, latencyUs],
        );
      },
      commands: commandSpecs(PROBE_SINK_COMMANDS, {
        /** The ticks to refuse from now on (`[]`: the cause is mended; `lanectl dlq retry` then applies them). */
        Refuse: {
          async handle(args) {
            refused = new Set(args.ticks);
            return { refused: [...refused] };
          },
        },
        Tally: {
          async handle() {
            const r = await ctx.store.get<{ ticks: number; applied: number; max: number | null; twice: number }>(
              'SELECT count(*) AS ticks, coalesce(sum(applied),0) AS applied, max(n) AS max, coalesce(sum(applied > 1),0) AS twice FROM probe_tally',
            );
            return r ?? { ticks: 0, applied: 0, max: null, twice: 0 };
          },
        },
      }),
    };
  },
};
