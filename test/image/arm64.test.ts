import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir } from '../helpers/daemon.js';
import { checkPayload, readManifest } from '../../image/check-payload.js';

// npm run check:arm64 as a test: the arm64 payload cross-compiled here, every native
// addon an aarch64 ELF that loads in the payload's Node, laned READY on the simulated
// lane under qemu-aarch64-static, a scan in doc/basket, a clean stop. The timings are
// printed, never asserted: emulation is not a Pi.

t.setTimeout(1_800_000);

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

t.test('the arm64 payload, under emulation', async (t) => {
  const out = tempDir('laned-payload-arm64-');
  const t0 = performance.now();
  const built = await new Promise<{ code: number; out: string; err: string }>((resolve) =>
    execFile('bash', [join(ROOT, 'image/payload.sh'), '--arch', 'arm64', '--out', out, '--no-tar'], { timeout: 1_500_000, maxBuffer: 8 << 20 }, (err, o, e) =>
      resolve({ code: err ? Number((err as { code?: unknown }).code ?? -1) : 0, out: String(o), err: String(e) }),
    ),
  );
  t.equal(built.code, 0, `payload.sh --arch arm64:\n${built.err.slice(-3000)}`);
  t.comment(`arm64 payload built (cross-compiled) in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const payload = join(out, `laned-${version}-arm64`);
  const m = readManifest(payload);
  t.equal(m.arch, 'arm64');
  t.equal(m.addons.length, 4, 'four native addons');
  const steps = await checkPayload(payload, { log: (l) => t.comment(l) });
  for (const s of steps) t.ok(s.ok, `${s.what}: ${s.detail}`);
  for (const a of m.addons)
    t.ok(
      steps.some((s) => s.ok && s.what === `addon ${a.path} is arm64 and loads`),
      `${a.path}: ELF aarch64, loads`,
    );
  t.ok(
    steps.some((s) => s.ok && s.what.startsWith('laned starts') && /laned ready in/.test(s.detail)),
    'READY under qemu',
  );
  t.ok(
    steps.some((s) => s.ok && s.what.includes('reaches doc/basket')),
    'the scan in doc/basket',
  );
  t.ok(
    steps.some((s) => s.ok && s.what.startsWith('laned stops cleanly')),
    'a clean stop',
  );
});
