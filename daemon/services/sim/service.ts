import { Type } from '@sinclair/typebox';
import type { ServiceDefinition, ServiceLogic } from '../../runtime/runtime.js';
import { CommandError } from '../../runtime/runtime.js';
import type { SimLane, SimAction } from '../../../drivers/sim/lane.js';

/**
 * sim: `cmd/sim/*` drives the simulated twins' lowest layer (bytes into the mock
 * serial port, grams into the fake I2C bus, values into the fake sysfs), so the
 * real driver code runs. Refused for devices that are not simulated.
 */
export function simService(sim: SimLane): ServiceDefinition {
  const act = (action: SimAction, device: string | undefined, fn: (d: string) => void): { device: string } => {
    const d = device ?? sim.defaultDevice(action);
    if (!d) throw new CommandError(`no simulated device can ${action}`);
    try {
      fn(d);
    } catch (err) {
      throw new CommandError((err as Error).message, (err as { notFound?: boolean }).notFound ? 'not-found' : undefined);
    }
    return { device: d };
  };
  const Device = Type.Optional(Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }));
  return {
    name: 'sim',
    role: 'driver',
    create(): ServiceLogic {
      return {
        commands: {
          Devices: { handle: async () => sim.devices() },
          Scan: {
            args: Type.Object({ code: Type.String({ minLength: 1, maxLength: 512 }), device: Device }),
            handle: async (a: { code: string; device?: string }) => act('scan', a.device, (d) => sim.scan(d, a.code)),
          },
          Weight: {
            args: Type.Object({ grams: Type.Number({ minimum: -100000, maximum: 1000000 }), device: Device }),
            handle: async (a: { grams: number; device?: string }) => act('weight', a.device, (d) => sim.weight(d, a.grams)),
          },
          Produce: {
            args: Type.Object({ grams: Type.Number({ minimum: -100000, maximum: 1000000 }), device: Device }),
            handle: async (a: { grams: number; device?: string }) => act('produce', a.device, (d) => sim.produce(d, a.grams)),
          },
          Unplug: { args: Type.Object({ device: Type.String() }), handle: async (a: { device: string }) => act('unplug', a.device, (d) => sim.unplug(d)) },
          Replug: { args: Type.Object({ device: Type.String() }), handle: async (a: { device: string }) => act('replug', a.device, (d) => sim.replug(d)) },
          Input: {
            args: Type.Object({ device: Type.String(), on: Type.Boolean() }),
            handle: async (a: { device: string; on: boolean }) => act('input', a.device, (d) => sim.input(d, a.on)),
          },
        },
      };
    },
  };
}
