import type { ServiceDefinition, ServiceLogic } from '../../runtime/runtime.js';
import { CommandError, commandSpecs } from '../../runtime/runtime.js';
import { SIM_COMMANDS } from './commands.js';
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
  return {
    name: 'sim',
    role: 'driver',
    create(): ServiceLogic {
      return {
        commands: commandSpecs(SIM_COMMANDS, {
          Devices: { handle: async () => sim.devices() },
          Scan: {
            handle: async (a) => act('scan', a.device, (d) => sim.scan(d, a.code)),
          },
          Weight: {
            handle: async (a) => act('weight', a.device, (d) => sim.weight(d, a.grams)),
          },
          Produce: {
            handle: async (a) => act('produce', a.device, (d) => sim.produce(d, a.grams)),
          },
          Unplug: { handle: async (a) => act('unplug', a.device, (d) => sim.unplug(d)) },
          Replug: { handle: async (a) => act('replug', a.device, (d) => sim.replug(d)) },
          Input: {
            handle: async (a) => act('input', a.device, (d) => sim.input(d, a.on)),
          },
        }),
      };
    },
  };
}
