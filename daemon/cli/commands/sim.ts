import { CliError, EXIT, request } from '../client.js';
import { print, withTechnician, type CliCommand } from '../context.js';

const USAGE =
  'sim scan <code> [--device D] | weight <grams> [--device D] | produce <grams> [--device D] | unplug|replug <device> | input <device> on|off | devices';

/** `lanectl sim ...` = `cmd/sim/*`: feeds the simulated devices' lowest layer. */
export const sim: CliCommand = {
  usage: 'scan|weight|produce|unplug|replug|input|devices ...',
  help: 'drive the simulated devices (bytes into the mock port, grams into the fake bus)',
  async run(ctx) {
    const [verb, a, b] = ctx.args;
    const device = typeof ctx.flags.device === 'string' ? ctx.flags.device : undefined;
    const grams = (s: string | undefined): number => {
      const g = Number(s);
      if (s === undefined || !Number.isFinite(g)) throw new CliError(`sim ${verb} <grams>: a number of grams`, EXIT.usage);
      return g;
    };
    let command: string;
    let args: Record<string, unknown> | undefined;
    switch (verb) {
      case 'scan':
        if (!a) throw new CliError('sim scan <code>', EXIT.usage);
        [command, args] = ['Scan', { code: a, ...(device ? { device } : {}) }];
        break;
      case 'weight':
        [command, args] = ['Weight', { grams: grams(a), ...(device ? { device } : {}) }];
        break;
      case 'produce':
        [command, args] = ['Produce', { grams: grams(a), ...(device ? { device } : {}) }];
        break;
      case 'unplug':
      case 'replug':
        if (!a) throw new CliError(`sim ${verb} <device>`, EXIT.usage);
        [command, args] = [verb === 'unplug' ? 'Unplug' : 'Replug', { device: a }];
        break;
      case 'input':
        if (!a || (b !== 'on' && b !== 'off')) throw new CliError('sim input <device> on|off', EXIT.usage);
        [command, args] = ['Input', { device: a, on: b === 'on' }];
        break;
      case 'devices':
        [command, args] = ['Devices', undefined];
        break;
      default:
        throw new CliError(USAGE, EXIT.usage);
    }
    const result = await withTechnician(ctx, (c) => request(c, 'sim', command, args));
    if (verb === 'devices') {
      print(ctx, result, () =>
        (result as Array<{ name: string; kind: string; actions: string[] }>)
          .map((d) => `${d.name.padEnd(14)} ${d.kind.padEnd(16)} ${d.actions.join(', ')}`)
          .join('\n'),
      );
      return;
    }
    const on = (result as { device: string }).device;
    const did: Record<string, string> = {
      scan: `scanned ${a} (the driver reads it as from the scanner)`,
      weight: `platter now holds ${a} g`,
      produce: `produce platter now holds ${a} g`,
      unplug: 'unplugged (the driver sees the device gone)',
      replug: 'plugged in again',
      input: `switched ${b} (the input pin now reads ${b})`,
    };
    print(ctx, { ...(result as object), action: verb, did: did[verb] }, () => `${on}: ${did[verb]}`);
  },
};
