/**
 * A shopper, an attendant and a technician at a lane: drives the simulated
 * devices through `cmd/sim/*`, the UI through `cmd/<service>/*` as the `ui`
 * role, watches every event and document through the broker, and waits on
 * conditions (never on time). Used by test/e2e/lane-session*.test.ts.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import mqtt from 'mqtt';
import { newCommand, type CommandReply } from '../../daemon/events/command.js';
import { newEventId, type Envelope } from '../../daemon/events/envelope.js';
import type { BoardTime } from '../../daemon/events/clock.js';
import { noDelay } from '../../daemon/runtime/mqtt.js';
import { query } from './daemon.js';
import { startLane, until, type InProcessLane } from './lane.js';
import { BasketView } from '../../daemon/services/basket/doc.js';
import { docProblem } from '../../daemon/services/docs.js';
import { commandReplyProblem } from '../../daemon/services/commands.js';
import { parseTopic } from '../../broker/topics.js';
import { wholeReceipt, type ReceiptPage } from '../../daemon/services/journal/service.js';
import type { Json } from './json.js';

/** The simulated lane of drivers/registry.ts without the scanner's demo script. */
export const SIM_DEVICES = {
  scanner: { kind: 'serial-scanner', simulate: true, path: '/dev/serial/by-id/usb-laned_sim_scanner-if00', suffix: 'CR', rcnLayout: 'de' },
  scanscale: { kind: 'magellan', simulate: true, path: '/dev/serial/by-id/usb-laned_sim_magellan-if00', rcnLayout: 'de' },
  bagscale: { kind: 'nau7802', simulate: true, division: 2, capacityG: 30000, nominalCountsPerGram: 100, requireCalibration: false },
  light: { kind: 'gpio-output', simulate: true, bcm: 17, initial: 'on' },
  keyswitch: { kind: 'gpio-input', simulate: true, bcm: 22, activeLow: true },
};

/** Which sources each checkout service consumes on the simulated lane (for quiescence). */
export const CONSUMERS: Record<string, string[]> = {
  catalog: ['scanner', 'scanscale'],
  basket: ['catalog', 'payment', 'attendant', 'scanscale'],
  weightcheck: ['basket', 'attendant', 'bagscale'],
  attendant: ['basket', 'weightcheck', 'payment', 'keyswitch', 'scanner', 'scanscale', 'bagscale'],
  payment: ['basket'],
  journal: ['basket', 'attendant', 'payment'],
};

/** The attendant PIN of the tests and its scrypt hash (lanectl hash-password 2468). */
export const PIN = '2468';

/** One basket line as doc/basket shows it after a plain scan of `p`. */
export const basketLine = (p: { gtin: string; name: string; price: number; g?: number }, line: string, extra: Record<string, unknown> = {}) => ({
  line,
  gtin: p.gtin,
  name: p.name,
  unit: 'each',
  unitPrice: p.price,
  quantity: 1,
  price: p.price,
  scan: '@BarcodeScanned',
  ...(p.g ? { bagging: { unitG: p.g } } : {}),
  ...extra,
});

const ULID = /[0-9A-HJKMNP-TV-Z]{26}/g;
const TIME_KEYS = new Set(['time', 'started', 'closed', 'raised', 'cleared', 'lockedUntil']);

/**
 * Event ids in data become `@<Type>` of the event they name, times `<time>`,
 * auth codes `<auth>`: what is left is exactly comparable.
 */
export function normalize(v: unknown, types: Map<string, string>): unknown {
  if (typeof v === 'string') return v.replace(ULID, (id) => `@${types.get(id) ?? '?'}`);
  if (Array.isArray(v)) return v.map((x) => normalize(x, types));
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, TIME_KEYS.has(k) ? '<time>' : k === 'authCode' ? '<auth>' : normalize(x, types)]),
    );
  }
  return v;
}

export type Stream = Record<string, Array<[string, unknown]>>;

/** Per source, the events of one transaction in seq order as [type, data]. */
export function streamsOf(events: Envelope[], txn: string, types: Map<string, string>): Stream {
  const out: Stream = {};
  for (const e of [...events].filter((x) => x.txn === txn).sort((a, b) => (a.source === b.source ? a.seq - b.seq : a.source < b.source ? -1 : 1))) {
    (out[e.source] ??= []).push([e.type, normalize(e.data, types)]);
  }
  return out;
}

export interface SessionOptions {
  services?: Record<string, Record<string, unknown>>;
  devices?: Record<string, Record<string, unknown>>;
  /** The config's `lane` (id, store, currency). */
  lane?: Record<string, unknown>;
  stateDir?: string;
  /** Sources per consumer for quiescence, when the lane's config changes them. */
  consumers?: Record<string, string[]>;
  /** Broker of a daemon already running (child process) instead of an in-process lane. */
  attach?: {
    brokerUrl: string;
    stateDir: string;
    password: (role: 'technician' | 'ui' | 'service') => string;
    /** ISO time the daemon was started. */ since: string;
  };
}

let clientN = 0;

export class LaneSession {
  readonly events: Envelope[] = [];
  readonly types = new Map<string, string>();
  readonly docs = new Map<string, Json>();
  private readonly basketView = new BasketView();
  private readonly logs = new Map<string, Map<string, number>>();
  /** Absolute weight on the simulated bagging scale and produce scale. */
  bagG = 0;
  produceG = 0;
  private readonly replies = new Map<string, (r: CommandReply) => void>();

  private constructor(
    readonly stateDir: string,
    readonly tech: MqttClient,
    readonly ui: MqttClient,
    /** Reads doc/# (the events come from the outbox logs, see refresh()). */
    readonly reader: MqttClient,
    readonly lane?: InProcessLane,
    readonly consumers: Record<string, string[]> = CONSUMERS,
  ) {}

  static async open(opts: SessionOptions = {}): Promise<LaneSession> {
    let lane: InProcessLane | undefined;
    let url: string;
    let password: (role: 'technician' | 'ui' | 'service') => string;
    let stateDir: string;
    if (opts.attach) {
      url = opts.attach.brokerUrl;
      password = opts.attach.password;
      stateDir = opts.attach.stateDir;
    } else {
      lane = await startLane({ devices: opts.devices ?? SIM_DEVICES, services: opts.services ?? {}, ...(opts.lane ? { lane: opts.lane } : {}) }, opts.stateDir);
      url = lane.brokerUrl;
      password = (role) => lane!.daemon.credentials.password(role);
      stateDir = lane.stateDir;
    }
    const connect = async (role: 'technician' | 'ui'): Promise<MqttClient> => {
      const c = noDelay(
        mqtt.connect(url, { clientId: `test-${role}-${process.pid}-${++clientN}`, username: role, password: password(role), reconnectPeriod: 200 }),
      );
      await new Promise<void>((resolve, reject) => {
        c.once('connect', () => resolve());
        c.once('error', reject);
      });
      return c;
    };
    const tech = await connect('technician');
    const ui = await connect('ui');
    const reader = await connect('technician');
    const s = new LaneSession(stateDir, tech, ui, reader, lane, { ...CONSUMERS, ...opts.consumers });
    const onMessage = (topic: string, payload: Buffer): void => s.onMessage(topic, payload);
    tech.on('message', onMessage);
    ui.on('message', onMessage);
    // the reader sees every command and reply too: each reply is checked against its command's contract
    reader.on('message', (topic: string, payload: Buffer) => (topic.startsWith('doc/') ? s.onMessage(topic, payload) : s.checkReply(topic, payload)));
    // A session that fails to open closes its clients (and lane): they would keep the test process alive.
    try {
      const devices = opts.attach ? SIM_DEVICES : (opts.devices ?? SIM_DEVICES);
      await s.settleAfterOpen(
        opts.attach?.since ?? '',
        ['bagscale', 'scanscale'].filter((d) => d in devices),
      );
    } catch (err) {
      await s.close();
      throw err;
    }
    return s;
  }

  private async settleAfterOpen(since: string, scales: string[]): Promise<void> {
    const { tech, ui, reader } = this;
    await new Promise((r) => tech.subscribe(`reply/${tech.options.clientId}/#`, { qos: 1 }, r));
    await new Promise((r) => reader.subscribe(['doc/#', 'cmd/#', 'reply/#'], { qos: 1 }, r));
    await new Promise((r) => ui.subscribe([`reply/${ui.options.clientId}/#`], { qos: 1 }, r));
    // The scales capture their zero at start: weights put on before would be zeroed away.
    for (const scale of scales) {
      await until(
        async () =>
          (
            await query<{ c: number }>(
              join(this.stateDir, 'devices.db'),
              "SELECT count(*) AS c FROM outbox WHERE source = ? AND type = 'ScaleStatus' AND json_extract(payload, '$.data.state') = 'zero' AND json_extract(payload, '$.time') >= ?",
              [scale, since],
            )
          )[0].c > 0,
        20_000,
        `${scale} zeroed`,
      );
    }
    await this.quiesce();
  }

  private onMessage(topic: string, payload: Buffer): void {
    let body: Json;
    try {
      body = payload.length === 0 && topic.startsWith('doc/') ? undefined : JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    if (topic.startsWith('doc/')) {
      const name = topic.slice(4);
      // every document published during a session matches its schema (checked again at close)
      const problem = body === undefined ? undefined : docProblem(name, body);
      if (problem) this.docProblems.push(problem);
      // doc/basket with its pages of lines: `docs.get('basket')` is the whole basket
      if (BasketView.covers(name)) {
        const basket = this.basketView.take(name, body);
        if (basket) this.docs.set('basket', basket);
      } else if (body === undefined) this.docs.delete(name);
      else this.docs.set(name, body);
    } else if (topic.startsWith('reply/')) {
      this.replies.get((body as CommandReply).id)?.(body as CommandReply);
    }
  }

  /** Commands seen by id, until their reply: what the reply is checked against. */
  private readonly asked = new Map<string, { target: string; name: string }>();

  /** A command or a reply anyone sent on the lane's broker: replies are checked against their command's contract (daemon/services/commands.ts). */
  checkReply(topic: string, payload: Buffer): void {
    const t = parseTopic(topic);
    let body: { id?: unknown };
    try {
      body = JSON.parse(payload.toString('utf8')) as { id?: unknown };
    } catch {
      return;
    }
    if (typeof body?.id !== 'string') return;
    if (t?.kind === 'cmd' && t.name !== 'Replay') this.asked.set(body.id, { target: t.target, name: t.name });
    else if (t?.kind === 'reply') {
      const asked = this.asked.get(body.id);
      if (!asked) return;
      this.asked.delete(body.id);
      const problem = commandReplyProblem(asked.target, asked.name, body);
      if (problem) this.replyProblems.push(problem);
    }
  }

  /** Send a command and return its reply (ok or not); `as` picks the client role. */
  async cmd(target: string, name: string, args?: unknown, opts: { as?: 'ui' | 'technician'; by?: string; id?: string } = {}): Promise<CommandReply> {
    const client = opts.as === 'technician' ? this.tech : this.ui;
    const cmd = newCommand(args, undefined, opts.by);
    if (opts.id) cmd.id = opts.id;
    cmd.replyTo = `reply/${client.options.clientId}/${cmd.id}`;
    const reply = new Promise<CommandReply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${target}/${name} ${JSON.stringify(args)}`)), 20_000);
      this.replies.set(cmd.id, (r) => {
        clearTimeout(timer);
        this.replies.delete(cmd.id);
        resolve(r);
      });
    });
    client.publish(`cmd/${target}/${name}`, JSON.stringify(cmd), { qos: 1 });
    return reply;
  }

  /** A command that must succeed; its result. */
  async ok(target: string, name: string, args?: unknown, opts: { as?: 'ui' | 'technician'; by?: string } = {}): Promise<Json> {
    const r = await this.cmd(target, name, args, opts);
    if (!r.ok) throw new Error(`${target}/${name} failed: ${r.error}`);
    return r.result;
  }

  /**
   * The published stream, read from each source's outbox log (events the broker
   * acknowledged): every event exactly once, whatever an observer's delivery.
   */
  async refresh(): Promise<void> {
    for (const file of readdirSync(this.stateDir)) {
      if (!file.endsWith('.db') || file === 'broker.db' || file === 'payment-terminal.db') continue;
      const last = this.logs.get(file) ?? new Map<string, number>();
      this.logs.set(file, last);
      const from = last.size ? Math.min(...last.values()) : 0;
      let rows: Array<{ source: string; seq: number; payload: string }>;
      try {
        rows = await query(join(this.stateDir, file), 'SELECT source, seq, payload FROM outbox WHERE sent = 1 AND seq > ? ORDER BY source, seq', [from]);
      } catch {
        continue;
      }
      for (const r of rows) {
        if (r.seq <= (last.get(r.source) ?? 0)) continue;
        last.set(r.source, r.seq);
        const ev = JSON.parse(r.payload) as Envelope;
        this.types.set(ev.id, ev.type);
        if (ev.type !== 'DeviceStatus') this.events.push(ev);
      }
    }
  }

  /** Patterns the lane light's driver switched to (its OutputChanged events). */
  get lights(): string[] {
    return this.events.filter((e) => e.type === 'OutputChanged' && e.source === 'light').map((e) => (e.data as { pattern: string }).pattern);
  }

  async waitFor(pred: (e: Envelope<Json>) => boolean, what: string, timeoutMs = 20_000): Promise<Envelope<Json>> {
    let hit: Envelope | undefined;
    await until(
      async () => {
        await this.refresh();
        return Boolean((hit = this.events.find(pred)));
      },
      timeoutMs,
      what,
    );
    return hit!;
  }

  async waitDoc(name: string, pred: (d: Json) => boolean, what: string, timeoutMs = 20_000): Promise<Json> {
    await until(() => this.docs.has(name) && pred(this.docs.get(name)), timeoutMs, what);
    return this.docs.get(name);
  }

  /** Events so far (call refresh() or a wait first). */
  count(pred: (e: Envelope<Json>) => boolean): number {
    return this.events.filter(pred).length;
  }

  /** Scan a code on a simulated scanner; resolves with the BarcodeScanned once the catalog resolved it. */
  async scan(code: string, device = 'scanner'): Promise<Envelope<Json>> {
    await this.refresh();
    const before = new Set(this.events.filter((e) => e.type === 'BarcodeScanned').map((e) => e.id));
    await this.ok('sim', 'Scan', { code, device }, { as: 'technician' });
    const scan = await this.waitFor(
      (e) => e.type === 'BarcodeScanned' && e.source === device && !before.has(e.id) && e.data.raw === code,
      `BarcodeScanned ${code}`,
    );
    await this.waitFor((e) => e.type === 'ScanResolved' && e.data.scan === scan.id, `ScanResolved of ${code}`);
    return scan;
  }

  /** Scan an item and wait for its basket line. */
  async scanItem(code: string): Promise<Envelope<Json>> {
    const scan = await this.scan(code);
    return this.waitFor((e) => e.type === 'ItemAddedToBasket' && e.data.scan === scan.id, `ItemAddedToBasket for ${code}`);
  }

  /** Set the bagging scale to `grams` (absolute); with a transaction open, waits for its verdict. */
  async bagTo(grams: number, verdict = true): Promise<Envelope<Json>> {
    await this.refresh();
    const before = this.bagG;
    this.bagG = grams;
    const known = new Set(this.events.filter((e) => e.type === 'WeightHasChanged').map((e) => e.id));
    await this.ok('sim', 'Weight', { grams, device: 'bagscale' }, { as: 'technician' });
    const w = await this.waitFor(
      (e) => e.type === 'WeightHasChanged' && !known.has(e.id) && Math.abs(e.data.grams - grams) <= 2,
      `WeightHasChanged to ${grams} g (from ${before} g)`,
    );
    if (verdict) await this.waitFor((e) => e.source === 'weightcheck' && e.data.key === `w:${w.id}`, `verdict of ${grams} g`);
    await this.quiesce();
    return w;
  }

  bag(deltaG: number, verdict = true): Promise<Envelope<Json>> {
    return this.bagTo(this.bagG + deltaG, verdict);
  }

  /** Put produce on (grams > 0) or take it off (0) the scanner-scale. */
  async produce(grams: number): Promise<Envelope<Json>> {
    await this.refresh();
    this.produceG = grams;
    const known = new Set(this.events.filter((e) => e.source === 'scanscale').map((e) => e.id));
    await this.ok('sim', 'Produce', { grams, device: 'scanscale' }, { as: 'technician' });
    const w = await this.waitFor(
      (e) =>
        e.source === 'scanscale' &&
        !known.has(e.id) &&
        (grams > 0 ? e.type === 'ProduceWeighed' && Math.abs(e.data.grams - grams) <= 2 : e.type === 'ScaleStatus' && e.data.state === 'zero'),
      grams > 0 ? `ProduceWeighed ${grams} g` : 'produce scale back at zero',
    );
    await this.quiesce();
    return w;
  }

  /** Turn the attendant key switch. */
  async key(on: boolean): Promise<void> {
    await this.refresh();
    const known = this.count((e) => e.type === 'AttendantModeChanged');
    await this.ok('sim', 'Input', { device: 'keyswitch', on }, { as: 'technician' });
    await this.waitFor(
      (e) => e.type === 'InputChanged' && e.source === 'keyswitch' && e.data.on === on && this.count((x) => x.type === 'AttendantModeChanged') > known,
      `key switch ${on ? 'on' : 'off'}`,
    );
    await this.quiesce();
  }

  /** Pay with the simulated terminal and wait for the end of that attempt. */
  async pay(): Promise<{ payment: string; outcome: Envelope<Json> }> {
    const r = await this.ok('basket', 'Pay');
    const outcome = await this.waitFor(
      (e) => (e.type === 'PaymentAuthorized' || e.type === 'PaymentDeclined') && e.data.payment === r.payment,
      `outcome of ${r.payment}`,
    );
    if (outcome.type === 'PaymentAuthorized') await this.waitFor((e) => e.type === 'ReceiptRecorded' && e.txn === r.txn, `receipt of ${r.txn}`);
    await this.quiesce();
    return { payment: r.payment, outcome };
  }

  /** End of a scenario: the shopper takes the bags and the produce away. */
  async leave(): Promise<void> {
    await this.waitDoc('bagging', (d) => d.txn === null, 'weightcheck idle');
    if (this.bagG !== 0) await this.bagTo(0, false);
    if (this.produceG !== 0) await this.produce(0);
    await this.quiesce();
  }

  /**
   * Every service has applied every event of its sources seen so far, every outbox
   * is acknowledged, and the retained documents are the latest: nothing is in flight.
   */
  async quiesce(timeoutMs = 20_000): Promise<void> {
    let lastCount = -1;
    let behind = '';
    const settled = async (): Promise<boolean> => {
      await this.refresh();
      const count = this.events.length;
      const stable = count === lastCount;
      lastCount = count;
      if (!stable) return false;
      const maxSeq = new Map<string, number>();
      for (const e of this.events) maxSeq.set(e.source, Math.max(maxSeq.get(e.source) ?? 0, e.seq));
      for (const [svc, sources] of Object.entries(this.consumers)) {
        const db = join(this.stateDir, `${svc}.db`);
        const pos = new Map(
          (await query<{ source: string; last_seq: number }>(db, 'SELECT source, last_seq FROM inbox_position')).map((r) => [r.source, r.last_seq]),
        );
        for (const src of sources) {
          if ((maxSeq.get(src) ?? 0) > (pos.get(src) ?? 0)) {
            behind = `${svc} at ${src}#${pos.get(src) ?? 0} of ${maxSeq.get(src)}`;
            return false;
          }
        }
        const unsent = await query<{ c: number }>(db, 'SELECT count(*) AS c FROM outbox WHERE sent = 0');
        if (unsent[0].c > 0) {
          behind = `${svc}: ${unsent[0].c} events not acknowledged`;
          return false;
        }
      }
      const rev = await query<{ v: string }>(join(this.stateDir, 'basket.db'), "SELECT v FROM basket_state WHERE k = 'rev'");
      if (rev[0] && this.docs.get('basket')?.rev !== Number(rev[0].v)) {
        behind = `doc/basket rev ${this.docs.get('basket')?.rev} of ${rev[0].v}`;
        return false;
      }
      // Events marked sent after the first read would pass the checks above unseen: read again.
      await this.refresh();
      return this.events.length === count;
    };
    await until(settled, timeoutMs, 'the lane to settle').catch((err: Error) => {
      throw new Error(`${err.message}: ${behind}`);
    });
  }

  /**
   * A device source this test publishes for itself (role service, clientId laned-<name>):
   * events with a chosen board time, to deliver them in an order the drivers would not.
   */
  async fakeSource(name: string): Promise<{ publish(type: string, data: unknown, at?: BoardTime): Promise<Envelope> }> {
    if (!this.lane) throw new Error('fake sources need an in-process lane');
    const client = await this.lane.connect('service', `laned-${name}`);
    let seq = 0;
    return {
      publish: async (type, data, at = this.lane!.daemon.clock.now()) => {
        const ev: Envelope = { id: newEventId(), type, v: 1, source: name, seq: ++seq, at, time: new Date().toISOString(), data };
        await new Promise<void>((resolve, reject) =>
          client.publish(`evt/${name}/${type}`, JSON.stringify(ev), { qos: 1 }, (err) => (err ? reject(err) : resolve())),
        );
        this.types.set(ev.id, ev.type);
        this.events.push(ev);
        return ev;
      },
    };
  }

  /** Board time `ms` from now (for fake sources). */
  boardTime(ms = 0): BoardTime {
    const now = this.lane!.daemon.clock.now();
    return { epoch: now.epoch, mono: (BigInt(now.mono) + BigInt(ms) * 1_000_000n).toString() };
  }

  streams(txn: string): Stream {
    return streamsOf(this.events, txn, this.types);
  }

  /** The journal's receipt of a transaction, normalized. */
  async receipt(txn: string): Promise<Json> {
    return normalize(await wholeReceipt(async (from) => (await this.ok('journal', 'Show', { txn, from }, { as: 'technician' })) as ReceiptPage), this.types);
  }

  /** Documents seen that do not match their schema (daemon/services/docs.ts). */
  readonly docProblems: string[] = [];

  /** Replies seen that break their command's contract (daemon/services/commands.ts). */
  readonly replyProblems: string[] = [];

  /** Stops the lane; throws when a document published during the session broke its schema, or a reply its command's contract. */
  async close(): Promise<void> {
    this.tech.end(true);
    this.ui.end(true);
    this.reader.end(true);
    await this.lane?.stop();
    if (this.docProblems.length) throw new Error(`documents that do not match their schema:\n${[...new Set(this.docProblems)].join('\n')}`);
    if (this.replyProblems.length) throw new Error(`replies that break their command's contract:\n${[...new Set(this.replyProblems)].join('\n')}`);
  }
}
