import type { Config } from '../core/config.js';
import { defaultSimulatedDevices } from '../../drivers/registry.js';

/** The lane's devices: `devices` from config, or the simulated lane when the key is absent. */
export function deviceConfigs(config: Config): Record<string, { kind: string } & Record<string, unknown>> {
  return (config.devices ?? defaultSimulatedDevices()) as Record<string, { kind: string } & Record<string, unknown>>;
}

/** Names of the devices of the given kinds: the sources a service consumes, e.g. every scanner. */
export function devicesOfKind(config: Config, ...kinds: string[]): string[] {
  return Object.entries(deviceConfigs(config))
    .filter(([, c]) => kinds.includes(c.kind))
    .map(([name]) => name);
}
