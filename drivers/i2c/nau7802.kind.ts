import { defineKind } from '../kind.js';
import { simEnv } from '../sim/env.js';
import { Nau7802Schema } from './nau7802.js';

export const nau7802 = defineKind({
  schema: Nau7802Schema,
  bus: 'i2c',
  describe: 'bagging-area load cells through a NAU7802 24-bit ADC on I2C',
  capabilities: ['bagging-scale'],
  events: ['WeightHasChanged', 'ScaleStatus'],
  actions: ['weight', 'unplug', 'replug'],
  load: async () => {
    const { Nau7802Scale } = await import('./nau7802.js');
    const { fakeNau7802Bus } = await import('../sim/fake-i2c.js');
    return {
      create: (ctx, env) => new Nau7802Scale(ctx, env),
      twin: async (c, b) => {
        const cpg = Number(c.nominalCountsPerGram ?? 100);
        const { bus, chip } = fakeNau7802Bus({
          timers: b.timers,
          countsPerGram: cpg,
          zeroCounts: 250_000,
          uncalibratedOffset: 3_000,
          noiseCounts: 2,
          seed: b.seed,
        });
        return {
          twin: { weight: (grams) => chip.setLoad(grams), unplug: () => bus.unplug(), replug: () => bus.replug() },
          env: simEnv({ timers: b.timers, stateDir: b.stateDir, i2c: { open: async () => bus } }),
        };
      },
    };
  },
});
