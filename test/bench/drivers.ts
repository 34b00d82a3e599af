// Driver benchmarks: the NAU7802 pipeline's CPU at 320 samples/s and the scanner parser's throughput.
// Run as its own process (`node dist/test/bench/drivers.js` prints JSON): process.cpuUsage()
// counts the whole process, and npm run bench's main process carries what earlier benches left.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Nau7802Scale, Nau7802Schema, type Nau7802Config } from '../../drivers/i2c/nau7802.js';
import { parseConfig } from '../../drivers/config.js';
import { fakeNau7802Bus } from '../../drivers/sim/fake-i2c.js';
import { simEnv } from '../../drivers/sim/env.js';
import { Recorder } from '../../drivers/sim/record.js';
import { realTimers } from '../../drivers/timers.js';
import { Framer } from '../../drivers/serial/framer.js';
import { decodeBarcode } from '../../drivers/barcode/barcode.js';
import { RCN_LAYOUTS } from '../../drivers/barcode/rcn.js';

/** % of one core used by the real NAU7802 driver at 320 SPS on the fake bus, over `seconds`. */
export async function nau7802Cpu(seconds = 5): Promise<{ percent: number; samples: number }> {
  const parsed = parseConfig(Nau7802Schema, { kind: 'nau7802', sampleRate: 320 }, 'devices.bagscale');
  if (!parsed.ok) throw new Error(parsed.problem);
  const stateDir = mkdtempSync(join(tmpdir(), 'laned-bench-nau-'));
  writeFileSync(join(stateDir, 'bagscale.calibration.json'), JSON.stringify({ version: 1, device: 'bagscale', zeroCounts: 120000, countsPerGram: 50 }));
  const { bus, chip } = fakeNau7802Bus({ timers: realTimers, countsPerGram: 50, zeroCounts: 120000, noiseCounts: 2, seed: 1 });
  const env = simEnv({ timers: realTimers, stateDir, i2c: { open: async () => bus } });
  const rec = new Recorder<Nau7802Config>('bagscale', parsed.config, () => Date.now());
  const driver = new Nau7802Scale(rec.ctx, env);
  await driver.start();
  await new Promise((r) => setTimeout(r, 1000));
  const before = process.cpuUsage();
  const samples0 = chip.samplesRead;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu = process.cpuUsage(before);
  const wallUs = Number(process.hrtime.bigint() - t0) / 1000;
  const samples = chip.samplesRead - samples0;
  await driver.stop();
  return { percent: ((cpu.user + cpu.system) / wallUs) * 100, samples };
}

/** Framer + decoder over a mix of EAN-13, RCN and GS1-128 codes, in codes/s. */
export function scannerThroughput(n = 200_000): number {
  const codes = ['4006381333931', '2812347012503', ']C1010950110153000317ABC123\x1d15251231', ']E05449000000996', '0012345678905'];
  const framer = new Framer({ suffix: Buffer.from('\r'), maxLength: 256 });
  const rcn = RCN_LAYOUTS.de;
  const chunk = Buffer.from(codes.map((c) => `${c}\r`).join(''));
  let decoded = 0;
  const t0 = process.hrtime.bigint();
  while (decoded < n) {
    for (const f of framer.push(chunk)) {
      if (f.kind === 'frame') decodeBarcode(f.bytes.toString('latin1'), { rcn, eightDigits: 'ean8' });
      decoded += 1;
    }
  }
  return decoded / (Number(process.hrtime.bigint() - t0) / 1e9);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const nau = await nau7802Cpu(10);
  process.stdout.write(`${JSON.stringify({ nau, codesPerSec: scannerThroughput() })}\n`);
}
