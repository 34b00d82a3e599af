import { readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { scryptCostProblem } from '../../broker/scrypt-cost.js';
import { Roles, type Role } from '../../broker/roles.js';
import { ConfigError } from '../../broker/settings.js';
import { parseConfig } from '../../drivers/config.js';
import { serviceSettings } from '../services/settings.js';
import { UplinkConfigSchema } from '../services/uplink/settings.js';
import { resolveKeyFiles, trustedKeys, UpdaterSettings } from '../updater/settings.js';

const Loopbackish = Type.String({ minLength: 1 });
const ScryptHash = Type.String({ pattern: '^scrypt\\$[0-9]+\\$[0-9]+\\$[0-9]+\\$[A-Za-z0-9+/=]+\\$[A-Za-z0-9+/=]+$' });

export { Roles, type Role };

export const ConfigSchema = Type.Object(
  {
    lane: Type.Object(
      {
        id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', default: 'lane-1' }),
        storeId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', default: 'store-1' }),
        currency: Type.String({ pattern: '^[A-Z]{3}$', default: 'EUR' }),
        locale: Type.String({ default: 'en' }),
        /** What the lane needs to sell: scanner, bagging-scale, produce-scale or a device name (daemon/services/attendant/needs.ts). */
        needs: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }), { maxItems: 16 })),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union([Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace')], {
          default: 'info',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    broker: Type.Object(
      {
        host: Type.String({ default: '127.0.0.1' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 1883 }),
        /** QoS 1 messages kept per offline client before the oldest are dropped. */
        maxOfflineQueue: Type.Integer({ minimum: 10, maximum: 1_000_000, default: 20_000 }),
        /** A clean=false session not seen for this long is removed. */
        sessionExpiryHours: Type.Number({ exclusiveMinimum: 0, default: 24 * 7 }),
        /** Per role: `scrypt$N$r$p$salt$hash` (base64); `lanectl hash-password` makes one. */
        credentials: Type.Object(
          {
            driver: Type.Optional(ScryptHash),
            service: Type.Optional(ScryptHash),
            ui: Type.Optional(ScryptHash),
            technician: Type.Optional(ScryptHash),
            uplink: Type.Optional(ScryptHash),
          },
          { additionalProperties: false, default: {} },
        ),
        /** Connections open at once per listener, authenticated or not; more are closed at once. */
        maxConnections: Type.Object(
          {
            tcp: Type.Integer({ minimum: 1, maximum: 10_000, default: 64 }),
            websocket: Type.Integer({ minimum: 1, maximum: 10_000, default: 16 }),
          },
          { additionalProperties: false, default: {} },
        ),
        /** Authenticated clients at once per role (every listener and the daemon's own); more get CONNACK 0x03. */
        maxClientsPerRole: Type.Object(
          {
            driver: Type.Integer({ minimum: 1, maximum: 10_000, default: 32 }),
            service: Type.Integer({ minimum: 1, maximum: 10_000, default: 64 }),
            ui: Type.Integer({ minimum: 1, maximum: 10_000, default: 16 }),
            technician: Type.Integer({ minimum: 1, maximum: 10_000, default: 32 }),
            uplink: Type.Integer({ minimum: 1, maximum: 10_000, default: 4 }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    http: Type.Object(
      {
        host: Loopbackish,
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
        /** Host header names /healthz and /metrics answer to, beside the loopback names and `host`. */
        hostNames: Type.Array(Type.String({ pattern: '^[A-Za-z0-9.:\\[\\]-]{1,253}$' }), { default: [] }),
        /** Browser origins allowed to open /mqtt, beside the lane's own (`http://127.0.0.1:<port>`, localhost). */
        origins: Type.Array(Type.String({ pattern: '^https?://[A-Za-z0-9.:\\[\\]-]{1,260}$' }), { default: [] }),
      },
      { additionalProperties: false, default: { host: '127.0.0.1' } },
    ),
    events: Type.Object(
      {
        maxPayloadBytes: Type.Integer({ minimum: 1024, maximum: 1_048_576, default: 65_536 }),
        /** Processing attempts before an event is dead-lettered. */
        maxAttempts: Type.Integer({ minimum: 1, maximum: 100, default: 5 }),
        /** Sent events each source keeps as its log for replay. */
        outboxRetention: Type.Integer({ minimum: 100, maximum: 10_000_000, default: 50_000 }),
        /** How long a consumer waits for a missing seq before asking its source for a replay. */
        gapWaitMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 250 }),
      },
      { additionalProperties: false, default: {} },
    ),
    health: Type.Object(
      {
        /** How often the state filesystem, the event loop and the services' stores are checked. */
        checkMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 5000 }),
        /** The state filesystem alarms (degraded) when less than this is free, before writes fail. */
        diskMinFreeMB: Type.Number({ minimum: 0, default: 100 }),
        /** Event-loop lag (worst over a check) or a store answering slower than this: the services count as stalled. */
        maxLagMs: Type.Integer({ minimum: 10, maximum: 600_000, default: 2000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Over-the-air updates: slots root, trusted keys, maintenance window, trial (daemon/updater/settings.ts). */
    updater: UpdaterSettings,
    /** Device name -> device config; checked per kind by drivers/registry.ts. Absent: the simulated lane. */
    devices: Type.Optional(
      Type.Record(Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }), Type.Object({ kind: Type.String() }, { additionalProperties: true })),
    ),
    /** The store's broker (daemon/services/uplink.ts); absent: nothing leaves the lane. */
    uplink: Type.Optional(UplinkConfigSchema),
    /** Service name -> its settings; `enabled: false` leaves it out. */
    services: Type.Record(
      Type.String({ pattern: '^[a-z][a-z0-9-]{0,31}$' }),
      // no default here: a service's own default (most on, probe off) applies when it is unset
      Type.Object({ enabled: Type.Optional(Type.Boolean()) }, { additionalProperties: true }),
      { default: {} },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;

export { ConfigError };

function keyPath(path: string): string {
  return path.replace(/^\//, '').replace(/\//g, '.') || '(top level)';
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  const s = JSON.stringify(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * Validate a parsed config document and fill in defaults. Throws ConfigError naming
 * the file, the key, the value and what is allowed.
 */
export function validateConfig(doc: unknown, origin: string, base = process.cwd()): Config {
  const raw = doc ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(
      `${origin}: the top level must be a mapping of keys (lane, broker, http, events, health, updater, devices, services), got ${describe(raw)}`,
    );
  }
  const withDefaults = Value.Default(ConfigSchema, structuredClone(raw));
  if (Value.Check(ConfigSchema, withDefaults)) {
    const config = withDefaults as Config;
    for (const [role, hash] of Object.entries(config.broker.credentials)) {
      const problem = hash ? scryptCostProblem(hash) : undefined;
      if (problem) throw new ConfigError(`${origin}: broker.credentials.${role}: ${problem}; make a new hash with lanectl hash-password`);
    }
    config.updater = resolveKeyFiles(config.updater, base);
    const problems = [...serviceProblems(config.services), ...trustedKeys(config.updater, base).problems, ...uplinkProblems(config.uplink)].slice(0, 5);
    if (problems.length === 0) return config;
    throw new ConfigError(`${origin}: invalid configuration\n  ${problems.join('\n  ')}`);
  }
  const problems: string[] = [];
  for (const e of Value.Errors(ConfigSchema, withDefaults)) {
    const allowed = e.message;
    const unknown = e.message.includes('Unexpected property') || e.message.includes('additional');
    problems.push(unknown ? `${keyPath(e.path)}: unknown key` : `${keyPath(e.path)}: ${describe(e.value)} is not allowed: ${allowed}`);
    if (problems.length >= 5) break;
  }
  throw new ConfigError(`${origin}: invalid configuration\n  ${problems.join('\n  ')}`);
}

/** Each service's settings against the schema it declares (daemon/services/settings.ts). */
function serviceProblems(services: Config['services']): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(services)) {
    const schema = serviceSettings[name];
    if (!schema) {
      problems.push(`services.${name}: unknown service (known: ${Object.keys(serviceSettings).join(', ')})`);
      continue;
    }
    const { enabled: _enabled, ...settings } = value;
    const parsed = parseConfig(schema, settings, `services.${name}`);
    if (!parsed.ok) problems.push(parsed.problem);
  }
  return problems.slice(0, 5);
}

/** The uplink's files must be there, and its secrets readable by the lane's user alone. */
function uplinkProblems(u: Config['uplink']): string[] {
  if (!u) return [];
  const problems: string[] = [];
  if (u.password !== undefined && u.passwordFile !== undefined) problems.push('uplink.password: give either password or passwordFile, not both');
  if (u.cert !== undefined && u.key === undefined) problems.push('uplink.key: missing (uplink.cert needs its key)');
  if (u.url.startsWith('mqtt://') && (u.ca !== undefined || u.cert !== undefined)) problems.push(`uplink.url: ${u.url} is not TLS; use mqtts:// with ca/cert`);
  for (const key of ['passwordFile', 'ca', 'cert', 'key'] as const) {
    const file = u[key];
    if (file === undefined) continue;
    try {
      const st = statSync(file);
      readFileSync(file);
      if ((key === 'passwordFile' || key === 'key') && (st.mode & 0o077) !== 0) {
        problems.push(`uplink.${key}: ${file} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
      }
    } catch (err) {
      problems.push(`uplink.${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  return problems;
}

/** Events each source keeps in its log: `events.outboxRetention`, more when the uplink asks for more. */
export function logRetention(config: Config): number {
  return Math.max(config.events.outboxRetention, config.uplink?.retentionEvents ?? 0);
}

/** Read and validate the YAML config; no path means every default (the simulated lane). */
export function loadConfig(path?: string): Config {
  if (!path) return validateConfig({}, 'defaults');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `config ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); pass --config with a readable YAML file or leave it out to use defaults`,
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const e = err as YAMLParseError;
    const where = e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
    throw new ConfigError(`config ${path}: not valid YAML${where}: ${e.message.split('\n')[0]}`);
  }
  return validateConfig(doc, `config ${path}`, dirname(resolve(path)));
}
