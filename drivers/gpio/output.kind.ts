import { defineKind } from '../kind.js';
import { simEnv } from '../sim/env.js';
import { BUILTIN_PATTERNS, GpioOutputSchema } from './output.js';
import { resolveBcm } from './resolve.js';

export const gpioOutput = defineKind({
  schema: GpioOutputSchema,
  bus: 'gpio',
  describe: 'lamp output: lane light / candle (off, on, blink patterns)',
  capabilities: ['light'],
  events: ['OutputChanged'],
  actions: [],
  check: (c) =>
    BUILTIN_PATTERNS[c.initial] || c.patterns?.[c.initial]
      ? undefined
      : `initial: "${c.initial}" is not a pattern (built in: ${Object.keys(BUILTIN_PATTERNS).join(', ')})`,
  load: async () => {
    const { GpioOutput } = await import('./output.js');
    return {
      create: (ctx, env) => new GpioOutput(ctx, env),
      twin: async (c, b) => {
        const sysfs = b.sysfs();
        const r = await resolveBcm(sysfs.root, c.bcm, c.chipLabel);
        return {
          twin: {
            output: () => {
              if (!sysfs.isExported(r.sysfs)) throw new Error(`sim: ${b.name}: gpio${r.sysfs} is not exported (driver not running)`);
              const level = sysfs.level(r.sysfs);
              return { level, lit: (level === 1) !== c.activeLow };
            },
          },
          env: simEnv({ timers: b.timers, stateDir: b.stateDir, gpio: sysfs.env(b.timers, b.gpioPollMs) }),
        };
      },
    };
  },
});
