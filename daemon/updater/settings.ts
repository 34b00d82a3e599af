import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { WINDOW_PATTERN } from './window.js';

const KeyId = Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' });

/** `updater` in the config: where the slots are and which bundle signatures the lane trusts. */
export const UpdaterSettings = Type.Object(
  {
    /** The folder holding slots/{a,b}, current and updater.json; unset: above slots/ when laned runs from a slot, else <state>/updater. */
    root: Type.Optional(Type.String({ minLength: 1 })),
    /** Ed25519 public keys whose signatures are accepted, each with the id bundles name (two or more while rotating). */
    keys: Type.Array(
      Type.Object(
        {
          id: KeyId,
          /** A PEM public key (`lanectl update keygen` prints it) ... */
          publicKey: Type.Optional(Type.String({ minLength: 1 })),
          /** ... or a file holding one (relative to the config file). */
          file: Type.Optional(Type.String({ minLength: 1 })),
        },
        { additionalProperties: false },
      ),
      { default: [], maxItems: 16 },
    ),
    /** Key ids no longer trusted, even when still listed under keys. */
    revokedKeys: Type.Array(KeyId, { default: [], maxItems: 64 }),
    /** The largest bundle accepted (downloaded, dropped into the inbox or applied), in MiB. */
    maxBundleMB: Type.Integer({ minimum: 1, maximum: 4096, default: 512 }),
    /** Local time when a staged version may be switched to, `02:00-05:00` (an en dash works too; it may wrap midnight), or `any`. */
    window: Type.String({ pattern: WINDOW_PATTERN, default: 'any' }),
    /** Starts a new version gets to reach READY and stay healthy before the lane goes back to the last good one. */
    tries: Type.Integer({ minimum: 1, maximum: 10, default: 3 }),
    /** How long a new version must stay healthy after READY to be marked good. */
    trialSeconds: Type.Number({ minimum: 0, maximum: 86_400, default: 120 }),
    /** An idle lease not used for the switch within this is given back (the lane opens again). */
    leaseSeconds: Type.Number({ exclusiveMinimum: 0, maximum: 3600, default: 60 }),
  },
  { additionalProperties: false, default: {} },
);

export type UpdaterSettings = Static<typeof UpdaterSettings>;

/** `file`s made absolute against `base` (the config file's folder), at load. */
export function resolveKeyFiles(settings: UpdaterSettings, base: string): UpdaterSettings {
  return { ...settings, keys: settings.keys.map((k) => (k.file !== undefined && !isAbsolute(k.file) ? { ...k, file: resolve(base, k.file) } : k)) };
}

export interface TrustedKey {
  id: string;
  key: KeyObject;
}

/**
 * The trusted keys, each read and checked to be an Ed25519 public key. Returns
 * the keys or the problems, each naming `updater.keys[i]` (config load turns them
 * into exit 78). `base` resolves relative `file`s (the config file's folder).
 */
export function trustedKeys(settings: UpdaterSettings, base: string): { keys: TrustedKey[]; problems: string[] } {
  const keys: TrustedKey[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  settings.keys.forEach((k, i) => {
    const where = `updater.keys[${i}] (${k.id})`;
    if (seen.has(k.id)) problems.push(`${where}: id listed twice`);
    seen.add(k.id);
    if ((k.publicKey === undefined) === (k.file === undefined)) {
      problems.push(`${where}: give exactly one of publicKey (the PEM text) or file (a path to it)`);
      return;
    }
    let pem = k.publicKey;
    if (k.file !== undefined) {
      const path = isAbsolute(k.file) ? k.file : resolve(base, k.file);
      try {
        pem = readFileSync(path, 'utf8');
      } catch (err) {
        problems.push(`${where}.file: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        return;
      }
    }
    try {
      const key = createPublicKey(pem!);
      if (key.asymmetricKeyType !== 'ed25519') {
        problems.push(`${where}: a ${key.asymmetricKeyType} key; bundles are signed with Ed25519 (lanectl update keygen)`);
        return;
      }
      keys.push({ id: k.id, key });
    } catch (err) {
      problems.push(`${where}: not a PEM public key (${(err as Error).message}); lanectl update keygen prints one`);
    }
  });
  return { keys, problems };
}
