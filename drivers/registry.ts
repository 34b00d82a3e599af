/**
 * Every device kind the lane knows: its config schema and how to build its
 * driver. The daemon validates `devices:` from its config here and the
 * simulated lane's default devices come from here.
 */
import type { Static, TSchema } from '@sinclair/typebox';
import type { Driver, DriverContext } from './driver.js';
import type { DriverEnv } from './env.js';
import { parseConfig } from './config.js';
import { SerialScanner, SerialScannerSchema } from './serial/scanner.js';
import { MagellanScannerScale, MagellanSchema } from './serial/magellan.js';
import { Toledo8217Scale, Toledo8217Schema } from './serial/toledo8217.js';
import { serialPortProblem } from './serial/link.js';
import { ruleProblem } from './serial/rcn.js';
import { Nau7802Scale, Nau7802Schema } from './i2c/nau7802.js';
import { GpioInput, GpioInputSchema } from './gpio/input.js';
import { GpioOutput, GpioOutputSchema, BUILTIN_PATTERNS } from './gpio/output.js';
import { HidWedgeScanner, HidWedgeSchema } from './hid/wedge.js';

export type Bus = 'serial' | 'i2c' | 'gpio' | 'hid';

export interface DeviceKind<S extends TSchema = TSchema> {
  schema: S;
  bus: Bus;
  /** One line for `lanectl devices --kinds`. */
  describe: string;
  create(ctx: DriverContext<Static<S>>, env: DriverEnv): Driver;
  /** Rules a schema cannot say (which keys are needed together). */
  check?(config: Static<S>): string | undefined;
}

function kind<S extends TSchema>(k: DeviceKind<S>): DeviceKind<S> {
  return k;
}

const rcnRulesProblem = (c: { rcnRules?: { prefix: string; pattern: string; measure: 'price' | 'weight' | 'count'; decimals: number }[] }) => {
  for (const [i, r] of (c.rcnRules ?? []).entries()) {
    const p = ruleProblem(r);
    if (p) return `rcnRules.${i}: ${p}`;
  }
  return undefined;
};

export const deviceKinds = {
  'serial-scanner': kind({
    schema: SerialScannerSchema,
    bus: 'serial',
    describe: 'barcode scanner on USB-CDC or RS-232 (AIM ids, GS1, RCN)',
    create: (ctx, env) => new SerialScanner(ctx, env),
    check: (c) => serialPortProblem(c, c.simulate) ?? rcnRulesProblem(c),
  }),
  magellan: kind({
    schema: MagellanSchema,
    bus: 'serial',
    describe: 'single-cable scanner-scale (Datalogic Magellan / NCR: S08, S11/S14)',
    create: (ctx, env) => new MagellanScannerScale(ctx, env),
    check: (c) => serialPortProblem(c, c.simulate) ?? rcnRulesProblem(c),
  }),
  toledo8217: kind({
    schema: Toledo8217Schema,
    bus: 'serial',
    describe: 'Mettler Toledo 8217 protocol scale (W, Z, T, C)',
    create: (ctx, env) => new Toledo8217Scale(ctx, env),
    check: (c) => serialPortProblem(c, c.simulate),
  }),
  nau7802: kind({
    schema: Nau7802Schema,
    bus: 'i2c',
    describe: 'bagging-area load cells through a NAU7802 24-bit ADC on I2C',
    create: (ctx, env) => new Nau7802Scale(ctx, env),
  }),
  'gpio-input': kind({
    schema: GpioInputSchema,
    bus: 'gpio',
    describe: 'digital input: key switch, bag-area presence, door (debounced)',
    create: (ctx, env) => new GpioInput(ctx, env),
  }),
  'gpio-output': kind({
    schema: GpioOutputSchema,
    bus: 'gpio',
    describe: 'lamp output: lane light / candle (off, on, blink patterns)',
    create: (ctx, env) => new GpioOutput(ctx, env),
    check: (c) =>
      BUILTIN_PATTERNS[c.initial] || c.patterns?.[c.initial] ? undefined : `initial: "${c.initial}" is not a pattern (built in: ${Object.keys(BUILTIN_PATTERNS).join(', ')})`,
  }),
  'hid-wedge': kind({
    schema: HidWedgeSchema,
    bus: 'hid',
    describe: 'USB HID keyboard-wedge scanner read from /dev/input (no exclusive grab)',
    create: (ctx, env) => new HidWedgeScanner(ctx, env),
    check: (c) => (c.simulate || c.path ? undefined : 'needs "path" (e.g. /dev/input/by-id/usb-...-event-kbd)'),
  }),
};

export type DeviceKindName = keyof typeof deviceKinds;

/** A validated device config: defaults filled in. */
export type DeviceConfig = { kind: DeviceKindName; simulate: boolean } & Record<string, unknown>;

/** Device names are event sources: the envelope's `source` pattern. */
export const DEVICE_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export function validateDeviceConfig(name: string, raw: unknown): { ok: true; config: DeviceConfig } | { ok: false; problem: string } {
  const where = `devices.${name}`;
  if (!DEVICE_NAME.test(name)) {
    return { ok: false, problem: `${where}: the device name must be lowercase letters, digits and "-", starting with a letter, at most 32 characters (it is the source of its events)` };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, problem: `${where}: expected a mapping with at least "kind", got ${JSON.stringify(raw)}` };
  const k = (raw as { kind?: unknown }).kind;
  const kinds = Object.keys(deviceKinds);
  if (typeof k !== 'string' || !(k in deviceKinds)) {
    return { ok: false, problem: `${where}.kind: got ${JSON.stringify(k)}, expected one of ${kinds.map((x) => JSON.stringify(x)).join(', ')}` };
  }
  const entry = deviceKinds[k as DeviceKindName] as unknown as DeviceKind;
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
