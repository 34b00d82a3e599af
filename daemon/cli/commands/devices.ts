import { CliError, EXIT, request } from '../client.js';
import { print, withTechnician, type CliCommand } from '../context.js';
import type { DeviceStatus } from '../../../drivers/driver.js';
import { transactionGuard } from './calibrate.js';
import { technicianName } from '../lane-doc.js';

type Listed = DeviceStatus & { commands: Array<{ name: string; describe: string }> };

/** `key=value` of a device command; a number where it reads as one. */
function argument(text: string): [string, unknown] {
  const m = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(text);
  if (!m) throw new CliError(`${text}: a device command's arguments are key=value (e.g. grams=1500)`, EXIT.usage);
  const n = Number(m[2]);
  return [m[1]!, m[2] !== '' && Number.isFinite(n) ? n : m[2]];
}

/**
 * `lanectl devices`: every device, its state, last reading and technician commands;
 * `lanectl devices <device> <command>` runs one of those commands (zero, tare, blink…).
 */
export const devices: CliCommand = {
  usage: '[<device> <command> [key=value ...]]',
  help: 'list devices: state, last reading, commands; or run one (lanectl devices produce-scale zero)',
  async run(ctx) {
    const [device, command, ...rest] = ctx.args;
    if (device) {
      if (!command) throw new CliError(`devices ${device} <command>: lanectl devices lists each device's commands`, EXIT.usage);
      const args = rest.length ? Object.fromEntries(rest.map(argument)) : undefined;
      const result = await withTechnician(ctx, async (c) => {
        // calibrating by hand is guarded like lanectl calibrate
        const guarded = command.startsWith('calibrate-') ? { ...args, ...(await transactionGuard(ctx, c, device)) } : args;
        return request(
          c,
          'devices',
          'Run',
          { device, command, ...(guarded && Object.keys(guarded).length ? { args: guarded } : {}) },
          10_000,
          technicianName(),
        );
      });
      print(ctx, result, () => `${device} ${command}: ${JSON.stringify(result)}`);
      return;
    }
    const list = (await withTechnician(ctx, (c) => request(c, 'devices', 'List'))) as Listed[];
    print(ctx, list, () =>
      list
        .map(
          (d) =>
            `${d.name.padEnd(14)} ${d.kind.padEnd(15)} ${d.state.padEnd(12)} ${d.simulated ? 'sim ' : 'real'}  ${d.lastReading === undefined ? '' : JSON.stringify(d.lastReading)}${d.detail ? `\n${' '.repeat(16)}${d.detail}` : ''}${d.commands.length ? `\n${' '.repeat(16)}commands: ${d.commands.map((x) => x.name).join(', ')}` : ''}`,
        )
        .join('\n'),
    );
    return list.every((d) => d.state === 'ok') ? 0 : 1;
  },
};
