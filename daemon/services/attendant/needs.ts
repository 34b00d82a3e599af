/**
 * What the lane needs to sell (`lane.needs`): capabilities met by any one of
 * their devices (`scanner`, `produce-scale`), by every one (`bagging-scale`:
 * each scale the weight check reads), or a device by name. While a need is not
 * met the lane is closed to new shoppers.
 */
import type { Config } from '../../core/config.js';
import { deviceConfigs, devicesWith } from '../../runtime/devices.js';

export interface Need {
  /** As written in lane.needs. */
  name: string;
  devices: string[];
  /** `any`: one working device meets it; `all`: every device must work. */
  rule: 'any' | 'all';
  /** For the attendant and the journal: "scanner", "bagging scale". */
  label: string;
}

/** Device states in which a device does not do its job (drivers/driver.ts DeviceState). */
export const MISSING_STATES = new Set(['disconnected', 'failed']);

/** The bagging scales the weight check reads (services.weightcheck.baggingScales, else every device that is one). */
function baggingScales(config: Config): string[] {
  const wc = config.services.weightcheck as { baggingScales?: unknown; enabled?: boolean } | undefined;
  if (wc?.enabled === false) return [];
  if (!Array.isArray(wc?.baggingScales)) return devicesWith(config, 'bagging-scale');
  // a scale that is not one of the lane's devices (another process publishes for it) has no DeviceStatus to watch
  const devices = deviceConfigs(config);
  return (wc.baggingScales as string[]).filter((d) => devices[d]);
}

function capability(config: Config, name: string): Need | undefined {
  if (name === 'scanner') return { name, devices: devicesWith(config, 'scanner'), rule: 'any', label: 'scanner' };
  if (name === 'produce-scale') return { name, devices: devicesWith(config, 'scale'), rule: 'any', label: 'produce scale' };
  if (name === 'bagging-scale') return { name, devices: baggingScales(config), rule: 'all', label: 'bagging scale' };
  return undefined;
}

/**
 * The lane's needs from config. Without `lane.needs`: a scanner and the bagging
 * scale, each where the lane has such devices. An entry that is neither a
 * capability nor a device, or a capability no device offers, is an error naming it.
 */
export function laneNeeds(config: Config): Need[] {
  const configured = (config.lane as { needs?: string[] }).needs;
  if (!configured) return ['scanner', 'bagging-scale'].map((n) => capability(config, n)!).filter((n) => n.devices.length > 0);
  const devices = deviceConfigs(config);
  return configured.map((name, i) => {
    const c = capability(config, name);
    if (c) {
      if (c.devices.length === 0) throw new Error(`lane.needs[${i}]: "${name}" but no device offers it; add one under devices or remove the entry`);
      return c;
    }
    if (devices[name]) return { name, devices: [name], rule: 'any', label: `${devices[name].kind} ${name}` };
    throw new Error(
      `lane.needs[${i}]: "${name}" is neither a capability (scanner, bagging-scale, produce-scale) nor a device (${Object.keys(devices).join(', ')})`,
    );
  });
}

export interface DeviceSeen {
  state: string;
  detail?: string;
}

/** The needs not met now; a device not heard of yet counts as present (it is starting). */
export function unmet(needs: Need[], seen: Record<string, DeviceSeen>): Array<{ need: Need; fault: string }> {
  const out: Array<{ need: Need; fault: string }> = [];
  for (const need of needs) {
    const missing = need.devices.filter((d) => MISSING_STATES.has(seen[d]?.state ?? ''));
    const down = need.rule === 'all' ? missing.length > 0 : missing.length === need.devices.length;
    if (!down) continue;
    const fault = missing.map((d) => `${d} ${seen[d].state}${seen[d].detail ? `: ${seen[d].detail}` : ''}`).join('; ');
    out.push({ need, fault: fault.slice(0, 300) });
  }
  return out;
}
