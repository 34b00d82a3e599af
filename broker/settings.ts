import type { Role } from './roles.js';

/** The part of the lane's config the broker reads (`broker.*`, `events.maxPayloadBytes`, the HTTP names for WebSocket origins). */
export interface BrokerConfig {
  broker: {
    host: string;
    port: number;
    maxOfflineQueue: number;
    sessionExpiryHours: number;
    maxConnections: { tcp: number; websocket: number };
    maxClientsPerRole: Record<Role, number>;
  };
  events: { maxPayloadBytes: number };
  http: { host: string; hostNames: string[]; origins: string[] };
}

/** The counters the broker keeps; the daemon passes its Prometheus ones. */
export interface BrokerMetrics {
  /** Connections, packets and publishes refused, by why. */
  brokerRefused: { inc(labels: { reason: string }): void };
  /** Clients connected now. */
  brokerClients: { set(value: number): void };
}

/**
 * A setting that cannot be used, naming its key: the broker raises it for a credential
 * hash, the daemon for the rest of the config (which re-exports this class), and
 * `laned` exits 78 on it.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
