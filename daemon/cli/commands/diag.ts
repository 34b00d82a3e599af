import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { arch, hostname, platform, release, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { create as tarCreate } from 'tar';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { Database } from '../../../broker/persistence/database.js';
import { loadConfig } from '../../core/config.js';
import { PACKAGE_ROOT } from '../../core/paths.js';
import { PACKAGE_VERSION } from '../../core/version.js';
import { CliError, EXIT, readRuntime, request, type RuntimeInfo } from '../client.js';
import { print, withTechnician, type CliCommand } from '../context.js';

const REDACTED = '[redacted]';
/** Keys whose values never leave the board (config, runtime files). */
const SECRET_KEY = /pass(word|wd)?|secret|token|credential|private|hash|psk|api[-_]?key|^key$|signing/i;
/** Values that are secrets whatever their key: scrypt hashes, PEM private keys. */
const SECRET_VALUE = /^scrypt\$|-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** A copy of `value` with every secret replaced by "[redacted]". */
export function redact(value: unknown, key = ''): unknown {
  if (SECRET_KEY.test(key) && value !== null && value !== undefined) {
    if (typeof value === 'object' && !Array.isArray(value)) return Object.fromEntries(Object.keys(value).map((k) => [k, REDACTED]));
    return REDACTED;
  }
  if (typeof value === 'string') return SECRET_VALUE.test(value) ? REDACTED : value;
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  return value;
}

function run(cmd: string, args: string[], timeoutMs = 10_000): Promise<{ ok: boolean; out: string; err: string }> {
  return new Promise((done) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      done({ ok: !err, out: String(stdout), err: err ? `${err.message}\n${String(stderr)}` : String(stderr) }),
    );
  });
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, tool)));
}

async function integrity(file: string): Promise<Record<string, unknown>> {
  const size = statSync(file).size;
  let db: Database;
  try {
    db = await Database.open(file, { readOnly: true });
  } catch (err) {
    return { file: basename(file), sizeBytes: size, result: `cannot open: ${(err as Error).message}` };
  }
  const result = await db.all<{ integrity_check: string }>('PRAGMA integrity_check').then(
    (rows) => rows.map((r) => r.integrity_check).join('; '),
    (e: Error) => `check failed: ${e.message}`,
  );
  const mode = await db.get<{ journal_mode?: string }>('PRAGMA journal_mode').catch(() => undefined);
  await db.close().catch(() => undefined);
  return { file: basename(file), sizeBytes: size, result, ok: result === 'ok', journalMode: mode?.journal_mode };
}

function dependencyVersions(): Record<string, string> {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const out: Record<string, string> = {};
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    try {
      out[name] = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      out[name] = 'not installed';
    }
  }
  return out;
}

/** The config file in the unit's ExecStart= (`--config FILE`) or its Environment=LANED_CONFIG (systemd.service(5)), as `systemctl cat laned` shows the unit with its drop-ins. */
export function configOfUnit(unitText: string): string | undefined {
  let found: string | undefined;
  for (const raw of unitText.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('ExecStart=')) {
      const m = /(?:^|\s)--config(?:=|\s+)("[^"]+"|\S+)/.exec(line.slice('ExecStart='.length));
      if (m) found = m[1]!.replace(/^"|"$/g, '');
    } else if (line.startsWith('Environment=') && !found) {
      const m = /(?:^|\s|")LANED_CONFIG=("[^"]+"|[^\s"]+)/.exec(line.slice('Environment='.length));
      if (m) found = m[1]!.replace(/^"|"$/g, '');
    }
  }
  return found;
}

/** With laned stopped: the config the unit starts it with, else the installer's /etc/laned/laned.yaml. */
async function unitConfigFile(notes: string[]): Promise<string | undefined> {
  if (onPath('systemctl')) {
    const unit = await run('systemctl', ['cat', 'laned']);
    const file = unit.ok ? configOfUnit(unit.out) : undefined;
    if (file) return file;
    if (!unit.ok) notes.push(`systemctl cat laned: ${unit.err.trim().split('\n').slice(-1)[0]}`);
  }
  return existsSync('/etc/laned/laned.yaml') ? '/etc/laned/laned.yaml' : undefined;
}

/**
 * `lanectl diag`: a support bundle (.tar.gz) a technician can send: config with
 * secrets redacted, versions, recent journal lines, SQLite integrity results,
 * devices, health and metrics. Works with laned stopped (what it cannot ask the
 * daemon is noted in manifest.json). No password, hash or key goes in: values
 * are redacted by key and by form, and every file is checked for the lane's
 * generated passwords before packing.
 */
export const diag: CliCommand = {
  usage: '[--out FILE] [--config FILE]',
  help: 'write a support bundle .tar.gz (config redacted, versions, journal, integrity, devices)',
  async run(ctx) {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    const name = `laned-diag-${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-${stamp}`;
    const out = resolve(typeof ctx.flags.out === 'string' ? ctx.flags.out : `${name}.tar.gz`);
    const work = mkdtempSync(join(tmpdir(), 'laned-diag-'));
    const dir = join(work, name);
    mkdirSync(dir, { mode: 0o700 });
    const notes: string[] = [];
    const files: string[] = [];
    const put = (file: string, body: unknown): void => {
      writeFileSync(join(dir, file), typeof body === 'string' ? body : `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
      files.push(file);
    };
    try {
      let rt: (RuntimeInfo & { configFile?: string; version?: string; startedAt?: string }) | undefined;
      try {
        rt = readRuntime(ctx.stateDir);
        put('runtime.json', redact(rt));
      } catch (err) {
        notes.push(`laned not running: ${(err as Error).message}`);
      }

      // versions
      const systemd = onPath('systemctl') ? (await run('systemctl', ['--version'])).out.split('\n')[0] : undefined;
      let osRelease: string | undefined;
      try {
        osRelease = readFileSync('/etc/os-release', 'utf8');
      } catch {
        // not Linux, or a minimal image
      }
      let sqliteVersion: string | undefined;
      const memory = await Database.open(':memory:').catch(() => undefined);
      if (memory) {
        sqliteVersion = (await memory.get<{ v?: string }>('SELECT sqlite_version() AS v').catch(() => undefined))?.v;
        await memory.close().catch(() => undefined);
      }
      put('versions.json', {
        lanectl: PACKAGE_VERSION,
        laned: rt?.version ?? null,
        node: process.versions.node,
        v8: process.versions.v8,
        openssl: process.versions.openssl,
        sqlite: sqliteVersion,
        systemd: systemd ?? null,
        kernel: `${platform()} ${release()} ${arch()}`,
        osRelease: osRelease ?? null,
        dependencies: dependencyVersions(),
      });

      // config: parsed, redacted, never the raw text (comments can hold anything)
      const configFile =
        typeof ctx.flags.config === 'string'
          ? ctx.flags.config
          : (rt?.configFile ?? process.env.LANED_CONFIG ?? (rt ? undefined : await unitConfigFile(notes)));
      if (configFile) {
        try {
          put('config.yaml', `# ${configFile}, secrets redacted by lanectl diag\n${stringifyYaml(redact(parseYaml(readFileSync(configFile, 'utf8'))))}`);
        } catch (err) {
          notes.push(`config ${configFile} not included: ${(err as Error).message.split('\n')[0]}`);
        }
        try {
          put('config.effective.json', redact(loadConfig(configFile)));
        } catch (err) {
          notes.push(`config ${configFile} does not validate: ${(err as Error).message}`);
        }
      } else {
        notes.push('no config file (laned runs on defaults: the simulated lane)');
        put('config.effective.json', redact(loadConfig()));
      }

      // the daemon's own view
      if (rt?.http) {
        for (const [file, path] of [
          ['health.json', '/healthz'],
          ['metrics.txt', '/metrics'],
        ] as const) {
          try {
            const res = await fetch(`${rt.http}${path}`, { signal: AbortSignal.timeout(5000) });
            put(file, file.endsWith('.json') ? redact(await res.json()) : await res.text());
          } catch (err) {
            notes.push(`${path}: ${(err as Error).message}`);
          }
        }
      }
      if (rt?.broker) {
        try {
          put('devices.json', redact(await withTechnician(ctx, (c) => request(c, 'devices', 'List', undefined, 5000))));
        } catch (err) {
          notes.push(`device list: ${(err as Error).message}`);
        }
      }

      // state directory: databases checked, names and sizes of the rest (contents never)
      let entries: string[] = [];
      try {
        entries = readdirSync(ctx.stateDir).sort();
      } catch (err) {
        notes.push(`state directory ${ctx.stateDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const checks: Array<Record<string, unknown>> = [];
      for (const f of entries) {
        if (/\.db(\.corrupt-[^.]+)?$/.test(f) && !/-(wal|shm)$/.test(f))
          checks.push({ ...(await integrity(join(ctx.stateDir, f))), quarantined: f.includes('.corrupt-') });
      }
      put('sqlite-integrity.json', checks);
      put(
        'state-dir.json',
        entries.map((f) => {
          const st = statSync(join(ctx.stateDir, f));
          return { name: f, sizeBytes: st.size, mode: (st.mode & 0o777).toString(8), modified: st.mtime.toISOString() };
        }),
      );
      // the load-cell calibrations in use (drivers/i2c/calibration.ts: zero, counts per gram, when)
      const calibrations: Record<string, unknown> = {};
      for (const f of entries.filter((x) => x.endsWith('.calibration.json'))) {
        try {
          calibrations[f] = JSON.parse(readFileSync(join(ctx.stateDir, f), 'utf8'));
        } catch (err) {
          calibrations[f] = { unreadable: (err as NodeJS.ErrnoException).code ?? (err as Error).message };
        }
      }
      put('calibrations.json', calibrations);
      for (const [f, as] of [
        ['unsafe-shutdowns.json', 'unsafe-shutdowns.json'],
        ['laned.running', 'running-marker.json'],
      ] as const) {
        try {
          put(as, redact(JSON.parse(readFileSync(join(ctx.stateDir, f), 'utf8'))));
        } catch {
          // absent: no unsafe shutdown yet / laned stopped gracefully
        }
      }

      // recent log lines
      if (onPath('journalctl')) {
        const j = await run('journalctl', ['-u', 'laned', '-n', '2000', '--no-pager', '-o', 'short-iso']);
        put('journal.txt', j.out || '(no lines)\n');
        if (!j.ok) notes.push(`journalctl: ${j.err.trim().split('\n').slice(-1)[0]}`);
      } else {
        notes.push('journalctl not found: no log lines included');
      }

      put('manifest.json', { createdAt: new Date().toISOString(), stateDir: ctx.stateDir, host: hostname(), files: [...files, 'manifest.json'], notes });
      scrubKnownSecrets(ctx.stateDir, dir, files);
      try {
        await tarCreate({ gzip: true, file: out, cwd: work, portable: true }, [name]);
        chmodSync(out, 0o600);
      } catch (err) {
        throw new CliError(
          `cannot write ${out}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (pass --out to a writable place)`,
          EXIT.cantCreate,
        );
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    print(ctx, { file: out, files, notes }, () => [`wrote ${out}`, ...notes.map((n) => `  note: ${n}`)].join('\n'));
  },
};

/** Last guard: the lane's generated passwords, anywhere in any file (a log line, a config comment), become "[redacted]". */
function scrubKnownSecrets(stateDir: string, dir: string, files: string[]): void {
  let secrets: string[] = [];
  try {
    const creds = JSON.parse(readFileSync(join(stateDir, 'credentials.json'), 'utf8')) as Record<string, unknown>;
    secrets = Object.values(creds).flatMap((v) =>
      typeof v === 'string' ? [v] : v && typeof v === 'object' ? Object.values(v).filter((x): x is string => typeof x === 'string') : [],
    );
  } catch {
    // not readable: the redaction by key and form still applies
  }
  secrets = secrets.filter((s) => s.length >= 8);
  for (const f of files) {
    const p = join(dir, f);
    let text = readFileSync(p, 'utf8');
    const before = text;
    for (const s of secrets) text = text.split(s).join(REDACTED);
    text = text.replace(/scrypt\$[0-9]+\$[0-9]+\$[0-9]+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+/g, REDACTED);
    if (text !== before) writeFileSync(p, text, { mode: 0o600 });
  }
}
