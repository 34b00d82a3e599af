/**
 * Writing an update bundle: a tar of `manifest.json`, `manifest.sig` (the raw
 * 64-byte Ed25519 signature of the manifest's exact bytes) and `payload.tar.gz`
 * (the payload image/payload.sh builds), in that order, so that a reader has
 * checked the manifest before the payload's first byte arrives.
 *
 * Check one by hand: `tar -xf B manifest.json manifest.sig && openssl pkeyutl
 * -verify -pubin -inkey KEY.pub -rawin -in manifest.json -sigfile manifest.sig`.
 */
import { createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdtemp, rm, stat, writeFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { create as tarCreate } from 'tar';
import { BUNDLE_FORMAT, MANIFEST_ENTRY, manifestBytes, PAYLOAD_ENTRY, SIGNATURE_ENTRY, signManifest, type Manifest } from './manifest.js';

export interface BundleSpec {
  /** The payload tarball (.tar.gz with one top folder, as image/payload.sh makes it). */
  payloadFile: string;
  /** Where the bundle goes (the file). */
  out: string;
  privateKey: KeyObject;
  keyId: string;
  version: string;
  compatible: string;
  minVersion: string;
  created?: Date;
  /** Default: 90 days after `created`. */
  expires?: Date;
  allowDowngrade?: boolean;
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Read a PEM private key and check that it is Ed25519 (`lanectl update keygen` makes one). */
export function loadSigningKey(pem: string, where: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`${where}: not a PEM private key (${(err as Error).message})`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${where}: a ${key.asymmetricKeyType} key; bundles are signed with Ed25519 (lanectl update keygen)`);
  return key;
}

/** Make the bundle; returns its manifest. */
export async function writeBundle(s: BundleSpec): Promise<Manifest> {
  const created = s.created ?? new Date();
  const expires = s.expires ?? new Date(created.getTime() + 90 * 86_400_000);
  const manifest: Manifest = {
    format: BUNDLE_FORMAT,
    compatible: s.compatible,
    version: s.version,
    min_version: s.minVersion,
    created: created.toISOString(),
    expires: expires.toISOString(),
    payload: { sha256: await sha256File(s.payloadFile), size: (await stat(s.payloadFile)).size },
    keyId: s.keyId,
    ...(s.allowDowngrade ? { allow_downgrade: true } : {}),
  };
  const bytes = manifestBytes(manifest);
  const dir = await mkdtemp(join(tmpdir(), 'laned-bundle-'));
  try {
    await writeFile(join(dir, MANIFEST_ENTRY), bytes);
    await writeFile(join(dir, SIGNATURE_ENTRY), signManifest(bytes, s.privateKey));
    await copyFile(s.payloadFile, join(dir, PAYLOAD_ENTRY));
    const tmp = join(dirname(s.out), `.${manifest.version}.bundle.tmp`);
    await tarCreate({ file: tmp, cwd: dir, portable: true, mtime: created }, [MANIFEST_ENTRY, SIGNATURE_ENTRY, PAYLOAD_ENTRY]);
    await rename(tmp, s.out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return manifest;
}
