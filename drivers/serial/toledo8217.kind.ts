import { defineKind } from '../kind.js';
import { simEnv } from '../sim/env.js';
import { Toledo8217Schema } from './toledo8217.js';
import { serialPortProblem } from './link.js';

export const toledo8217 = defineKind({
  schema: Toledo8217Schema,
  bus: 'serial',
  describe: 'Mettler Toledo 8217 protocol scale (W, Z, T, C)',
  capabilities: ['scale'],
  events: ['ProduceWeighed', 'ScaleStatus'],
  actions: ['produce', 'unplug', 'replug'],
  check: (c) => serialPortProblem(c, c.simulate),
  load: async () => {
    const { Toledo8217Scale } = await import('./toledo8217.js');
    const { ToledoTwin } = await import('../sim/toledo-twin.js');
    return {
      create: (ctx, env) => new Toledo8217Scale(ctx, env),
      twin: async (c, b) => {
        const serial = b.serial();
        const path = c.path ?? `/dev/serial/by-id/usb-laned_sim_${b.name}-if00`;
        const twin = new ToledoTwin(b.timers);
        serial.addPort(path, { vendorId: c.vendorId, productId: c.productId, device: twin });
        return {
          twin: {
            produce: (grams) => twin.produce(grams),
            unplug: () => serial.unplug(path),
            replug: () => serial.replug(path),
          },
          env: simEnv({ timers: b.timers, stateDir: b.stateDir, serial: serial.env }),
        };
      },
    };
  },
});
