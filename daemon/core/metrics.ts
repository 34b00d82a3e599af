import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';

/**
 * The daemon's Prometheus registry (`GET /metrics`). One per process; parts take
 * the counters they own from here so `lanectl status` and /metrics agree.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly eventsIn: Counter<'service'>;
  readonly eventsOut: Counter<'source'>;
  readonly duplicates: Counter<'service'>;
  readonly rejected: Counter<'service' | 'reason'>;
  readonly docsRefused: Counter<'service' | 'doc'>;
  readonly deadLettered: Counter<'service'>;
  readonly replayRequests: Counter<'service' | 'source'>;
  readonly logRestarts: Counter<'service' | 'source'>;
  readonly sourceImplausible: Counter<'service' | 'source' | 'what'>;
  readonly inboxBatch: Histogram<'service'>;
  readonly brokerRefused: Counter<'reason'>;
  readonly outboxBacklog: Gauge<'source'>;
  readonly deadLetters: Gauge<'service'>;
  readonly brokerClients: Gauge;
  readonly deviceUp: Gauge<'device' | 'kind' | 'state'>;
  readonly health: Gauge<'status'>;
  readonly unsafeShutdowns: Gauge;
  readonly storeCorrupt: Counter<'file'>;
  readonly watchdogPings: Counter;
  readonly watchdogWithheld: Counter<'reason'>;
  readonly stateDiskFree: Gauge;
  readonly scansLost: Counter<'device'>;
  readonly updaterState: Gauge<'state'>;
  private readonly refreshers: Array<() => void> = [];

  constructor(opts: { defaults?: boolean } = {}) {
    const r = this.registry;
    if (opts.defaults !== false) collectDefaultMetrics({ register: r, prefix: 'laned_', eventLoopMonitoringPrecision: 20 });
    this.eventsIn = new Counter({ name: 'laned_events_in_total', help: 'Events applied by a consumer', labelNames: ['service'], registers: [r] });
    this.eventsOut = new Counter({
      name: 'laned_events_out_total',
      help: 'Events acknowledged by the broker (PUBACK)',
      labelNames: ['source'],
      registers: [r],
    });
    this.duplicates = new Counter({
      name: 'laned_events_duplicate_total',
      help: 'Redelivered events dropped by the inbox',
      labelNames: ['service'],
      registers: [r],
    });
    this.rejected = new Counter({
      name: 'laned_events_rejected_total',
      help: 'Received payloads refused (not JSON, schema, unknown type, size)',
      labelNames: ['service', 'reason'],
      registers: [r],
    });
    this.docsRefused = new Counter({
      name: 'laned_docs_refused_total',
      help: 'Documents a service did not publish: over events.maxPayloadBytes',
      labelNames: ['service', 'doc'],
      registers: [r],
    });
    this.deadLettered = new Counter({
      name: 'laned_events_dead_lettered_total',
      help: 'Events moved to a dead-letter store',
      labelNames: ['service'],
      registers: [r],
    });
    this.inboxBatch = new Histogram({
      name: 'laned_inbox_batch_events',
      help: 'Events committed together by a consumer (group commit)',
      labelNames: ['service'],
      buckets: [1, 2, 5, 10, 50, 100, 256],
      registers: [r],
    });
    this.replayRequests = new Counter({
      name: 'laned_replay_requests_total',
      help: 'Catch-up replays asked for after a seq gap',
      labelNames: ['service', 'source'],
      registers: [r],
    });
    this.logRestarts = new Counter({
      name: 'laned_source_log_restarts_total',
      help: 'Sources seen starting their event log again from nothing (database lost)',
      labelNames: ['service', 'source'],
      registers: [r],
    });
    this.sourceImplausible = new Counter({
      name: 'laned_source_implausible_total',
      help: 'Heads far ahead of a consumer and log restarts that do not start where a source can start: ignored',
      labelNames: ['service', 'source', 'what'],
      registers: [r],
    });
    this.brokerRefused = new Counter({
      name: 'laned_broker_refused_total',
      help: 'Connections, publishes and subscribes the broker refused',
      labelNames: ['reason'],
      registers: [r],
    });
    this.outboxBacklog = new Gauge({ name: 'laned_outbox_backlog', help: 'Committed events not yet acknowledged', labelNames: ['source'], registers: [r] });
    this.deadLetters = new Gauge({ name: 'laned_dead_letters', help: 'Entries in the dead-letter stores', labelNames: ['service'], registers: [r] });
    this.brokerClients = new Gauge({ name: 'laned_broker_clients', help: 'Connected MQTT clients', registers: [r] });
    this.deviceUp = new Gauge({
      name: 'laned_device_state',
      help: '1 for the state each device is in',
      labelNames: ['device', 'kind', 'state'],
      registers: [r],
    });
    this.health = new Gauge({
      name: 'laned_health',
      help: "1 for the lane's health status (ready, degraded, failed, starting, stopping)",
      labelNames: ['status'],
      registers: [r],
    });
    this.unsafeShutdowns = new Gauge({
      name: 'laned_unsafe_shutdowns',
      help: "Runs that ended without a graceful stop (power cut, SIGKILL, watchdog), counted over the state directory's life",
      registers: [r],
    });
    this.storeCorrupt = new Counter({
      name: 'laned_store_corrupt_total',
      help: 'Database files found corrupt at start and moved aside',
      labelNames: ['file'],
      registers: [r],
    });
    this.watchdogPings = new Counter({ name: 'laned_watchdog_pings_total', help: 'WATCHDOG=1 sent to systemd', registers: [r] });
    this.watchdogWithheld = new Counter({
      name: 'laned_watchdog_withheld_total',
      help: 'Watchdog pings withheld (event loop lagging, a service not answering)',
      labelNames: ['reason'],
      registers: [r],
    });
    this.updaterState = new Gauge({
      name: 'laned_updater_state',
      help: 'The updater state (1 for the current one): idle, downloading, verifying, staged, waiting-for-idle, switching, trial, good, rolled-back, failed',
      labelNames: ['state'],
      registers: [r],
    });
    this.stateDiskFree = new Gauge({
      name: 'laned_state_disk_free_bytes',
      help: "Free bytes on the state directory's filesystem (last health check)",
      registers: [r],
    });
    this.scansLost = new Counter({
      name: 'laned_scans_lost_total',
      help: 'Scans that could not be stored (the shopper is asked to scan again)',
      labelNames: ['device'],
      registers: [r],
    });
  }

  /** Run `fn` before every scrape, to copy values that live elsewhere (outbox backlogs) into gauges. */
  onCollect(fn: () => void): void {
    this.refreshers.push(fn);
  }

  /** The Prometheus text exposition, refreshed. */
  async text(): Promise<string> {
    for (const fn of this.refreshers) fn();
    return this.registry.metrics();
  }
}
