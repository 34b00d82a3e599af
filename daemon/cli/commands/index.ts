import type { CliCommand } from '../context.js';
import { sim } from './sim.js';
import { devices } from './devices.js';
import { status } from './status.js';
import { creds } from './creds.js';
import { hashPasswordCommand } from './hash-password.js';
import { dlq } from './dlq.js';
import { events } from './events.js';
import { diag } from './diag.js';
import { selftest } from './selftest.js';
import { calibrate } from './calibrate.js';
import { catalog } from './catalog.js';
import { journal } from './journal.js';
import { trace } from './trace.js';
import { update } from './update.js';
import { uplink } from './uplink.js';

/** Every lanectl subcommand by name; add new ones here. */
export const commands: Record<string, CliCommand> = {
  status: status,
  creds: creds,
  'hash-password': hashPasswordCommand,
  dlq: dlq,
  events: events,
  devices,
  sim,
  selftest,
  calibrate,
  diag,
  catalog,
  journal,
  trace,
  update,
  uplink,
};
