import { PACKAGE_VERSION } from '../../core/version.js';
import type { LaneStateDoc } from './contract.js';

interface LaneDocSeen {
  state?: string;
  closed?: boolean;
  txn?: string | null;
  interventions?: Array<{ blocking?: boolean }>;
}

interface DevicesDocSeen {
  devices?: Array<{ name?: string; state?: string }>;
}

interface BasketDocSeen {
  status?: string;
  txn?: string | null;
}

interface UpdaterDocSeen {
  slot?: string;
  current?: string;
  state?: string;
}

/**
 * The lane's state as store IT's fleet view shows it (`…/state`), made from the
 * documents the lane's services keep retained (doc/lane, doc/basket, doc/devices, doc/updater)
 * and what the uplink itself sees. `changed()` says whether it differs from what
 * was last published (the time and the uptime aside).
 */
export class FleetState {
  private lane: LaneDocSeen | undefined;
  private devices: DevicesDocSeen | undefined;
  private devicesText: string | undefined;
  private updater: UpdaterDocSeen | undefined;
  private basket: BasketDocSeen | undefined;
  private lastSale: string | undefined;
  private published = '';

  constructor(private readonly ids: { storeId: string; laneId: string }) {}

  /** A retained document of the lane; true when it changes what the state says. */
  noteDoc(name: string, payload: Buffer): boolean {
    let doc: unknown;
    try {
      doc = payload.length ? JSON.parse(payload.toString('utf8')) : undefined;
    } catch {
      return false;
    }
    if (name === 'lane') this.lane = doc as LaneDocSeen | undefined;
    else if (name === 'devices') {
      this.devices = doc as DevicesDocSeen | undefined;
      this.devicesText = payload.toString('utf8');
    } else if (name === 'updater') this.updater = doc as UpdaterDocSeen | undefined;
    else if (name === 'basket') this.basket = doc as BasketDocSeen | undefined;
    else return false;
    return true;
  }

  noteSale(time: string): void {
    this.lastSale = time;
  }

  /** The retained `…/devices`: doc/devices as the devices host publishes it. */
  devicesDoc(): string | undefined {
    return this.devicesText;
  }

  /** `backlog`: the uplink's own (events not yet at the store); `outbox`: each service's events not yet acknowledged by the lane broker. */
  build(backlog: number, outbox: Record<string, number>): LaneStateDoc {
    const behind = Object.entries(outbox)
      .filter(([, n]) => n > 0)
      .sort(([a], [b]) => a.localeCompare(b));
    const lane = this.lane;
    const blocking = lane?.interventions?.filter((i) => i.blocking).length ?? 0;
    const devices: Record<string, string> = {};
    for (const d of this.devices?.devices ?? []) if (d.name && d.state) devices[d.name] = d.state;
    const slot = this.updater?.slot ?? this.updater?.current;
    return {
      state: 'online',
      storeId: this.ids.storeId,
      laneId: this.ids.laneId,
      version: PACKAGE_VERSION,
      ...(slot ? { slot } : {}),
      ...(this.updater?.state ? { update: this.updater.state } : {}),
      uptimeS: Math.floor(process.uptime()),
      lane: !lane ? 'unknown' : lane.closed || lane.state === 'closed' ? 'closed' : blocking ? 'attention' : 'open',
      // the basket's summary says whether a shopper's transaction is open
      transactionOpen: this.transactionOpen(),
      alarms: lane?.interventions?.length ?? 0,
      devices,
      uplinkBacklog: backlog,
      outboxBacklog: behind.reduce((a, [, n]) => a + n, 0),
      outboxBacklogs: Object.fromEntries(behind),
      ...(this.lastSale ? { lastSale: this.lastSale } : {}),
      time: new Date().toISOString(),
    };
  }

  /** A shopper's transaction is open (the basket's summary says so). */
  transactionOpen(): boolean {
    return this.basket?.status === 'open' || this.basket?.status === 'paying';
  }

  /** Whether `doc` says something new (its time and uptime aside); remembers it as published. */
  changed(doc: LaneStateDoc): boolean {
    const { time: _t, uptimeS: _u, ...rest } = doc;
    const text = JSON.stringify(rest);
    if (text === this.published) return false;
    this.published = text;
    return true;
  }

  /** After a reconnect the next state is sent whatever it holds. */
  forget(): void {
    this.published = '';
  }
}
