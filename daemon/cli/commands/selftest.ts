import type { MqttClient } from 'mqtt';
import { CliError, EXIT, readRuntime, request } from '../client.js';
import { print, withTechnician, type CliCommand, type CliContext } from '../context.js';
import type { DeviceStatus } from '../../../drivers/driver.js';
import { hasCapability, type Capability } from '../../../drivers/registry.js';
import { loadConfig } from '../../core/config.js';
import { deviceConfigs } from '../../runtime/devices.js';
import { gramsOf, lines } from './calibrate.js';
import { parseEvent } from '../../events/envelope.js';
import { isOfType, type DomainEvent, type EventType } from '../../events/schemas/index.js';
import { evt } from '../../../broker/topics.js';

type Listed = DeviceStatus & { commands: Array<{ name: string }> };

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  result?: unknown;
}

/** Subscribe to events of one device and resolve with the first of `types` (or undefined after the timeout). */
async function nextEvent<T extends EventType>(
  c: MqttClient,
  device: string,
  types: T[],
  timeoutMs: number,
  prompt: () => void,
): Promise<DomainEvent<T> | undefined> {
  const topics = types.map((t) => evt(device, t));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(undefined), timeoutMs);
    const onMessage = (topic: string, payload: Buffer): void => {
      if (!topics.includes(topic)) return;
      const parsed = parseEvent(topic, payload, Number.MAX_SAFE_INTEGER);
      // not a valid event: keep waiting
      if (parsed.ok && isOfType(parsed.event, types)) done(parsed.event);
    };
    const done = (v: DomainEvent<T> | undefined): void => {
      clearTimeout(timer);
      c.removeListener('message', onMessage);
      c.unsubscribe(topics);
      resolve(v);
    };
    c.on('message', onMessage);
    c.subscribe(topics, { qos: 1 }, (err) => {
      if (err) {
        clearTimeout(timer);
        return reject(new CliError(`cannot subscribe to ${topics.join(', ')}: ${err.message}`, EXIT.unavailable));
      }
      prompt();
    });
  });
}

async function run(c: MqttClient, device: string, command: string, args?: Record<string, unknown>): Promise<Check> {
  try {
    const result = await request(c, 'devices', 'Run', { device, command, ...(args ? { args } : {}) });
    return { name: command, ok: true, detail: 'answered', result };
  } catch (err) {
    if (err instanceof CliError && err.code === EXIT.failed) return { name: command, ok: false, detail: err.message };
    throw err;
  }
}

/**
 * Resolves when a line comes on stdin (the technician pressed Enter); never on the end of
 * input. What came after that line is put back for whoever reads stdin next.
 */
function enterPressed(): { pressed: Promise<void>; stop(): void } {
  let onData: ((b: Buffer) => void) | undefined;
  const stop = (): void => {
    if (!onData) return;
    process.stdin.removeListener('data', onData);
    process.stdin.pause();
    onData = undefined;
  };
  const pressed = new Promise<void>((resolve) => {
    onData = (b: Buffer): void => {
      const nl = b.indexOf(10);
      if (nl < 0) return;
      stop();
      if (nl + 1 < b.length) process.stdin.unshift(b.subarray(nl + 1));
      resolve();
    };
    process.stdin.on('data', onData);
  });
  return { pressed, stop };
}

/** Every event of `types` from one device until the timeout (or `early`), each handed to `each` as it comes. */
async function eventsUntil(
  c: MqttClient,
  device: string,
  types: string[],
  timeoutMs: number,
  prompt: () => void,
  each: (type: string, data: unknown) => void,
  early?: Promise<void>,
): Promise<void> {
  const topics = types.map((t) => evt(device, t));
  await new Promise<void>((resolve, reject) => {
    const onMessage = (topic: string, payload: Buffer): void => {
      if (!topics.includes(topic)) return;
      try {
        const ev = JSON.parse(payload.toString('utf8')) as { type: string; data: unknown };
        each(ev.type, ev.data);
      } catch {
        // not an envelope
      }
    };
    const end = (): void => {
      clearTimeout(timer);
      c.removeListener('message', onMessage);
      c.unsubscribe(topics);
      resolve();
    };
    const timer = setTimeout(end, timeoutMs);
    void early?.then(end);
    c.on('message', onMessage);
    c.subscribe(topics, { qos: 1 }, (err) => {
      if (err) {
        clearTimeout(timer);
        return reject(new CliError(`cannot subscribe to ${topics.join(', ')}: ${err.message}`, EXIT.unavailable));
      }
      prompt();
    });
  });
}

/**
 * Scanners: every code read until the timeout, or until Enter once the technician has
 * scanned what they meant to, as the driver took it (symbology, AIM identifier, GTIN) or
 * why it refused it (check digit, length, suffix, ...), shown as it comes; passes when at
 * least one code was accepted.
 */
async function readScans(ctx: CliContext, c: MqttClient, d: Listed, timeoutS: number): Promise<Check[]> {
  const reads: Array<Record<string, unknown>> = [];
  const enter = enterPressed();
  try {
    await eventsUntil(
      c,
      d.name,
      ['BarcodeScanned', 'BarcodeRejected'],
      timeoutS * 1000,
      () => process.stderr.write(`scan barcodes on ${d.name}; every read is shown for ${timeoutS} s (Enter ends it sooner)\n`),
      (type, data) => {
        const x = data as { raw: string; symbology?: string; aim?: string; gtin?: string; reason?: string };
        const accepted = type === 'BarcodeScanned';
        reads.push({ accepted, ...x });
        process.stderr.write(
          accepted
            ? `  read     ${x.raw}  ${x.symbology}${x.aim ? ` (AIM ${x.aim})` : ' (no AIM id)'}${x.gtin ? `  GTIN ${x.gtin}` : ''}\n`
            : `  REJECTED ${x.raw}  ${x.reason}\n`,
        );
      },
      enter.pressed,
    );
  } finally {
    enter.stop();
  }
  const ok = reads.filter((r) => r.accepted).length;
  const rejected = reads.length - ok;
  if (reads.length === 0)
    return [{ name: 'scan', ok: false, detail: `no scan from ${d.name} within ${timeoutS} s: check the cable and that the scanner beeps`, result: reads }];
  return [
    {
      name: 'scan',
      ok: ok > 0,
      detail: ok
        ? `${ok} code${ok === 1 ? '' : 's'} read${rejected ? `, ${rejected} rejected (see why above: the scanner's suffix, AIM ids or check digits)` : ''}`
        : `${d.name} read ${rejected} code${rejected === 1 ? '' : 's'}, the lane rejected each (see why above: the scanner's suffix, AIM ids or check digits)`,
      result: reads,
    },
  ];
}

/** The tolerance a test mass passes within: the device's testToleranceG from the lane's config, else 0.5 % and at least 5 g. */
function toleranceFor(ctx: CliContext, device: string, grams: number): number {
  try {
    const file = readRuntime(ctx.stateDir) as { configFile?: string };
    const configured = deviceConfigs(loadConfig(file.configFile))[device]?.testToleranceG;
    if (typeof configured === 'number') return configured;
  } catch {
    // the config cannot be read here: the default
  }
  return Math.max(5, grams * 0.005);
}

/** Scales: the technician puts a known test mass on; the weighing must be within the tolerance of it. */
async function weighTestMass(ctx: CliContext, c: MqttClient, d: Listed, type: 'WeightHasChanged' | 'ProduceWeighed', timeoutS: number): Promise<Check> {
  let grams: number;
  if (typeof ctx.flags.grams === 'string') grams = gramsOf(ctx.flags.grams);
  else {
    const input = lines('selftest');
    try {
      grams = gramsOf(await input.next(`test mass for ${d.name}: type its mass in grams and press Enter `));
    } finally {
      input.close();
    }
  }
  const tolerance = toleranceFor(ctx, d.name, grams);
  const ev = await nextEvent(c, d.name, [type], timeoutS * 1000, () =>
    process.stderr.write(`put the ${grams} g test mass on the empty ${d.name} within ${timeoutS} s\n`),
  );
  if (!ev) return { name: 'weigh', ok: false, detail: `no stable weight from ${d.name} within ${timeoutS} s: check the platter moves freely and the wiring` };
  const { grams: measured, ...reading } = ev.data;
  const error = measured - grams;
  const ok = Math.abs(error) <= tolerance;
  const pct = ((error / grams) * 100).toFixed(2);
  return {
    name: 'weigh',
    ok,
    detail: `${d.name} weighed ${measured} g with ${grams} g on it: error ${error >= 0 ? '+' : ''}${Math.round(error * 100) / 100} g (${error >= 0 ? '+' : ''}${pct} %), tolerance ±${tolerance} g${ok ? '' : `: OUTSIDE TOLERANCE, calibrate ${d.name}${hasCapability(d.kind, 'bagging-scale') ? ` (lanectl calibrate scale --device ${d.name})` : ' (a trade scale: by its service, on the scale itself)'}`}`,
    result: { expectedGrams: grams, grams: measured, errorGrams: error, toleranceGrams: tolerance, ...reading },
  };
}

/** A scale's `read` command: refused, or answered without the scale answering, fails. */
async function readScale(c: MqttClient, d: Listed, silent: string): Promise<Check> {
  const read = await run(c, d.name, 'read');
  const r = read.result as { answering?: boolean } | undefined;
  if (read.ok && !r?.answering) Object.assign(read, { ok: false, detail: `${d.name}: ${silent}` });
  return read;
}

/** The checks of one device, by what its kind can do (drivers/registry.ts). */
async function checksFor(ctx: CliContext, c: MqttClient, d: Listed, timeoutS: number): Promise<Check[]> {
  const can = (capability: Capability): boolean => hasCapability(d.kind, capability);
  if (can('scanner') && can('scale')) {
    const read = await readScale(c, d, 'the scale does not answer scale requests (S11/S14)');
    // the scanner scans even when its scale does not answer
    const scan = await readScans(ctx, c, d, timeoutS);
    return read.ok ? [read, ...scan, await weighTestMass(ctx, c, d, 'ProduceWeighed', timeoutS)] : [read, ...scan];
  }
  if (can('scanner')) return readScans(ctx, c, d, timeoutS);
  if (can('scale')) {
    const read = await readScale(c, d, 'the scale does not answer W requests');
    return read.ok ? [read, await weighTestMass(ctx, c, d, 'ProduceWeighed', timeoutS)] : [read];
  }
  if (can('bagging-scale')) {
    const read = await run(c, d.name, 'read');
    const r = read.result as { up?: boolean; state?: string } | undefined;
    if (read.ok && (!r?.up || r.state === 'notReady'))
      Object.assign(read, { ok: false, detail: `${d.name}: the ADC is not delivering readings (state ${r?.state ?? '?'})` });
    return read.ok ? [read, await weighTestMass(ctx, c, d, 'WeightHasChanged', timeoutS)] : [read];
  }
  if (can('light')) {
    let test: Promise<Check> | undefined;
    const ev = await nextEvent(c, d.name, ['OutputChanged'], timeoutS * 1000, () => {
      test = run(c, d.name, 'test');
      void test.then((r) => r.ok && process.stderr.write(`${d.name} blinks fast for 3 s: check that the lamp does\n`));
    });
    const drove: Check = ev
      ? { name: 'output', ok: true, detail: `${d.name} switched to ${ev.data.pattern}`, result: ev.data }
      : { name: 'output', ok: false, detail: `${d.name} did not report switching within ${timeoutS} s` };
    return [test ? await test : { name: 'test', ok: false, detail: 'not sent' }, drove];
  }
  if (can('input')) {
    const ev = await nextEvent(c, d.name, ['InputChanged'], timeoutS * 1000, () =>
      process.stderr.write(`operate ${d.name} (switch it on or off) within ${timeoutS} s\n`),
    );
    return [
      ev
        ? { name: 'input', ok: true, detail: `${d.name} changed`, result: ev.data }
        : { name: 'input', ok: false, detail: `${d.name} did not change within ${timeoutS} s: check wiring and the pin number` },
    ];
  }
  return [{ name: 'state', ok: d.state === 'ok', detail: `no self test for ${d.kind}; state ${d.state}` }];
}

/**
 * `lanectl selftest <device>`: the device's driver commands and, for inputs
 * (scanners, scales, switches), the next reading within --timeout seconds,
 * after a prompt on stderr saying what to do.
 */
export const selftest: CliCommand = {
  usage: '<device> [--timeout S] [--grams G]',
  help: 'test one device: a scale weighs a known test mass (--grams, asked if absent) within its tolerance; a scanner shows every read and why one is rejected until the timeout; the lamp blinks; a switch changes',
  async run(ctx) {
    const name = ctx.args[0];
    if (!name) throw new CliError('selftest <device> [--timeout S] [--grams G] (device names: lanectl devices)', EXIT.usage);
    const timeoutS = ctx.flags.timeout === undefined ? 30 : Number(ctx.flags.timeout);
    if (!Number.isFinite(timeoutS) || timeoutS <= 0) throw new CliError(`--timeout ${String(ctx.flags.timeout)}: seconds, above 0`, EXIT.usage);
    const report = await withTechnician(ctx, async (c) => {
      const list = (await request(c, 'devices', 'List')) as Listed[];
      const d = list.find((x) => x.name === name);
      if (!d) throw new CliError(`no device ${name} on this lane (devices: ${list.map((x) => x.name).join(', ')})`, EXIT.dataErr);
      const checks: Check[] = [{ name: 'state', ok: d.state === 'ok', detail: `${d.state}${d.detail ? `: ${d.detail}` : ''}` }];
      if (d.state === 'ok' || d.state === 'degraded') checks.push(...(await checksFor(ctx, c, d, timeoutS)));
      return { device: d.name, kind: d.kind, simulated: d.simulated, ok: checks.every((x) => x.ok), checks };
    });
    print(ctx, report, () =>
      [
        `${report.device} (${report.kind}${report.simulated ? ', simulated' : ''}): ${report.ok ? 'PASS' : 'FAIL'}`,
        ...report.checks.map((x) => `  ${x.ok ? 'ok  ' : 'FAIL'} ${x.name}: ${x.detail}`),
      ].join('\n'),
    );
    return report.ok ? EXIT.ok : EXIT.failed;
  },
};
