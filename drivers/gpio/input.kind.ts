import { defineKind } from '../kind.js';
import { simEnv } from '../sim/env.js';
import { GpioInputSchema } from './input.js';
import { resolveBcm } from './resolve.js';

export const gpioInput = defineKind({
  schema: GpioInputSchema,
  bus: 'gpio',
  describe: 'digital input: key switch, bag-area presence, door (debounced)',
  capabilities: ['input'],
  events: ['InputChanged'],
  actions: ['input'],
  load: async () => {
    const { GpioInput } = await import('./input.js');
    return {
      create: (ctx, env) => new GpioInput(ctx, env),
      twin: async (c, b) => {
        const sysfs = b.sysfs();
        const r = await resolveBcm(sysfs.root, c.bcm, c.chipLabel);
        // the circuit's idle level (pull-up for active-low) before the driver looks
        sysfs.export(r.sysfs);
        sysfs.setLevel(r.sysfs, c.activeLow ? 1 : 0);
        return {
          // the circuit drives the pin; active-low handled
          twin: { input: (on) => sysfs.setLevel(r.sysfs, (on !== c.activeLow ? 1 : 0) as 0 | 1) },
          env: simEnv({ timers: b.timers, stateDir: b.stateDir, gpio: sysfs.env(b.timers, b.gpioPollMs) }),
        };
      },
    };
  },
});
