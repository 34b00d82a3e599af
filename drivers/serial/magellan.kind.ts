import { defineKind } from '../kind.js';
import { simEnv } from '../sim/env.js';
import { MagellanSchema } from './magellan.js';
import { serialPortProblem } from './link.js';
import { rcnRulesProblem } from '../barcode/rcn.js';

export const magellan = defineKind({
  schema: MagellanSchema,
  bus: 'serial',
  describe: 'single-cable scanner-scale (Datalogic Magellan / NCR: S08, S11/S14)',
  capabilities: ['scanner', 'scale'],
  events: ['BarcodeScanned', 'BarcodeRejected', 'ProduceWeighed', 'ScaleStatus'],
  actions: ['scan', 'produce', 'unplug', 'replug'],
  check: (c) => serialPortProblem(c, c.simulate) ?? rcnRulesProblem(c),
  load: async () => {
    const { MagellanScannerScale } = await import('./magellan.js');
    const { MagellanTwin } = await import('../sim/magellan-twin.js');
    return {
      create: (ctx, env) => new MagellanScannerScale(ctx, env),
      twin: async (c, b) => {
        const serial = b.serial();
        const path = c.path ?? `/dev/serial/by-id/usb-laned_sim_${b.name}-if00`;
        const twin = new MagellanTwin(serial, path, c, b.timers);
        serial.addPort(path, { vendorId: c.vendorId, productId: c.productId, device: twin });
        return {
          twin: {
            scan: (code) => twin.scan(code),
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
