import { request } from '../client.js';
import { print, withTechnician, type CliCommand } from '../context.js';
import type { DeviceStatus } from '../../../drivers/driver.js';

type Listed = DeviceStatus & { commands: Array<{ name: string; describe: string }> };

/** `lanectl devices`: every device, its state, last reading and technician commands. */
export const devices: CliCommand = {
  usage: '',
  help: 'list devices: state, last reading, what a technician can run',
  async run(ctx) {
    const list = (await withTechnician(ctx, (c) => request(c, 'devices', 'List'))) as Listed[];
    print(ctx, list, () =>
      list
        .map(
          (d) =>
            `${d.name.padEnd(14)} ${d.kind.padEnd(15)} ${d.state.padEnd(12)} ${d.simulated ? 'sim ' : 'real'}  ${d.lastReading === undefined ? '' : JSON.stringify(d.lastReading)}${d.detail ? `\n${' '.repeat(16)}${d.detail}` : ''}`,
        )
        .join('\n'),
    );
    return list.every((d) => d.state === 'ok') ? 0 : 1;
  },
};
