import type { CliCommand } from '../context.js';

/**
 * Every lanectl subcommand by name, each loaded only when it is asked for: `lanectl status`
 * over SSH does not pay for `diag`'s archive writer or `selftest`'s drivers. Add new ones here.
 */
export const commands: Record<string, () => Promise<CliCommand>> = {
  status: async () => (await import('./status.js')).status,
  creds: async () => (await import('./creds.js')).creds,
  'hash-password': async () => (await import('./hash-password.js')).hashPasswordCommand,
  dlq: async () => (await import('./dlq.js')).dlq,
  events: async () => (await import('./events.js')).events,
  devices: async () => (await import('./devices.js')).devices,
  sim: async () => (await import('./sim.js')).sim,
  selftest: async () => (await import('./selftest.js')).selftest,
  calibrate: async () => (await import('./calibrate.js')).calibrate,
  diag: async () => (await import('./diag.js')).diag,
  catalog: async () => (await import('./catalog.js')).catalog,
  journal: async () => (await import('./journal.js')).journal,
  trace: async () => (await import('./trace.js')).trace,
  update: async () => (await import('./update.js')).update,
  uplink: async () => (await import('./uplink.js')).uplink,
};
