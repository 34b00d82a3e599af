/**
 * Every device kind the lane knows, one line each; a kind describes itself
 * next to its driver (kind.ts). The daemon validates `devices:` from its config
 * here, services find devices by capability here, and the simulated lane's
 * default devices come from here.
 */
import type { TSchema } from '@sinclair/typebox';
import type { Capability, DeviceKind } from './kind.js';
import { parseConfig } from './config.js';
import { serialScanner } from './serial/scanner.kind.js';
import { magellan } from './serial/magellan.kind.js';
import { toledo8217 } from './serial/toledo8217.kind.js';
import { nau7802 } from './i2c/nau7802.kind.js';
import { gpioInput } from './gpio/input.kind.js';
import { gpioOutput } from './gpio/output.kind.js';
import { hidWedge } from './hid/wedge.kind.js';

export type { Bus, Capability, DeviceKind } from './kind.js';

const kinds = new Map<string, DeviceKind>();

/** Add a kind under the name configs give as `kind:`. */
export function registerDeviceKind<S extends TSchema>(name: string, kind: DeviceKind<S>): void {
  if (kinds.has(name)) throw new Error(`device kind ${name} is registered twice`);
  kinds.set(name, kind as DeviceKind);
}

registerDeviceKind('serial-scanner', serialScanner);
registerDeviceKind('magellan', magellan);
registerDeviceKind('toledo8217', toledo8217);
registerDeviceKind('nau7802', nau7802);
registerDeviceKind('gpio-input', gpioInput);
registerDeviceKind('gpio-output', gpioOutput);
registerDeviceKind('hid-wedge', hidWedge);

/** The kind of that name, or undefined. */
export function deviceKind(name: string): DeviceKind | undefined {
  return kinds.get(name);
}

/** Every kind, in registration order. */
export function deviceKinds(): ReadonlyMap<string, DeviceKind> {
  return kinds;
}

/** Whether a device of kind `kind` can do `capability` (false for an unknown kind). */
export function hasCapability(kind: string, capability: Capability): boolean {
  return kinds.get(kind)?.capabilities.includes(capability) ?? false;
}

/** A validated device config: defaults filled in. */
export type DeviceConfig = { kind: string; simulate: boolean } & Record<string, unknown>;

/** Device names are event sources: the envelope's `source` pattern. */
export const DEVICE_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export function validateDeviceConfig(name: string, raw: unknown): { ok: true; config: DeviceConfig } | { ok: false; problem: string } {
  const where = `devices.${name}`;
  if (!DEVICE_NAME.test(name)) {
    return {
      ok: false,
      problem: `${where}: the device name must be lowercase letters, digits and "-", starting with a letter, at most 32 characters (it is the source of its events)`,
    };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    return { ok: false, problem: `${where}: expected a mapping with at least "kind", got ${JSON.stringify(raw)}` };
  const k = (raw as { kind?: unknown }).kind;
  const entry = typeof k === 'string' ? kinds.get(k) : undefined;
  if (!entry) {
    return { ok: false, problem: `${where}.kind: got ${JSON.stringify(k)}, expected one of ${[...kinds.keys()].map((x) => JSON.stringify(x)).join(', ')}` };
  }
  const parsed = parseConfig(entry.schema, raw, where);
  if (!parsed.ok) return parsed;
  const extra = entry.check?.(parsed.config);
  if (extra) return { ok: false, problem: `${where}: ${extra}` };
  return { ok: true, config: parsed.config as DeviceConfig };
}

/**
 * The simulated lane: every device kind with its twin, `simulate: true`, so
 * the whole lane runs on a laptop. The scanner scans a few codes by itself
 * after start; `lanectl sim ...` drives the rest.
 */
export function defaultSimulatedDevices(): Record<string, Record<string, unknown>> {
  return {
    scanner: {
      kind: 'serial-scanner',
      simulate: true,
      path: '/dev/serial/by-id/usb-laned_sim_scanner-if00',
      suffix: 'CR',
      rcnLayout: 'de',
      script: [
        { after_ms: 3000, code: '4006381333931' },
        { after_ms: 2000, code: '5449000000996' },
        { after_ms: 2000, code: '2812347012503' },
      ],
      loop: false,
    },
    scanscale: { kind: 'magellan', simulate: true, path: '/dev/serial/by-id/usb-laned_sim_magellan-if00' },
    bagscale: { kind: 'nau7802', simulate: true, division: 2, capacityG: 30000, nominalCountsPerGram: 100, requireCalibration: false },
    light: { kind: 'gpio-output', simulate: true, bcm: 17, initial: 'on' },
    keyswitch: { kind: 'gpio-input', simulate: true, bcm: 22, activeLow: true },
    bagpresence: { kind: 'gpio-input', simulate: true, bcm: 23 },
    door: { kind: 'gpio-input', simulate: true, bcm: 24, activeLow: true },
    wedge: { kind: 'hid-wedge', simulate: true },
    'produce-scale': { kind: 'toledo8217', simulate: true, path: '/dev/serial/by-id/usb-laned_sim_toledo-if00' },
  };
}
