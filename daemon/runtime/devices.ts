import type { Config } from '../core/config.js';
import { defaultSimulatedDevices, hasCapability, type Capability } from '../../drivers/registry.js';

/** The lane's devices: `devices` from config, or the simulated lane when the key is absent. */
export function deviceConfigs(config: Config): Record<string, { kind: string } & Record<string, unknown>> {
  return (config.devices ?? defaultSimulatedDevices()) as Record<string, { kind: string } & Record<string, unknown>>;
}

/** Names of the devices that can do `capability` (their kind says so): the sources a service consumes, e.g. every scanner. */
export function devicesWith(config: Config, capability: Capability): string[] {
  return Object.entries(deviceConfigs(config))
    .filter(([, c]) => hasCapability(c.kind, capability))
    .map(([name]) => name);
}

/** Whether the device configured as `name` can do `capability`. */
export function deviceCan(config: Config, name: string | undefined, capability: Capability): boolean {
  const c = name === undefined ? undefined : deviceConfigs(config)[name];
  return c !== undefined && hasCapability(c.kind, capability);
}
