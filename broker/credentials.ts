import { randomBytes, scrypt as scryptCb, timingSafeEqual, createHash, type ScryptOptions } from 'node:crypto';
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

export const CREDENTIALS_FILE = 'credentials.json';

/**
 * Broker credentials (DESIGN.md "Security"): scrypt hashes from config, and for
 * every role without one a random password generated on first start into
 * `<stateDir>/credentials.json` (mode 0600), which `lanectl creds <role>` prints.
 * The daemon's own roles (driver, service) always have a generated one.
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
  private readonly tokenChecks = new Map<Role, (token: string) => boolean>();

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

  password(role: Role): string {
    const pw = this.generated[role];
    if (!pw) throw new Error(`no generated password for role ${role}: it has a configured hash (broker.credentials.${role})`);
    return pw;
  }

  /** Also accept a short-lived token as the password of `role` (the kiosk's UI session, daemon/ui-session.ts). */
  acceptTokens(role: Role, check: (token: string) => boolean): void {
    this.tokenChecks.set(role, check);
  }

  async verify(role: string, password: string): Promise<boolean> {
    if (!(Roles as readonly string[]).includes(role)) return false;
    const r = role as Role;
    if (this.tokenChecks.get(r)?.(password)) return true;
    const gen = this.generated[r];
    if (gen && timingSafeEqual(digest(gen), digest(password))) return true;
    const hash = this.hashes[r];
    return hash ? verifyHash(hash, password) : false;
  }
}
