import { randomBytes, scrypt as scryptCb, timingSafeEqual, createHash, createHmac, type ScryptOptions } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync, chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Roles, type Role } from './roles.js';
import { ConfigError } from './settings.js';
import { FailureLimits, Semaphore, type Rate } from './auth-limits.js';
import { scryptCostProblem } from './scrypt-cost.js';

export { scryptCostProblem, MAX_SCRYPT_MEMORY } from './scrypt-cost.js';

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
  const problem = scryptCostProblem(hash);
  if (problem) throw new Error(`scrypt hash refused: ${problem}; make a new one with lanectl hash-password`);
  const [, n, r, p, salt, key] = hash.split('$');
  const expected = Buffer.from(key!, 'base64');
  const got = await scrypt(password, Buffer.from(salt!, 'base64'), expected.length, {
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

/** Why a user name and password were refused. */
export type Refusal = 'unknown-user' | 'bad-password' | 'rate-limited' | 'busy';

/** Failed checks from one address: 5 at once, then one every 5 s. */
export const SOURCE_FAILURES: Rate = { burst: 5, perSecond: 0.2 };
/** Failed checks from everywhere together: 20 at once, then 2 a second. */
export const GLOBAL_FAILURES: Rate = { burst: 20, perSecond: 2 };
/** Hash checks at once (libuv's pool has UV_THREADPOOL_SIZE=8 threads, shared with SQLite), and queued. */
const HASHING = { atOnce: 1, waiting: 4 };
/** Successful checks remembered, so a good client pays scrypt once, not at every connect. */
const REMEMBERED = 32;

/**
 * Broker credentials (the design "Security"): scrypt hashes from config, and for
 * every role without one a random password generated on first start into
 * `<stateDir>/credentials.json` (mode 0600), which `lanectl creds <role>` prints.
 * The daemon's own roles (driver, service) always have a generated secret, and
 * each of their clients its own password derived from it and its clientId
 * (`laned-<name>`): one service's password does not open another's clientId.
 */
/** A `credentials.json` that could not be used as one: moved aside and new passwords made. */
export interface CredentialsRegenerated {
  file: string;
  reason: string;
  movedTo: string;
  /** Roles whose password is new, outside the daemon's own (driver, service): their clients need it. */
  externalRoles: Role[];
}

function writeFile(file: string, stored: Partial<Record<Role, string>>): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600, flush: true });
  renameSync(tmp, file);
  chmodSync(file, 0o600);
}

export class Credentials {
  private readonly tokenChecks = new Map<Role, (token: string) => string | undefined>();
  private readonly failures = new FailureLimits(SOURCE_FAILURES, GLOBAL_FAILURES);
  private readonly hashing = new Semaphore(HASHING.atOnce, HASHING.waiting);
  /** HMAC(process key, role, password) -> the hash it was checked against: never the password itself. */
  private readonly verified = new Map<string, string>();
  private readonly cacheKey = randomBytes(32);
  private hashed = 0;
  /** Checks running or queued, by the same HMAC key as `verified`. */
  private readonly checking = new Map<string, Promise<boolean | undefined>>();

  private constructor(
    private readonly generated: Partial<Record<Role, string>>,
    private readonly hashes: Partial<Record<Role, string>>,
    readonly file: string,
    /** Set when the file was damaged at start (not JSON, not an object of passwords). */
    readonly regenerated?: CredentialsRegenerated,
  ) {}

  /**
   * Read, complete and write `<stateDir>/credentials.json`. A file that cannot be
   * read (permissions, I/O) is thrown; one that reads but is not an object of
   * passwords is moved aside as `credentials.json.corrupt-<time>` and every
   * generated password is made anew (reported in `regenerated`).
   */
  static load(stateDir: string, hashes: Partial<Record<Role, string>>): Credentials {
    for (const [role, hash] of Object.entries(hashes)) {
      const problem = hash ? scryptCostProblem(hash) : undefined;
      if (problem) throw new ConfigError(`broker.credentials.${role}: ${problem}; make a new hash with lanectl hash-password`);
    }
    const file = join(stateDir, CREDENTIALS_FILE);
    let stored: Partial<Record<Role, string>> = {};
    let damaged: { reason: string; movedTo: string } | undefined;
    if (existsSync(file)) {
      const text = readFileSync(file, 'utf8');
      let reason: string | undefined;
      try {
        const parsed = JSON.parse(text) as unknown;
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) stored = parsed as Partial<Record<Role, string>>;
        else reason = `not an object of passwords (${JSON.stringify(text.slice(0, 20))})`;
      } catch (err) {
        reason = `not valid JSON: ${(err as Error).message}`;
      }
      if (reason) {
        const movedTo = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        renameSync(file, movedTo);
        damaged = { reason, movedTo };
        stored = {};
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
    if (changed || !existsSync(file)) writeFile(file, stored);
    chmodSync(file, 0o600);
    const regenerated = damaged && { file, ...damaged, externalRoles: wanted.filter((r) => r !== 'driver' && r !== 'service') };
    return new Credentials(stored, hashes, file, regenerated);
  }

  /**
   * The file is gone while the daemon runs (deleted by hand): write it again
   * with the passwords in use, so lanectl and the technician's clients keep
   * working. True when it had to be written.
   */
  restoreIfMissing(): boolean {
    if (existsSync(this.file)) return false;
    writeFile(this.file, this.generated);
    return true;
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

  /** scrypt checks run so far. */
  get hashChecks(): number {
    return this.hashed;
  }

  /** Also accept a short-lived token as the password of `role`; `check` answers the clientId it was issued for (daemon/http/ui-session.ts). */
  acceptTokens(role: Role, check: (token: string) => string | undefined): void {
    this.tokenChecks.set(role, check);
  }

  /**
   * Check a user name and password of `clientId` from `source` (a remote address). Cheap
   * checks come first (role names, tokens, generated and per-client passwords, remembered
   * successes); a scrypt check runs only while `source` and all sources together are within
   * their failure rates, one at a time with a short queue, so failures cannot keep libuv's
   * pool busy. Answers what the password proved, or why it was refused.
   */
  async verify(role: string, password: string, clientId: string, source = 'in-process'): Promise<Verified | Refusal> {
    const known = (Roles as readonly string[]).includes(role);
    const r = role as Role;
    const hash = known ? this.hashes[r] : undefined;
    const key = createHmac('sha256', this.cacheKey).update(`${role}\0${password}`).digest('base64');
    if (known) {
      const tokenClientId = this.tokenChecks.get(r)?.(password);
      if (tokenClientId !== undefined) return { role: r, tokenClientId };
      const gen = this.generated[r];
      if (gen && PER_CLIENT_ROLES.has(r)) {
        if (same(perClient(gen, r, clientId), password)) return { role: r };
      } else if (gen && same(gen, password)) return { role: r };
      if (hash && this.verified.get(key) === hash) return { role: r };
    }
    if (!this.failures.allows(source)) return 'rate-limited';
    if (!known) return this.fail(source, 'unknown-user');
    if (!hash) return this.fail(source, 'bad-password');
    // the same password arriving again while it is checked (clients reconnecting together) waits for that one check
    let check = this.checking.get(key);
    if (!check) {
      check = this.hashing
        .run(() => {
          this.hashed++;
          return verifyHash(hash, password);
        })
        .finally(() => this.checking.delete(key));
      this.checking.set(key, check);
    }
    const ok = await check;
    if (ok === undefined) return 'busy';
    if (!ok) return this.fail(source, 'bad-password');
    if (this.verified.size >= REMEMBERED) this.verified.delete(this.verified.keys().next().value as string);
    this.verified.set(key, hash);
    return { role: r };
  }

  private fail(source: string, refusal: 'unknown-user' | 'bad-password'): Refusal {
    this.failures.failed(source);
    return refusal;
  }
}
