import { Counter, Gauge, type Registry } from 'prom-client';
import type { ServiceDefinition, ServiceLogic } from '../../runtime/runtime.js';
import type { UplinkConfig } from './settings.js';
import { logRetention } from '../../core/config.js';
import { StoreLink } from './link.js';
import { Replicator } from './replicator.js';
import { FleetState } from './fleet.js';
import { Inbound } from './inbound.js';
import { eventFilter } from './filter.js';
import { lanePrefix, storeTopics } from './contract.js';
import { carriesReceipt, ReceiptForwarder } from './receipts.js';
import type { ReceiptPage } from '../journal/service.js';

/** How often at most the fleet state is published while it keeps changing. */
const STATE_EVERY_MS = 500;

/** What the uplink needs from the daemon around it. */
export interface UplinkHost {
  /** Events each service of this process committed that the lane broker has not acknowledged yet (its outbox backlog). */
  outboxBacklog(): Record<string, number>;
}

let laneHost: UplinkHost | undefined;

/** The daemon around the uplink service says how to read its services' outbox backlogs (under --only: the uplink's own). */
export function setUplinkHost(host: UplinkHost): void {
  laneHost = host;
}

function counter<L extends string>(r: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  return (r.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [r] });
}

function gauge(r: Registry, name: string, help: string): Gauge {
  return (r.getSingleMetric(name) as Gauge | undefined) ?? new Gauge({ name, help, registers: [r] });
}

/**
 * uplink: the lane on the store's own MQTT broker (the design "Leaving the board").
 * Replicates every source's log to `store/<storeId>/lane/<laneId>/evt/<source>/<Type>`
 * (Replicator), keeps the retained fleet state with a last will (FleetState), and takes
 * store IT's commands (Inbound). Runs only with `uplink.url` in the config.
 */
export const uplink: ServiceDefinition = {
  name: 'uplink',
  create(ctx): ServiceLogic {
    const config = ctx.config.uplink as UplinkConfig;
    const { storeId, id: laneId } = ctx.config.lane;
    const prefix = lanePrefix(storeId, laneId);
    const clientId = config.clientId ?? `${storeId}-${laneId}`;
    const retention = logRetention(ctx.config);
    const forwards = eventFilter(config.events);
    const fleet = new FleetState({ storeId, laneId });
    const r = ctx.metrics.registry;
    const sentTotal = counter(r, 'laned_uplink_sent_total', 'Events acknowledged by the store broker', ['source']);
    const lostTotal = counter(r, 'laned_uplink_lost_total', 'Events that left a source log before the uplink sent them (UplinkGap)', ['source']);
    const commandsTotal = counter(r, 'laned_uplink_commands_total', "Store IT's commands by result", ['command', 'result']);
    const receiptsTotal = counter(r, 'laned_uplink_receipts_total', 'Completed receipts at the store (sent), or no longer in the journal (missing)', [
      'result',
    ]);
    const backlogGauge = gauge(r, 'laned_uplink_backlog', 'Events not yet acknowledged by the store broker, all sources');
    const connectedGauge = gauge(r, 'laned_uplink_connected', '1 while connected to the store broker');
    const rate = { times: [] as number[] };
    const willPayload = JSON.stringify({ state: 'offline', storeId, laneId });

    // eslint-disable-next-line prefer-const
    let link: StoreLink;
    const replicator = new Replicator({
      store: ctx.store,
      log: ctx.log,
      retention,
      alarmAtPct: config.alarmAtPct,
      forwards,
      ready: () => link.connected,
      // a shopper's scans before the store's backlog
      rate: () => (fleet.transactionOpen() ? config.catchUpPerSecond : undefined),
      carries: carriesReceipt,
      send: (source, type, payload, done) => {
        const parts: Array<(cb: (err?: Error) => void) => void> = [];
        if (forwards(source, type)) parts.push((cb) => link.publish(storeTopics.event(prefix, source, type), payload, {}, cb));
        if (carriesReceipt(source, type)) parts.push((cb) => receipts.send(payload, cb));
        let left = parts.length;
        let failed: Error | undefined;
        for (const part of parts)
          part((err) => {
            failed ??= err;
            if (--left === 0) done(failed);
          });
      },
      askReplay: (source, from, to) => ctx.sendCommand(source, 'Replay', { from, to, consumer: 'uplink' }),
      gap: async (tx, g) => void (await ctx.emit(tx, 'UplinkGap', g)),
      alarm: async (tx, a) => void (await ctx.emit(tx, 'UplinkBacklogAlarm', a)),
      metrics: {
        sent: (source) => {
          sentTotal.inc({ source });
          rate.times.push(Date.now());
        },
        lost: (source, n) => lostTotal.inc({ source }, n),
      },
    });
    const receipts = new ReceiptForwarder({
      ids: { storeId, laneId },
      currency: ctx.config.lane.currency,
      log: ctx.log,
      show: async (txn, from) => (await ctx.request('journal', 'Show', { txn, from })) as ReceiptPage,
      publish: (receipt, done) => link.publish(storeTopics.receipt(prefix, receipt.receiptId), JSON.stringify(receipt), {}, done),
      counted: (result) => receiptsTotal.inc({ result }),
    });
    const inbound = new Inbound({
      ctx,
      config,
      prefix,
      reply: (id, reply) => link.publish(storeTopics.reply(prefix, id), JSON.stringify(reply), {}),
      counted: (command, result) => commandsTotal.inc({ command, result }),
    });

    let stateTimer: NodeJS.Timeout | undefined;
    let docTimer: NodeJS.Timeout | undefined;
    let stateLast = 0;
    const publishState = (force = false): void => {
      if (!link.connected) return;
      const doc = fleet.build(replicator.backlog(), laneHost?.outboxBacklog() ?? {});
      if (!fleet.changed(doc) && !force) return;
      stateLast = Date.now();
      link.publish(storeTopics.state(prefix), JSON.stringify(doc), { retain: true });
    };
    /** On change, at most every STATE_EVERY_MS. */
    const stateSoon = (): void => {
      if (stateTimer) return;
      stateTimer = setTimeout(
        () => {
          stateTimer = undefined;
          publishState();
        },
        Math.max(0, stateLast + STATE_EVERY_MS - Date.now()),
      );
    };
    const publishDevices = (): void => {
      const text = fleet.devicesDoc();
      if (text && link.connected) link.publish(storeTopics.devices(prefix), text, { retain: true });
    };

    link = new StoreLink({
      config,
      clientId,
      log: ctx.log,
      will: { topic: storeTopics.state(prefix), payload: willPayload },
      subscriptions: [storeTopics.commands(prefix)],
      onConnect: () => {
        connectedGauge.set(1);
        // birth: the retained state replaces the will's `offline`
        fleet.forget();
        publishState(true);
        publishDevices();
        replicator.resume();
      },
      onClose: () => connectedGauge.set(0),
      onMessage: (topic, payload) => void inbound.receive(topic, payload),
    });

    const sinceMs = 10_000;
    const eventsPerSecond = (): number => {
      const cut = Date.now() - sinceMs;
      while (rate.times.length && rate.times[0] < cut) rate.times.shift();
      return Math.round((rate.times.length * 1000) / sinceMs);
    };

    const parseHead = (payload: Buffer): number | undefined => {
      try {
        const seq = Number((JSON.parse(payload.toString('utf8')) as { seq?: unknown }).seq);
        return Number.isInteger(seq) && seq > 0 ? seq : undefined;
      } catch {
        return undefined;
      }
    };

    const onEvent = (payload: Buffer): void => {
      let ev: { id?: unknown; type?: unknown; source?: unknown; seq?: unknown; log?: unknown; time?: unknown; data?: { status?: unknown } };
      try {
        ev = JSON.parse(payload.toString('utf8')) as typeof ev;
      } catch {
        ctx.log.warn('an event that is not JSON reached the uplink; ignored');
        return;
      }
      if (typeof ev.id !== 'string' || typeof ev.type !== 'string' || typeof ev.source !== 'string' || !Number.isInteger(ev.seq)) return;
      if (ev.type === 'ReceiptRecorded' && ev.data?.status === 'completed' && typeof ev.time === 'string') {
        fleet.noteSale(ev.time);
        stateSoon();
      }
      replicator.receive(ev.source, ev.seq as number, { id: ev.id, type: ev.type, ...(typeof ev.log === 'string' ? { log: ev.log } : {}) }, payload);
    };

    return {
      subscriptions: ['evt/+/+', 'svc/+/head', 'svc/+/state', 'replay/+/uplink', 'replay/+/uplink/end', 'doc/lane', 'doc/basket', 'doc/devices', 'doc/updater'],
      async migrate(store) {
        await replicator.init();
        await inbound.migrate(store);
      },
      async onMessage(topic, payload) {
        const parts = topic.split('/');
        if (parts[0] === 'evt' || (parts[0] === 'replay' && parts.length === 3)) return onEvent(payload);
        if (parts[0] === 'replay' && parts[3] === 'end') {
          let firstAvailable: unknown;
          try {
            firstAvailable = (JSON.parse(payload.toString('utf8')) as { firstAvailable?: unknown }).firstAvailable;
          } catch {
            return;
          }
          if (typeof firstAvailable === 'number') await replicator.replayEnded(parts[1], firstAvailable);
          return;
        }
        if (parts[0] === 'svc' && parts[2] === 'head') {
          const seq = parseHead(payload);
          if (seq !== undefined) replicator.noteHead(parts[1], seq);
          return;
        }
        if (parts[0] === 'svc' && parts[2] === 'state') {
          inbound.noteService(parts[1], payload);
          return;
        }
        if (parts[0] === 'doc' && fleet.noteDoc(parts[1], payload)) {
          if (parts[1] === 'devices') publishDevices();
          stateSoon();
        }
      },
      async start() {
        link.start();
        replicator.start();
        // doc/uplink for the attendant's screen: whether the store gets the lane's events, and what waits
        docTimer = setInterval(() => {
          // the fleet state follows the outbox backlogs too (published only when it changed)
          stateSoon();
          const st = link.status();
          const sources = replicator.progress();
          ctx.publishDoc('uplink', {
            connected: st.connected,
            store: st.url,
            ...(st.lastError ? { lastError: st.lastError, since: st.lastErrorAt } : {}),
            backlog: replicator.backlog(),
            alarms: sources.filter((p) => p.alarmed).map((p) => p.source),
            lost: sources.reduce((a, p) => a + p.lost, 0),
          });
        }, 1000);
        docTimer.unref();
      },
      async stop() {
        clearInterval(docTimer);
        clearTimeout(stateTimer);
        receipts.stop();
        await replicator.stop();
        await link.stop({ topic: storeTopics.state(prefix), payload: JSON.stringify({ ...JSON.parse(willPayload), reason: 'stopped' }) });
      },
      status() {
        const backlog = replicator.backlog();
        backlogGauge.set(backlog);
        return {
          uplinkBacklog: backlog,
          uplink: { ...link.status(), prefix, backlog, eventsPerSecond: eventsPerSecond(), sources: replicator.progress(), commands: inbound.counts() },
        };
      },
    };
  },
};
