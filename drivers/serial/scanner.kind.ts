import { defineKind } from '../kind.js';
import { simEnv } from '../sim/env.js';
import { SerialScannerSchema } from './scanner.js';
import { serialPortProblem } from './link.js';
import { rcnRulesProblem } from '../barcode/rcn.js';

export const serialScanner = defineKind({
  schema: SerialScannerSchema,
  bus: 'serial',
  describe: 'barcode scanner on USB-CDC or RS-232 (AIM ids, GS1, RCN)',
  capabilities: ['scanner'],
  events: ['BarcodeScanned', 'BarcodeRejected'],
  actions: ['scan', 'unplug', 'replug'],
  check: (c) => serialPortProblem(c, c.simulate) ?? rcnRulesProblem(c),
  load: async () => {
    const { SerialScanner } = await import('./scanner.js');
    const { ScannerTwin } = await import('../sim/scanner-twin.js');
    return {
      create: (ctx, env) => new SerialScanner(ctx, env),
      twin: async (c, b) => {
        const serial = b.serial();
        const path = c.path ?? `/dev/serial/by-id/usb-laned_sim_${b.name}-if00`;
        const scanner = new ScannerTwin(serial, path, c, b.timers, b.log);
        serial.addPort(path, { vendorId: c.vendorId, productId: c.productId, device: { onOpen: () => scanner.startScript() } });
        return {
          twin: {
            scan: (code) => scanner.scan(code),
            unplug: () => serial.unplug(path),
            replug: () => serial.replug(path),
            close: () => scanner.stopScript(),
          },
          env: simEnv({ timers: b.timers, stateDir: b.stateDir, serial: serial.env }),
        };
      },
    };
  },
});
