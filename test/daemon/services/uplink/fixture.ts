/** What the uplink tests share: lanes (laned child processes) wired to a store broker, and a store-side recorder. */
import type { MqttClient } from 'mqtt';
import { request } from '../../../../daemon/cli/client.js';
import { startDaemon, tempDir, writeConfig, type RunningDaemon } from '../../../helpers/daemon.js';
import { technician } from '../../../helpers/lanectl.js';
import { until } from '../../../helpers/wait.js';
import { uplinkConfig, type StoreBroker } from '../../../helpers/store-broker.js';

export interface Lane {
  id: string;
  stateDir: string;
  configFile: string;
  d: RunningDaemon;
  tech: MqttClient;
  /** Let the probe emit `count` more ProbeTick events. */
  emit(count: number): Promise<void>;
  status(): Promise<Record<string, unknown>>;
  restart(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function startLaneFor(
  b: StoreBroker,
  id: string,
  extra: {
    uplink?: Record<string, unknown>;
    events?: Record<string, unknown>;
    env?: Record<string, string>;
    probe?: boolean;
    services?: Record<string, unknown>;
    /** Further top-level config keys (updater, journal…). */
    config?: Record<string, unknown>;
  } = {},
): Promise<Lane> {
  const stateDir = tempDir(`uplink-${id}-`);
  const configFile = writeConfig(stateDir, {
    ...extra.config,
    lane: { id, storeId: b.storeId },
    uplink: uplinkConfig(b, id, extra.uplink),
    ...(extra.events ? { events: extra.events } : {}),
    // the probe's ticks run in a transaction of their own ('probe'): a lane without them for the shopper's view
    services: { ...(extra.probe === false ? {} : { probe: { enabled: true, count: 0, batch: 50 } }), ...extra.services },
  });
  const lane: Lane = {
    id,
    stateDir,
    configFile,
    d: undefined as unknown as RunningDaemon,
    tech: undefined as unknown as MqttClient,
    async emit(count) {
      await request(lane.tech, 'probe', 'Emit', { count });
    },
    async status() {
      return (await request(lane.tech, 'uplink', 'Status')) as Record<string, unknown>;
    },
    async restart() {
      lane.d = await startDaemon({ configFile, stateDir, ...(extra.env ? { env: extra.env } : {}) });
      lane.tech = await technician(stateDir, lane.d.brokerUrl);
    },
    async kill(signal = 'SIGTERM') {
      lane.tech?.end(true);
      await lane.d.kill(signal);
    },
  };
  await lane.restart();
  return lane;
}

export interface Received {
  topic: string;
  id: string;
  type: string;
  source: string;
  seq: number;
  data: Record<string, unknown>;
}

/** store IT's durable subscriber: every lane event, in arrival order, across broker restarts. */
export async function recorder(
  b: StoreBroker,
  clientId = 'store-recorder',
): Promise<{
  client: MqttClient;
  events: Received[];
  retained: Map<string, Record<string, unknown>>;
  states: Array<{ topic: string; doc: Record<string, unknown> }>;
}> {
  const events: Received[] = [];
  const retained = new Map<string, Record<string, unknown>>();
  const states: Array<{ topic: string; doc: Record<string, unknown> }> = [];
  const client = await b.connect(clientId, { clean: false });
  client.on('message', (topic, payload) => {
    if (!payload.length) return;
    const doc = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    if (topic.includes('/evt/')) {
      events.push({
        topic,
        id: doc.id as string,
        type: doc.type as string,
        source: doc.source as string,
        seq: doc.seq as number,
        data: doc.data as Record<string, unknown>,
      });
    } else {
      retained.set(topic, doc);
      if (topic.endsWith('/state')) states.push({ topic, doc });
    }
  });
  await client.subscribeAsync(`store/${b.storeId}/#`, { qos: 1 });
  return { client, events, retained, states };
}

/**
 * Per lane and source: whether the first arrival of each seq came in order, how many
 * arrivals repeated a seq (and whether with the same id), and which seqs never came.
 */
export function audit(
  events: Received[],
  prefix: string,
  source: string,
  upTo: number,
): { outOfOrder: number; duplicates: number; sameIdDuplicates: number; missing: number[] } {
  const firstId = new Map<number, string>();
  let last = 0;
  let outOfOrder = 0;
  let duplicates = 0;
  let sameIdDuplicates = 0;
  for (const e of events) {
    if (!e.topic.startsWith(`${prefix}/evt/${source}/`)) continue;
    const seen = firstId.get(e.seq);
    if (seen !== undefined) {
      duplicates += 1;
      if (seen === e.id) sameIdDuplicates += 1;
      continue;
    }
    if (e.seq < last) outOfOrder += 1;
    last = e.seq;
    firstId.set(e.seq, e.id);
  }
  const missing: number[] = [];
  for (let s = 1; s <= upTo; s++) if (!firstId.has(s)) missing.push(s);
  return { outOfOrder, duplicates, sameIdDuplicates, missing };
}

/** Store IT's console on the store broker: sends `…/cmd/<name>` to one lane and waits for the `n`th reply on `…/reply/<id>`. */
export interface StoreConsole {
  it: MqttClient;
  send: (name: string, cmd: { id: string; [field: string]: unknown }, n?: number) => Promise<Record<string, unknown>>;
}

/** Connects store IT's console to the lane's prefix once the lane's uplink is connected. */
export async function storeConsole(b: StoreBroker, lane: Lane, prefix: string): Promise<StoreConsole> {
  const it = await b.connect('store-it-console');
  const replies = new Map<string, Record<string, unknown>[]>();
  it.on('message', (topic, payload) => {
    const id = topic.split('/').pop()!;
    replies.set(id, [...(replies.get(id) ?? []), JSON.parse(payload.toString('utf8')) as Record<string, unknown>]);
  });
  await it.subscribeAsync(`${prefix}/reply/+`, { qos: 1 });
  await until(async () => ((await lane.status()) as { uplink: { connected: boolean } }).uplink.connected, 30_000, 'the uplink connected');
  return {
    it,
    send: async (name, cmd, n = 1) => {
      await it.publishAsync(`${prefix}/cmd/${name}`, JSON.stringify(cmd), { qos: 1 });
      await until(() => (replies.get(cmd.id)?.length ?? 0) >= n, 60_000, `the reply to ${name} ${cmd.id}`);
      return replies.get(cmd.id)![n - 1]!;
    },
  };
}
