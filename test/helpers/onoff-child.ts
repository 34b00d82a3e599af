/**
 * Run by test/drivers/gpio/onoff.test.ts inside a private mount namespace whose
 * /sys/class/gpio is a FakeSysfs tree: the real GPIO drivers on the real onoff,
 * exactly as on a board. Prints one JSON line of what the files showed.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GpioOutput, GpioOutputSchema, type GpioOutputConfig } from '../../drivers/gpio/output.js';
import { realGpioEnv } from '../../drivers/gpio/line.js';
import { parseConfig } from '../../drivers/config.js';
import { realEnv } from '../../drivers/env.js';
import { Recorder } from '../../drivers/sim/record.js';
import { until } from './wait.js';

const ROOT = '/sys/class/gpio';
const file = (line: number, name: string): string => readFileSync(join(ROOT, `gpio${line}`, name), 'utf8').trim();
/** Whether gpio<line> is still exported once the fake sysfs has taken in the unexport (it answers asynchronously), or after 5 s. */
async function stillExported(line: number): Promise<boolean> {
  await until(() => !existsSync(join(ROOT, `gpio${line}`)), 5000).catch(() => undefined);
  return existsSync(join(ROOT, `gpio${line}`));
}

async function lamp(bcm: number, line: number, activeLow: boolean) {
  const parsed = parseConfig(GpioOutputSchema, { kind: 'gpio-output', bcm, activeLow }, 'devices.light');
  if (!parsed.ok) throw new Error(parsed.problem);
  const rec = new Recorder<GpioOutputConfig>('light', parsed.config, () => Date.now());
  const driver = new GpioOutput(rec.ctx, realEnv({ stateDir: '/nonexistent' }));
  await driver.start();
  const r: Record<string, unknown> = {
    state: driver.status().state,
    detail: driver.status().detail,
    direction: file(line, 'direction'),
    atStart: file(line, 'value'),
  };
  await driver.set('on');
  r.on = file(line, 'value');
  await driver.set('off');
  r.off = file(line, 'value');
  await driver.set('blink');
  // both levels within 5 s (what the value file showed is the result; the parent asserts it)
  const seen = new Set<string>();
  await until(() => seen.add(file(line, 'value')).size === 2, 5000).catch(() => undefined);
  r.blink = [...seen].sort();
  await driver.stop();
  r.exportedAfterStop = await stillExported(line);
  return r;
}

async function input(line: number) {
  const l = await realGpioEnv.open({ sysfs: line, direction: 'in', edge: 'both' });
  const r: Record<string, unknown> = { direction: file(line, 'direction'), edge: file(line, 'edge') };
  writeFileSync(join(ROOT, `gpio${line}`, 'value'), '1\n'); // the key switch turned, as the circuit would
  r.high = await l.read();
  writeFileSync(join(ROOT, `gpio${line}`, 'value'), '0\n');
  r.low = await l.read();
  l.close();
  r.exportedAfterClose = await stillExported(line);
  return r;
}

const result = { lamp: await lamp(17, 529, false), activeLow: await lamp(27, 539, true), input: await input(534) };
process.stdout.write(`${JSON.stringify(result)}\n`);
