import { Type, type Static } from '@sinclair/typebox';

const Name = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,128}$' });
const File = Type.String({ minLength: 1, maxLength: 4096 });

/**
 * `uplink:` in the config: the store's own MQTT broker the lane replicates its
 * events to and takes store IT's commands from. Without `url` there is no uplink.
 */
export const UplinkConfigSchema = Type.Object(
  {
    /** `mqtt://host:port` or `mqtts://host:port` (TLS, verified against `ca`). */
    url: Type.String({ pattern: '^mqtts?://[^\\s/]+(:[0-9]{1,5})?/?$' }),
    /** Default `<storeId>-<laneId>`. */
    clientId: Type.Optional(Name),
    username: Type.Optional(Name),
    /** Secret: never logged, redacted by `lanectl diag`. Prefer `passwordFile` (mode 0600). */
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    passwordFile: Type.Optional(File),
    /** PEM CA bundle the store broker's certificate must chain to (mqtts). */
    ca: Type.Optional(File),
    /** PEM client certificate and its key (mode 0600), instead of or beside a password. */
    cert: Type.Optional(File),
    key: Type.Optional(File),
    /** Event types (or `<source>/<Type>`) to forward; `*` matches any run of characters; a leading `!` leaves out. */
    events: Type.Array(Type.String({ pattern: '^!?[A-Za-z0-9*/_-]{1,96}$' }), { maxItems: 64, default: ['*', '!WeightHasChanged'] }),
    /** Events each source keeps in its log for the uplink (at least `events.outboxRetention`). */
    retentionEvents: Type.Optional(Type.Integer({ minimum: 100, maximum: 10_000_000 })),
    /** Alarm when a source's unsent events reach this share of its log. */
    alarmAtPct: Type.Integer({ minimum: 1, maximum: 99, default: 80 }),
    /**
     * Events per second sent to the store while a shopper's transaction is open (0: no
     * limit). A backlog catches up at full speed while the lane is idle; during a
     * transaction it yields the lane's CPU and broker to the shopper's scans.
     */
    catchUpPerSecond: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 1000 }),
    /** Longest wait between reconnect attempts (the wait doubles from 250 ms up to this). */
    maxBackoffMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 30_000 }),
    /** Largest catalog file store IT may offer (bytes). */
    maxCatalogBytes: Type.Integer({ minimum: 1024, maximum: 1_073_741_824, default: 67_108_864 }),
  },
  { additionalProperties: false },
);

export type UplinkConfig = Static<typeof UplinkConfigSchema>;
