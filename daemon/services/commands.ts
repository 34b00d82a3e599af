/**
 * The commands of every service (`cmd/<service>/<Name>`), each service's declared in
 * its own folder, and the ones every service answers (daemon/runtime/builtin-commands.ts).
 * The handlers are typed from these; the tests check every reply they see against
 * them (test/helpers/service-harness.ts, test/helpers/session.ts), and the AsyncAPI
 * document lists them.
 */
import { replyProblem, type CommandContract, type CommandContracts } from '../events/command.js';
import { BUILTIN_COMMANDS } from '../runtime/builtin-commands.js';
import { ATTENDANT_COMMANDS } from './attendant/commands.js';
import { BASKET_COMMANDS } from './basket/commands.js';
import { CATALOG_COMMANDS } from './catalog/commands.js';
import { DEVICES_COMMANDS } from './devices/commands.js';
import { JOURNAL_COMMANDS } from './journal/commands.js';
import { PAYMENT_COMMANDS } from './payment/commands.js';
import { PROBE_COMMANDS, PROBE_SINK_COMMANDS } from './probe/commands.js';
import { SIM_COMMANDS } from './sim/commands.js';
import { UPDATER_COMMANDS } from './updater/commands.js';

export { BUILTIN_COMMANDS };

/** Service name -> its own commands (besides BUILTIN_COMMANDS). A service without commands of its own is not here. */
export const SERVICE_COMMANDS: Record<string, CommandContracts> = {
  attendant: ATTENDANT_COMMANDS,
  basket: BASKET_COMMANDS,
  catalog: CATALOG_COMMANDS,
  devices: DEVICES_COMMANDS,
  journal: JOURNAL_COMMANDS,
  payment: PAYMENT_COMMANDS,
  probe: PROBE_COMMANDS,
  'probe-sink': PROBE_SINK_COMMANDS,
  sim: SIM_COMMANDS,
  updater: UPDATER_COMMANDS,
};

/** The contract of `cmd/<service>/<name>`: the service's own, else a built-in one. */
export function commandContract(service: string, name: string): CommandContract | undefined {
  const own = SERVICE_COMMANDS[service];
  return (
    (own && Object.hasOwn(own, name) ? own[name] : undefined) ??
    (Object.hasOwn(BUILTIN_COMMANDS, name) ? (BUILTIN_COMMANDS as CommandContracts)[name] : undefined)
  );
}

/** How a reply to `cmd/<service>/<name>` breaks the command's contract, or undefined; a refusal of an unknown command is no break. */
export function commandReplyProblem(service: string, name: string, reply: unknown): string | undefined {
  const contract = commandContract(service, name);
  if (contract) return replyProblem(`${service}/${name}`, contract, reply);
  return (reply as { ok?: unknown }).ok === false ? undefined : `${service}/${name} has no contract (daemon/services/commands.ts) but answered ok`;
}
