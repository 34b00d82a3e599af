/**
 * The manifest of an update bundle and its Ed25519 signature (RFC 8032, through
 * node:crypto): what a bundle claims to be, checked before a byte of it is written.
 */
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { parseConfig } from '../../drivers/config.js';
import type { TrustedKey } from './settings.js';

export const BUNDLE_FORMAT = 1;
/** The entries of a bundle (a tar), in this order. */
export const MANIFEST_ENTRY = 'manifest.json';
export const SIGNATURE_ENTRY = 'manifest.sig';
export const PAYLOAD_ENTRY = 'payload.tar.gz';

const VERSION_PATTERN = '^\\d{1,9}\\.\\d{1,9}\\.\\d{1,9}(-[0-9A-Za-z.-]{1,32})?$';

export const ManifestSchema = Type.Object(
  {
    format: Type.Literal(BUNDLE_FORMAT),
    /** What the bundle runs on: `laned/x64`, `laned/rpi-arm64`. */
    compatible: Type.String({ pattern: '^laned/[a-z0-9-]{1,32}$' }),
    version: Type.String({ pattern: VERSION_PATTERN }),
    /** The lane must run at least this version to take the bundle. */
    min_version: Type.String({ pattern: VERSION_PATTERN }),
    created: Type.String({ minLength: 20, maxLength: 40 }),
    expires: Type.String({ minLength: 20, maxLength: 40 }),
    payload: Type.Object({ sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }), size: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
    keyId: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
    /** Accept it even when it is older than what runs (a deliberate step back). */
    allow_downgrade: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type Manifest = Static<typeof ManifestSchema>;

/** Why a bundle is not taken: one code per check, for metrics and tests; the message says it in words. */
export type RefusalCode =
  | 'bad-bundle'
  | 'truncated'
  | 'too-large'
  | 'bad-manifest'
  | 'unknown-key'
  | 'revoked-key'
  | 'bad-signature'
  | 'expired'
  | 'incompatible'
  | 'not-newer'
  | 'below-min-version'
  | 'payload-hash'
  | 'unsafe-entry'
  | 'no-space'
  | 'busy'
  | 'io';

/** A bundle the updater will not stage; nothing of it was kept. */
export class UpdateRefused extends Error {
  override name = 'UpdateRefused';
  constructor(
    readonly code: RefusalCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The `compatible` of this machine: what bundles it takes. */
export function ownCompatible(arch: string = process.arch): string {
  return arch === 'arm64' ? 'laned/rpi-arm64' : `laned/${arch}`;
}

/** The bundle's file name. */
export function bundleName(version: string, arch: string): string {
  return `laned-${version}-${arch}.bundle`;
}

interface Parsed {
  nums: [number, number, number];
  pre: string[];
}

function parseVersion(v: string): Parsed | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/.exec(v);
  if (!m) return undefined;
  return { nums: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ? m[4].split('.') : [] };
}

/** Semantic Versioning 2.0.0 §11 precedence: <0, 0, >0. An unparsable version sorts first. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) return pa ? 1 : pb ? -1 : 0;
  for (let i = 0; i < 3; i++) if (pa.nums[i] !== pb.nums[i]) return pa.nums[i]! - pb.nums[i]!;
  // §11.3: a pre-release sorts before the release
  if (pa.pre.length === 0 || pb.pre.length === 0) return pb.pre.length - pa.pre.length;
  for (let i = 0; i < Math.min(pa.pre.length, pb.pre.length); i++) {
    const x = pa.pre[i]!;
    const y = pb.pre[i]!;
    if (x === y) continue;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    // §11.4: numeric identifiers numerically, before alphanumeric ones
    if (nx && ny) return Number(x) - Number(y);
    if (nx !== ny) return nx ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return pa.pre.length - pb.pre.length;
}

/** The exact bytes that are signed. */
export function manifestBytes(m: Manifest): Buffer {
  return Buffer.from(`${JSON.stringify(m, null, 2)}\n`, 'utf8');
}

export function signManifest(bytes: Buffer, privateKey: KeyObject): Buffer {
  // Ed25519 takes no digest name (node:crypto: algorithm null)
  return sign(null, bytes, privateKey);
}

export interface ManifestChecks {
  keys: TrustedKey[];
  revokedKeys: readonly string[];
  /** This machine's `compatible`. */
  compatible: string;
  /** The version the lane runs now. */
  runningVersion: string;
  now: Date;
}

/**
 * Check a manifest and its signature, in order: the key (known, not revoked),
 * the signature over the exact bytes, the fields, expiry, `compatible`, version
 * order (`allow_downgrade`), `min_version`. Throws UpdateRefused; returns the
 * manifest and the sha256 of its bytes.
 */
export function checkManifest(bytes: Buffer, signature: Buffer, c: ManifestChecks): { manifest: Manifest; sha256: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new UpdateRefused('bad-manifest', `${MANIFEST_ENTRY} is not JSON (${(err as Error).message})`);
  }
  const keyId = typeof doc === 'object' && doc !== null ? (doc as { keyId?: unknown }).keyId : undefined;
  if (typeof keyId !== 'string') throw new UpdateRefused('bad-manifest', `${MANIFEST_ENTRY} names no keyId`);
  if (c.revokedKeys.includes(keyId)) throw new UpdateRefused('revoked-key', `signed with key ${JSON.stringify(keyId)}, which is revoked (updater.revokedKeys)`);
  const key = c.keys.find((k) => k.id === keyId);
  if (!key) {
    const known = c.keys.map((k) => k.id).join(', ') || 'none';
    throw new UpdateRefused('unknown-key', `signed with key ${JSON.stringify(keyId)}, which this lane does not trust (updater.keys: ${known})`);
  }
  let ok: boolean;
  try {
    ok = signature.length === 64 && verify(null, bytes, key.key, signature);
  } catch {
    ok = false;
  }
  if (!ok)
    throw new UpdateRefused(
      'bad-signature',
      `the signature of ${MANIFEST_ENTRY} does not verify with key ${JSON.stringify(keyId)}: the bundle was changed or signed with another key`,
    );
  const parsed = parseConfig(ManifestSchema, doc, 'manifest');
  if (!parsed.ok) throw new UpdateRefused('bad-manifest', `${MANIFEST_ENTRY}: ${parsed.problem}`);
  const m = parsed.config;
  const expires = Date.parse(m.expires);
  if (!Number.isFinite(expires)) throw new UpdateRefused('bad-manifest', `${MANIFEST_ENTRY}: expires ${JSON.stringify(m.expires)} is not a date`);
  if (c.now.getTime() > expires)
    throw new UpdateRefused('expired', `bundle ${m.version} expired at ${m.expires} (now ${c.now.toISOString()}): ask store IT for a fresh one`);
  if (m.compatible !== c.compatible) throw new UpdateRefused('incompatible', `bundle ${m.version} is for ${m.compatible}; this lane is ${c.compatible}`);
  if (compareVersions(m.version, c.runningVersion) <= 0 && !m.allow_downgrade) {
    throw new UpdateRefused(
      'not-newer',
      `bundle ${m.version} is not newer than the running ${c.runningVersion} (a step back needs allow_downgrade in the manifest)`,
    );
  }
  if (compareVersions(c.runningVersion, m.min_version) < 0) {
    throw new UpdateRefused(
      'below-min-version',
      `bundle ${m.version} needs at least ${m.min_version} running; this lane runs ${c.runningVersion}: install the versions between first`,
    );
  }
  return { manifest: m, sha256: createHash('sha256').update(bytes).digest('hex') };
}
