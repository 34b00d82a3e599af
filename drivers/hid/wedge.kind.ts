import { defineKind } from '../kind.js';
import { simEnv } from '../sim/env.js';
import { HidWedgeSchema } from './wedge.js';

export const hidWedge = defineKind({
  schema: HidWedgeSchema,
  bus: 'hid',
  describe: 'USB HID keyboard-wedge scanner read from /dev/input (no exclusive grab)',
  capabilities: ['scanner'],
  events: ['BarcodeScanned', 'BarcodeRejected'],
  actions: ['scan', 'unplug', 'replug'],
  check: (c) => (c.simulate || c.path ? undefined : 'needs "path" (e.g. /dev/input/by-id/usb-...-event-kbd)'),
  load: async () => {
    const { HidWedgeScanner } = await import('./wedge.js');
    const { HidTwin } = await import('../sim/hid-twin.js');
    return {
      create: (ctx, env) => new HidWedgeScanner(ctx, env),
      twin: async (c, b) => {
        const twin = new HidTwin(
          c.path ?? `/dev/input/by-id/sim-${b.name}-event-kbd`,
          c.recordSize ?? (process.arch === 'arm64' || process.arch === 'x64' ? 24 : 16),
        );
        return {
          twin: { scan: (code) => twin.scan(code), unplug: () => twin.unplug(), replug: () => twin.replug() },
          env: simEnv({ timers: b.timers, stateDir: b.stateDir, hid: twin.env }),
        };
      },
    };
  },
});
