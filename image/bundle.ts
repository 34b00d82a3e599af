/**
 * Build a signed update bundle (daemon/updater/bundle.ts says what is in it).
 *
 *   npm run bundle -- --key KEY.key [--arch arm64|x64] [--out DIR] [--payload FILE.tar.gz]
 *                     [--key-id ID] [--min-version V] [--expires-days N] [--allow-downgrade]
 *
 * Without --payload it builds the payload first (image/payload.sh --arch ARCH, under
 * DIR/payload). The key is an Ed25519 private key in PEM (`lanectl update keygen`);
 * its id defaults to the key file's name without .key/.pem and must be one of the
 * lanes' `updater.keys`. Writes DIR/laned-<version>-<arch>.bundle (DIR: build/bundle)
 * and prints its path.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { arch as hostArch } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadSigningKey, writeBundle } from '../daemon/updater/bundle.js';
import { bundleName, ownCompatible } from '../daemon/updater/manifest.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function die(message: string): never {
  process.stderr.write(`bundle: ${message}\n`);
  process.exit(1);
}

const { values } = parseArgs({
  options: {
    key: { type: 'string' },
    'key-id': { type: 'string' },
    arch: { type: 'string', default: hostArch() === 'arm64' ? 'arm64' : 'x64' },
    out: { type: 'string', default: join(ROOT, 'build', 'bundle') },
    payload: { type: 'string' },
    'min-version': { type: 'string', default: '0.0.0' },
    'expires-days': { type: 'string', default: '90' },
    'allow-downgrade': { type: 'boolean', default: false },
  },
});
if (!values.key) die('--key KEY.key is required (an Ed25519 private key: lanectl update keygen ID)');
const arch = values.arch!;
if (arch !== 'arm64' && arch !== 'x64') die(`--arch ${arch}: use arm64 or x64`);
const days = Number(values['expires-days']);
if (!Number.isFinite(days) || days <= 0) die(`--expires-days ${values['expires-days']}: a number of days > 0`);
let pem: string;
try {
  pem = readFileSync(values.key, 'utf8');
} catch (err) {
  die(`cannot read ${values.key} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
}
let privateKey;
try {
  privateKey = loadSigningKey(pem, values.key);
} catch (err) {
  die((err as Error).message);
}
const keyId = values['key-id'] ?? basename(values.key).replace(/\.(key|pem)$/, '');
const out = resolve(values.out!);
await mkdir(out, { recursive: true });
const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
let payloadFile = values.payload ? resolve(values.payload) : undefined;
if (!payloadFile) {
  process.stderr.write(`bundle: building the ${arch} payload (image/payload.sh)\n`);
  const dest = execFileSync('bash', [join(ROOT, 'image', 'payload.sh'), '--arch', arch, '--out', join(out, 'payload')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
    .toString()
    .trim()
    .split('\n')
    .at(-1)!;
  payloadFile = `${dest}.tar.gz`;
}
const created = new Date();
const file = join(out, bundleName(version, arch));
const manifest = await writeBundle({
  payloadFile,
  out: file,
  privateKey,
  keyId,
  version,
  compatible: ownCompatible(arch),
  minVersion: values['min-version']!,
  created,
  expires: new Date(created.getTime() + days * 86_400_000),
  allowDowngrade: values['allow-downgrade'],
});
process.stderr.write(
  `bundle: ${file}: ${manifest.compatible} ${manifest.version}, payload ${manifest.payload.size} bytes, signed by ${keyId}, expires ${manifest.expires}\n`,
);
process.stdout.write(`${file}\n`);
