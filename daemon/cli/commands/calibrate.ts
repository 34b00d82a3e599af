import { createInterface, type Interface } from 'node:readline';
import type { MqttClient } from 'mqtt';
import { CliError, EXIT, request } from '../client.js';
import { print, withTechnician, type CliCommand, type CliContext } from '../context.js';
import type { DeviceStatus } from '../../../drivers/driver.js';
import { hasCapability } from '../../../drivers/registry.js';
import { laneDoc, technicianName } from '../lane-doc.js';

const USAGE = 'calibrate scale [--device D] [--grams G] [--force] | calibrate <device> zero [--force] | calibrate <device> span <grams> [--force]';

/** Kinds whose calibration lives in the scale itself (sealed, legal for trade): zero/tare only. */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Run a device command, retrying while the driver says the scale is not stable yet. */
async function runSettled(c: MqttClient, device: string, command: string, args: Record<string, unknown> | undefined, timeoutMs: number): Promise<unknown> {
  const until = Date.now() + timeoutMs;
  let said = false;
  for (;;) {
    try {
      return await request(c, 'devices', 'Run', { device, command, ...(args && Object.keys(args).length ? { args } : {}) }, 10_000, technicianName());
    } catch (err) {
      if (!(err instanceof CliError) || !/not stable/.test(err.message) || Date.now() > until) throw err;
      if (!said) process.stderr.write('waiting for the platter to settle...\n');
      said = true;
      await sleep(300);
    }
  }
}

/**
 * A calibration moves the weights the bagging area checks items against: refused while a
 * transaction is open (doc/lane), unless forced; a forced one asks for the attendant with
 * the reason, so the attendant's screen shows it. Returns the arguments the driver and the
 * ScaleCalibrated event get.
 */
export async function transactionGuard(ctx: CliContext, c: MqttClient, device: string): Promise<Record<string, unknown>> {
  const force = ctx.flags.force === true;
  const txn = (await laneDoc(c, 3000))?.txn ?? undefined;
  if (txn && !force) {
    throw new CliError(
      `transaction ${txn} is open on the lane: calibrating ${device} now would change the weights its items are checked against; wait until it is paid or cancelled (lanectl status), or pass --force (the attendant's screen is told)`,
      EXIT.failed,
    );
  }
  if (txn) {
    try {
      await request(
        c,
        'attendant',
        'Call',
        { by: technicianName(), reason: `Technician calibrates ${device} during ${txn} (--force): check the bagging area` },
        10_000,
        technicianName(),
      );
    } catch (err) {
      process.stderr.write(`could not tell the attendant's screen: ${(err as Error).message}\n`);
    }
  }
  return { ...(force ? { force: true } : {}), ...(txn ? { txn } : {}) };
}

async function pickScale(c: MqttClient, wanted: string | undefined): Promise<DeviceStatus> {
  const list = (await request(c, 'devices', 'List')) as DeviceStatus[];
  if (wanted) {
    const d = list.find((x) => x.name === wanted);
    if (!d) throw new CliError(`no device ${wanted} on this lane (devices: ${list.map((x) => x.name).join(', ')})`, EXIT.dataErr);
    if (hasCapability(d.kind, 'scale')) {
      throw new CliError(
        `${d.name} (${d.kind}) is calibrated on the scale itself (sealed, legal for trade); lanectl can zero or tare it: lanectl devices ${d.name} zero|tare|clear-tare`,
        EXIT.failed,
      );
    }
    if (!hasCapability(d.kind, 'bagging-scale')) throw new CliError(`${d.name} is a ${d.kind}, not a scale`, EXIT.dataErr);
    return d;
  }
  const scales = list.filter((x) => hasCapability(x.kind, 'bagging-scale'));
  if (scales.length === 0) throw new CliError('this lane has no load-cell scale to calibrate (a bagging scale)', EXIT.failed);
  if (scales.length > 1) throw new CliError(`several scales (${scales.map((x) => x.name).join(', ')}): pass --device`, EXIT.usage);
  return scales[0]!;
}

/** Answers typed on stdin, one line per prompt (written to stderr). */
export function lines(what = 'calibration'): { next(prompt: string): Promise<string>; close(): void } {
  let rl: Interface | undefined;
  const queue: string[] = [];
  const waiting: Array<(l: string | undefined) => void> = [];
  let ended = false;
  const open = (): Interface => {
    if (rl) return rl;
    rl = createInterface({ input: process.stdin, terminal: false });
    rl.on('line', (l) => (waiting.length ? waiting.shift()!(l) : queue.push(l)));
    rl.on('close', () => {
      ended = true;
      for (const w of waiting.splice(0)) w(undefined);
    });
    return rl;
  };
  return {
    async next(prompt) {
      open();
      process.stderr.write(prompt);
      const l = queue.length ? queue.shift() : ended ? undefined : await new Promise<string | undefined>((r) => waiting.push(r));
      if (l === undefined) throw new CliError(`${what} aborted: input ended before the step was confirmed`, EXIT.failed);
      if (!process.stdin.isTTY) process.stderr.write('\n');
      return l.trim();
    },
    close() {
      rl?.close();
    },
  };
}

export function gramsOf(text: string): number {
  const g = Number(text);
  if (!Number.isFinite(g) || g <= 0) throw new CliError(`"${text}" is not a mass in grams above 0`, EXIT.dataErr);
  return g;
}

/** Guided: empty platter -> calibrate-zero; known mass -> calibrate-span; then read it back. */
async function guided(ctx: CliContext, c: MqttClient, timeoutMs: number): Promise<{ ok: boolean; report: Record<string, unknown> }> {
  const d = await pickScale(c, typeof ctx.flags.device === 'string' ? ctx.flags.device : undefined);
  if (d.state !== 'ok')
    throw new CliError(`${d.name} is ${d.state}${d.detail ? `: ${d.detail}` : ''}; fix that first (lanectl selftest ${d.name})`, EXIT.failed);
  const preset = typeof ctx.flags.grams === 'string' ? gramsOf(ctx.flags.grams) : undefined;
  const extra = await transactionGuard(ctx, c, d.name);
  const input = lines();
  try {
    await input.next(`Step 1 of 2: take everything off ${d.name}, keep it still, then press Enter `);
    const zero = await runSettled(c, d.name, 'calibrate-zero', extra, timeoutMs);
    process.stderr.write(`zero saved\n`);
    const answer = await input.next(`Step 2 of 2: put a known mass on ${d.name}, then type its mass in grams${preset ? ` [${preset}]` : ''} and press Enter `);
    const grams = answer === '' && preset ? preset : gramsOf(answer);
    const span = await runSettled(c, d.name, 'calibrate-span', { grams, ...extra }, timeoutMs);
    process.stderr.write('span saved; reading back...\n');
    await sleep(500);
    const read = (await request(c, 'devices', 'Run', { device: d.name, command: 'read' })) as { grams?: number; state?: string };
    // a reading within 1 % (or 2 g) of the mass just placed: the calibration took
    const tolerance = Math.max(2, grams * 0.01);
    const ok = typeof read.grams === 'number' && Math.abs(read.grams - grams) <= tolerance;
    return {
      ok,
      report: { device: d.name, zero, span, check: { expectedGrams: grams, grams: read.grams ?? null, state: read.state, toleranceGrams: tolerance, ok } },
    };
  } finally {
    input.close();
  }
}

/** `lanectl calibrate`: the bagging-area scale, guided or one step at a time. */
export const calibrate: CliCommand = {
  usage: 'scale [--device D] [--grams G] [--force] | <device> zero|span <g> [--force]',
  help: 'calibrate a load-cell scale: guided (empty, then a known mass) or one step',
  async run(ctx) {
    const [target, step, g] = ctx.args;
    const timeoutMs = (ctx.flags.timeout === undefined ? 30 : Number(ctx.flags.timeout)) * 1000;
    if (!target || !Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new CliError(USAGE, EXIT.usage);
    if (target === 'scale' && step === undefined) {
      const { ok, report } = await withTechnician(ctx, (c) => guided(ctx, c, timeoutMs));
      const check = report.check as { expectedGrams: number; grams: number | null; ok: boolean };
      print(
        ctx,
        report,
        () =>
          `${String(report.device)} calibrated: reads ${check.grams ?? '?'} g with ${check.expectedGrams} g on it${ok ? '' : ' - OUTSIDE TOLERANCE, calibrate again'}`,
      );
      return ok ? EXIT.ok : EXIT.failed;
    }
    if (step !== 'zero' && step !== 'span') throw new CliError(USAGE, EXIT.usage);
    const grams = step === 'span' ? gramsOf(g ?? '') : undefined;
    const result = await withTechnician(ctx, async (c) => {
      const d = await pickScale(c, target);
      const extra = await transactionGuard(ctx, c, d.name);
      return runSettled(c, d.name, step === 'zero' ? 'calibrate-zero' : 'calibrate-span', { ...(grams === undefined ? {} : { grams }), ...extra }, timeoutMs);
    });
    print(ctx, { device: target, step, result }, () => `${target}: ${step} saved ${JSON.stringify(result)}`);
  },
};
