import { randomBytes, scrypt as scryptCb, timingSafeEqual, createHash, createHmac, type ScryptOptions } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync, chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Roles, type Role } from '../daemon/config.js';

const scrypt = (pw: string, salt: Buffer, len: number, opts: ScryptOptions): Promise<Buffer> =>
  new Promise((resolve, reject) => scryptCb(pw, salt, len, opts, (err, key) => (err ? reject(err) : resolve(key))));

const N = 16384;
const R = 8;
const P = 1;

/** `scrypt$N$r$p$salt$hash`, base64 salt and hash, as `broker.credentials` holds. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, 32, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyHash(hash: string, password: string): Promise<boolean> {
  const [tag, n, r, p, salt, key] = hash.split('$');
  if (tag !== 'scrypt' || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const got = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 256 * Number(n) * Number(r) + 1024 * 1024,
  });
  return timingSafeEqual(got, expected);
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** The daemon's own roles: one password per client (clientId), derived from the role's secret. */
export const PER_CLIENT_ROLES: ReadonlySet<Role> = new Set(['driver', 'service']);

/** What a password proved: the role and, for a UI token, the clientId the token was issued for. */
export interface Verified {
  role: Role;
  /** A UI session token: only this clientId (and `<clientId>-cmd`) may use it. */
  tokenClientId?: string;
}

const same = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

/** HMAC-SHA256 of `<role>:<clientId>` under the role's secret (RFC 2104). */
function perClient(secret: string, role: Role, clientId: string): string {
  return createHmac('sha256', secret).update(`${role}:${clientId}`).digest('base64url');
}

export const CREDENTIALS_FILE = 'credentials.json';

/**
 * Broker credentials (DESIGN.md "Security"): scrypt hashes from config, and for
 * every role without one a random password generated on first start into
 * `<stateDir>/credentials.json` (mode 0600), which `lanectl creds <role>` prints.
 * The daemon's own roles (driver, service) always have a generated secret, and
 * each of their clients its own password derived from it and its clientId
 * (`laned-<name>`): one service's password does not open another's clientId.
 */
export class Credentials {
  private readonly tokenChecks = new Map<Role, (token: string) => string | undefined>();

  private constructor(
    private readonly generated: Partial<Record<Role, string>>,
    private readonly hashes: Partial<Record<Role, string>>,
  ) {}

  static load(stateDir: string, hashes: Partial<Record<Role, string>>): Credentials {
    const file = join(stateDir, CREDENTIALS_FILE);
    let stored: Partial<Record<Role, string>> = {};
    if (existsSync(file)) {
      try {
        stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<Record<Role, string>>;
      } catch (err) {
        throw new Error(`credentials file ${file} is not valid JSON (${(err as Error).message}); delete it to generate new passwords`);
      }
    }
    const wanted = Roles.filter((r) => r === 'driver' || r === 'service' || !hashes[r]);
    let changed = false;
    for (const role of wanted) {
      if (typeof stored[role] !== 'string' || stored[role]!.length < 16) {
        stored[role] = randomBytes(18).toString('base64url');
        changed = true;
      }
    }
    if (changed || !existsSync(file)) {
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600, flush: true });
      renameSync(tmp, file);
    }
    chmodSync(file, 0o600);
    return new Credentials(stored, hashes);
  }

  /** Read the generated passwords without creating any (lanectl). */
  static readGenerated(stateDir: string): Partial<Record<Role, string>> {
    const file = join(stateDir, CREDENTIALS_FILE);
    return JSON.parse(readFileSync(file, 'utf8')) as Partial<Record<Role, string>>;
  }

  /** The password of `role`; for driver and service the one of `clientId` alone. */
  password(role: Role, clientId?: string): string {
    return Credentials.passwordOf(this.generated, role, clientId);
  }

  /** The password of `role` (of `clientId`, for driver and service) from generated secrets (lanectl creds). */
  static passwordOf(generated: Partial<Record<Role, string>>, role: Role, clientId?: string): string {
    const pw = generated[role];
    if (!pw) throw new Error(`no generated password for role ${role}: it has a configured hash (broker.credentials.${role})`);
    if (!PER_CLIENT_ROLES.has(role)) return pw;
    if (!clientId) throw new Error(`role ${role} has one password per client: name the clientId (laned-<name>)`);
    return perClient(pw, role, clientId);
  }

  /** Also accept a short-lived token as the password of `role`; `check` answers the clientId it was issued for (daemon/ui-session.ts). */
  acceptTokens(role: Role, check: (token: string) => string | undefined): void {
    this.tokenChecks.set(role, check);
  }

  async verify(role: string, password: string, clientId: string): Promise<Verified | undefined> {
    if (!(Roles as readonly string[]).includes(role)) return undefined;
    const r = role as Role;
    const tokenClientId = this.tokenChecks.get(r)?.(password);
    if (tokenClientId !== undefined) return { role: r, tokenClientId };
    const gen = this.generated[r];
    if (PER_CLIENT_ROLES.has(r)) return gen && same(perClient(gen, r, clientId), password) ? { role: r } : undefined;
    if (gen && same(gen, password)) return { role: r };
    const hash = this.hashes[r];
    return hash && (await verifyHash(hash, password)) ? { role: r } : undefined;
  }
}
