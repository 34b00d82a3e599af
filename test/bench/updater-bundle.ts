/**
 * Bundle verify + unpack of the real x64 payload (image/payload.sh), numbers only:
 * `npm run build && node dist/test/bench/updater-bundle.js` (part of `npm run bench`).
 *
 * The payload is build/payload/laned-<version>-x64.tar.gz (built first when it is
 * missing; PAYLOAD=FILE.tar.gz to use another). Prints the time to sign a bundle,
 * and to check it and unpack it into the inactive slot of a temporary slots root
 * (the manifest check, the payload hashed while unpacked, syncfs, the swap): three
 * runs, each into a fresh root.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../daemon/core/paths.js';
import { writeBundle } from '../../daemon/updater/bundle.js';
import { bundleName } from '../../daemon/updater/manifest.js';
import { keyPair, slotsRoot, stager } from '../helpers/bundle.js';
import { tempDir } from '../helpers/daemon.js';

function payload(): string {
  if (process.env.PAYLOAD) return process.env.PAYLOAD;
  const version = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const file = join(PACKAGE_ROOT, 'build', 'payload', `laned-${version}-x64.tar.gz`);
  if (!existsSync(file)) {
    process.stderr.write(`bench: ${file} missing: building it (image/payload.sh --arch x64)\n`);
    execFileSync('bash', [join(PACKAGE_ROOT, 'image', 'payload.sh'), '--arch', 'x64'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return file;
}

const ms = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1e6;

async function main(): Promise<void> {
  const payloadFile = payload();
  const size = statSync(payloadFile).size;
  const key = keyPair('bench');
  const out = join(tempDir('laned-bench-bundle-'), bundleName('9.0.0', 'x64'));
  let from = process.hrtime.bigint();
  await writeBundle({ payloadFile, out, privateKey: key.privateKey, keyId: key.id, version: '9.0.0', compatible: 'laned/x64', minVersion: '0.0.0' });
  console.log(`bundle: ${(size / 1048576).toFixed(1)} MiB payload (${payloadFile}), signed in ${ms(from).toFixed(0)} ms`);
  for (let run = 1; run <= 3; run++) {
    const root = slotsRoot();
    const { stager: s } = stager(root, [key], { maxBytes: 1 << 30 });
    from = process.hrtime.bigint();
    const staged = await s.stage(out);
    const took = ms(from);
    const files = Number(
      execFileSync('find', [join(root, 'slots', staged.slot), '-type', 'f'])
        .toString()
        .split('\n').length - 1,
    );
    console.log(
      `verify + unpack, run ${run}: ${took.toFixed(0)} ms (${(size / 1048576 / (took / 1000)).toFixed(1)} MiB/s of bundle, ${files} files into slot ${staged.slot})`,
    );
    rmSync(root, { recursive: true, force: true });
  }
  rmSync(out, { force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
