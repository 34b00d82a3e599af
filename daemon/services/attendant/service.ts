import { CommandError, commandSpecs, type ServiceDefinition, type ServiceLogic } from '../../runtime/runtime.js';
import { ATTENDANT_COMMANDS } from './commands.js';
import type { Tx } from '../../store/store.js';
import type { Envelope } from '../../events/envelope.js';
import type { EmitMeta } from '../../events/outbox.js';
import { compareBoardTime, type BoardTime, type Timer } from '../../events/clock.js';
import { deviceCan, devicesWith } from '../../runtime/devices.js';
import { KvTable, TxCache } from '../../store/kv.js';
import { verifyHash } from '../../../broker/credentials.js';
import { ALARM_VERDICTS, type InterventionKindName } from '../../events/schemas/checkout.js';
import type { DomainEvent, TypedData } from '../../events/schemas/index.js';
import { laneNeeds, unmet, type DeviceSeen } from './needs.js';
import type { AttendantSettings } from './settings.js';
import { leaseLeftMs, newLease, type Lease } from '../../updater/lease.js';

export type LaneState = 'idle' | 'shopping' | 'assist' | 'intervention' | 'attendant' | 'closed';

const DDL = `
CREATE TABLE IF NOT EXISTS att_txns (txn TEXT PRIMARY KEY, corr TEXT, closed INTEGER NOT NULL DEFAULT 0, age_verified INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS att_interventions (
  id TEXT PRIMARY KEY, n INTEGER NOT NULL UNIQUE, txn TEXT, kind TEXT NOT NULL, reason TEXT NOT NULL, blocking INTEGER NOT NULL,
  ref TEXT NOT NULL, event TEXT NOT NULL, okey TEXT, line TEXT, age INTEGER, open INTEGER NOT NULL DEFAULT 1, resolution TEXT, by TEXT,
  raised TEXT NOT NULL, cleared TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS att_interventions_open ON att_interventions (open, txn);`;

interface InterventionRow {
  id: string;
  n: number;
  txn: string | null;
  kind: InterventionKindName;
  reason: string;
  blocking: number;
  ref: string;
  /** The InterventionRequired event. */
  event: string;
  okey: string | null;
  line: string | null;
  age: number | null;
  open: number;
  raised: string;
}

interface TxnRow {
  txn: string;
  corr: string | null;
  closed: number;
  age_verified: number;
}

/** Wrong PINs of one attempt source (a screen, a client). */
interface PinState {
  failures: number;
  lockedUntil?: BoardTime;
  lockedUntilIso?: string;
  /** Lockouts since the last right PIN. */
  lockouts?: number;
}

/** Store IT's closure (uplink Close), kept until its Open. */
interface StoreClosed {
  by: string;
  reason?: string;
  since: string;
}

interface StoreMessage {
  text: string;
  by: string;
  time: string;
}

/** Store messages doc/lane keeps, newest first. */
const STORE_MESSAGES = 5;

/** Store IT's sender as the uplink names it: `store:` and up to 64 characters. */

const DEFAULT_PATTERNS: Record<LaneState, string> = {
  idle: 'on',
  shopping: 'on',
  assist: 'flash',
  intervention: 'blink',
  attendant: 'fast-blink',
  closed: 'fault',
};

/**
 * Where PIN attempts come from: every kiosk session (`ui-<random>`, a new one per
 * connection) is the one screen, so reconnecting does not reset its count; any
 * other client is its own source.
 */
export function pinSource(from: string | undefined): string {
  if (!from) return 'unknown';
  return /^ui-[0-9a-f]+$/.test(from) ? 'screen' : from;
}

/** "4 min 12 s", "45 s". */
function duration(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}` : `${s} s`;
}

function alarmReason(ev: TypedData<(typeof ALARM_VERDICTS)[number]>): string {
  switch (ev.type) {
    case 'ItemNotBagged':
      return `Item ${ev.data.line} was not put in the bagging area`;
    case 'UnexpectedItemInBaggingArea':
      return `Unexpected item in the bagging area (+${ev.data.excessG} g)`;
    case 'ItemRemovedFromBaggingArea':
      return `Item taken from the bagging area (-${ev.data.missingG} g)`;
    default:
      return `Bagging area weighs ${ev.data.actualG} g, expected ${ev.data.expectedG} g`;
  }
}

const isAlarm = (ev: DomainEvent): ev is DomainEvent<(typeof ALARM_VERDICTS)[number]> => (ALARM_VERDICTS as readonly string[]).includes(ev.type);

/**
 * attendant: turns verdicts, age-restricted items, removals, unknown items and
 * declined payments into interventions; drives the lane light per lane state;
 * takes overrides with the attendant PIN (scrypt, lockout) or the key switch.
 * Every override and every refused PIN is an event, so the journal keeps them.
 */
export const attendant: ServiceDefinition<AttendantSettings> = {
  name: 'attendant',
  /** Sent by the touch UI: call for help; the staff screen's PIN sign-in and overrides. */
  ui: ['Call', 'CheckPin', 'Override'],
  create(ctx): ServiceLogic {
    const s = ctx.settings;
    const keySwitch = s.keySwitch ?? (deviceCan(ctx.config, 'keyswitch', 'input') ? 'keyswitch' : undefined);
    const lamp = deviceCan(ctx.config, 'light', 'light') ? 'light' : devicesWith(ctx.config, 'light')[0];
    const lights: Partial<Record<LaneState, Record<string, string>>> =
      s.lights ?? (lamp ? Object.fromEntries(Object.entries(DEFAULT_PATTERNS).map(([st, p]) => [st, { [lamp]: p }])) : {});
    const lightTarget = s.lightTarget ?? 'devices';
    const maxFailures = s.maxPinFailures ?? 3;
    const lockoutMs = s.lockoutMs ?? 5 * 60_000;
    const lockoutsBeforeAlarm = s.lockoutsBeforeAlarm ?? 2;
    const needs = laneNeeds(ctx.config);
    const neededDevices = [...new Set(needs.flatMap((n) => n.devices))];
    /** Timers that redraw doc/lane when a PIN lockout ends. */
    const unlockTimers = new Set<Timer>();
    let stopping = false;

    const kv = new KvTable('att_state');

    // Every event looks at its transaction's row and at the open interventions: both are
    // read through caches of committed rows, and a write makes the next read go to the table.
    const txns = new TxCache<string, TxnRow>(20);
    const openCache = new TxCache<'all', InterventionRow[]>();

    const txnRow = async (tx: Tx, txn: string | undefined): Promise<TxnRow | undefined> => {
      if (!txn) return undefined;
      const hit = txns.get(tx, txn);
      if (hit) return { ...hit };
      const row = await tx.get<TxnRow>('SELECT * FROM att_txns WHERE txn = ?', [txn]);
      if (row) txns.fill(tx, txn, { ...row });
      return row;
    };
    /** Events of a transaction this service has not seen start still count (sources race). */
    const known = async (tx: Tx, ev: Envelope): Promise<TxnRow | undefined> => {
      if (!ev.txn) return undefined;
      const row = await txnRow(tx, ev.txn);
      if (row) return row;
      await tx.run('INSERT INTO att_txns (txn, corr) VALUES (?, ?)', [ev.txn, ev.corr ?? null]);
      txns.write(tx, ev.txn);
      return { txn: ev.txn, corr: ev.corr ?? null, closed: 0, age_verified: 0 };
    };
    const metaFor = async (tx: Tx, txn: string | null, cause?: string): Promise<EmitMeta> => {
      const t = txn ? await txnRow(tx, txn) : undefined;
      return { ...(txn ? { txn } : {}), ...(t?.corr ? { corr: t.corr } : {}), ...(cause ? { cause } : {}) };
    };

    const raise = async (
      tx: Tx,
      ev: Envelope,
      i: { kind: InterventionKindName; reason: string; blocking: boolean; key?: string; line?: string; age?: number },
    ): Promise<string> => {
      const r = await tx.get<{ m: number | null }>('SELECT max(n) AS m FROM att_interventions');
      const n = (r?.m ?? 0) + 1;
      const id = `I-${String(n).padStart(4, '0')}`;
      const txn = ev.txn ?? null;
      const e = await ctx.emit(
        tx,
        'InterventionRequired',
        {
          intervention: id,
          kind: i.kind,
          reason: i.reason.slice(0, 300),
          blocking: i.blocking,
          ref: ev.id,
          ...(i.key ? { key: i.key } : {}),
          ...(i.line ? { line: i.line } : {}),
        },
        await metaFor(tx, txn, ev.id),
      );
      openCache.write(tx, 'all');
      await tx.run('INSERT INTO att_interventions (id, n, txn, kind, reason, blocking, ref, event, okey, line, age, raised) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)', [
        id,
        n,
        txn,
        i.kind,
        i.reason,
        i.blocking ? 1 : 0,
        ev.id,
        e.id,
        i.key ?? null,
        i.line ?? null,
        i.age ?? null,
        e.time,
      ]);
      tx.afterCommit(() =>
        ctx.log.warn(
          { intervention: id, kind: i.kind, txn, blocking: i.blocking, ...(i.key ? { key: i.key } : {}) },
          `intervention ${id} opened (${i.kind}): ${i.reason}`,
        ),
      );
      return id;
    };

    const clear = async (
      tx: Tx,
      row: InterventionRow,
      resolution: 'resolved' | 'retracted' | 'approved' | 'rejected' | 'transaction-ended',
      cause: string,
      by?: string,
    ): Promise<void> => {
      await ctx.emit(
        tx,
        'InterventionCleared',
        {
          intervention: row.id,
          kind: row.kind,
          resolution,
          ...(row.okey ? { key: row.okey } : {}),
          ...(row.line ? { line: row.line } : {}),
          ...(by ? { by } : {}),
        },
        await metaFor(tx, row.txn, cause),
      );
      openCache.write(tx, 'all');
      await tx.run('UPDATE att_interventions SET open = 0, resolution = ?, by = ?, cleared = ? WHERE id = ?', [
        resolution,
        by ?? null,
        new Date().toISOString(),
        row.id,
      ]);
    };

    const openRows = async (tx: Tx, where = '', params: unknown[] = []): Promise<InterventionRow[]> => {
      const all = where === '';
      const hit = all ? openCache.get(tx, 'all') : undefined;
      if (hit) return hit.map((r) => ({ ...r }));
      const rows = await tx.all<InterventionRow>(`SELECT * FROM att_interventions WHERE open = 1 ${where} ORDER BY n`, params);
      if (all)
        openCache.fill(
          tx,
          'all',
          rows.map((r) => ({ ...r })),
        );
      return rows;
    };

    /** What the last committed doc/lane said, for status() (the STATUS= line). */
    let shown: { txn?: string; alarms: number } = { alarms: 0 };

    /** Lane state, doc/lane and the light, after every change. */
    const refresh = async (tx: Tx): Promise<void> => {
      const mode = (await kv.get<boolean>(tx, 'mode')) ?? false;
      const open = await openRows(tx);
      const current = await kv.get<string>(tx, 'current');
      const missing = await kv.get<Array<{ need: string; devices: string[]; fault: string }>>(tx, 'missing');
      const closed = Boolean(missing?.length);
      const store = await kv.get<StoreClosed>(tx, 'store');
      const messages = await kv.get<StoreMessage[]>(tx, 'storeMessages');
      const lease = await kv.get<Lease>(tx, 'updateLease');
      const updating = leaseLeftMs(ctx.clock, lease) > 0;
      const state: LaneState = mode
        ? 'attendant'
        : closed || updating || (store && !current)
          ? 'closed'
          : open.some((i) => i.blocking)
            ? 'intervention'
            : open.length
              ? 'assist'
              : current
                ? 'shopping'
                : 'idle';
      const now = ctx.clock.now();
      const locks = Object.values((await kv.get<Record<string, PinState>>(tx, 'pins')) ?? {})
        .filter((p) => p.lockedUntil && compareBoardTime(p.lockedUntil, now) > 0)
        .map((p) => p.lockedUntilIso!)
        .sort();
      const locked = locks.at(-1);
      const doc = {
        state,
        attendantMode: mode,
        /** No new shopper: a device the lane needs is missing (one mid-transaction waits for staff), store IT closed it, or an update. */
        closed: closed || updating || Boolean(store),
        ...(closed ? { missing } : {}),
        /** Store IT closed it: no new shopper; one mid-transaction finishes. */
        ...(store ? { storeClosed: store } : {}),
        ...(messages?.length ? { storeMessages: messages } : {}),
        /** An update holds the idle lease: "this lane is being updated, please use another". */
        ...(updating ? { updating: true, updatingUntil: lease!.untilIso } : {}),
        txn: current ?? null,
        light: lights[state] ?? {},
        interventions: open.map((i) => ({
          id: i.id,
          txn: i.txn,
          kind: i.kind,
          reason: i.reason,
          blocking: i.blocking === 1,
          raised: i.raised,
          ...(i.line ? { line: i.line } : {}),
          ...(i.okey ? { key: i.okey } : {}),
        })),
        ...(locked ? { pinLockedUntil: locked } : {}),
      };
      const before = await kv.get<LaneState>(tx, 'laneState');
      if (before !== state) await kv.set(tx, 'laneState', state);
      tx.afterCommit(() => {
        shown = { txn: current, alarms: open.length };
        ctx.publishDoc('lane', doc);
        if (before !== state) setLight(state);
      });
    };

    const setLight = (state: LaneState): void => {
      for (const [device, pattern] of Object.entries(lights[state] ?? {})) {
        ctx.sendCommand(lightTarget, 'Run', { device, command: 'set', args: { pattern } }, 'attendant');
      }
    };

    const onBasket = async (tx: Tx, ev: DomainEvent): Promise<void> => {
      const t = await known(tx, ev);
      if (!t) return;
      if (ev.type === 'TransactionStarted') {
        await kv.set(tx, 'current', t.txn);
        return;
      }
      if (ev.type === 'TransactionCompleted' || ev.type === 'TransactionCancelled') {
        for (const row of await openRows(tx, 'AND txn = ?', [t.txn])) await clear(tx, row, 'transaction-ended', ev.id);
        await tx.run('UPDATE att_txns SET closed = 1 WHERE txn = ?', [t.txn]);
        txns.write(tx, t.txn);
        if ((await kv.get<string>(tx, 'current')) === t.txn) await kv.set(tx, 'current', undefined);
        return;
      }
      if (t.closed) return;
      if (ev.type === 'ItemAddedToBasket' && typeof ev.data.ageRestricted === 'number') {
        const d = ev.data;
        if (t.age_verified >= ev.data.ageRestricted) return;
        await raise(tx, ev, {
          kind: 'age-check',
          reason: `Age check: ${d.name} needs a buyer aged ${ev.data.ageRestricted}+`,
          blocking: true,
          line: d.line,
          age: ev.data.ageRestricted,
        });
      } else if (ev.type === 'UnknownItemScanned') {
        const d = ev.data;
        await raise(tx, ev, { kind: 'unknown-item', reason: `Unknown item ${d.gtin ?? d.code}: ${d.reason}`, blocking: false });
      } else if (ev.type === 'ItemRemovalRequested') {
        const d = ev.data;
        const q = d.quantity;
        await raise(tx, ev, {
          kind: 'removal',
          reason: q === 0 ? `Remove ${d.name} (line ${d.line})` : `Lower ${d.name} (line ${d.line}) to ${q}`,
          blocking: true,
          line: d.line,
        });
      }
    };

    const onVerdict = async (tx: Tx, ev: DomainEvent): Promise<void> => {
      const t = await known(tx, ev);
      if (!t) return;
      if (ev.type === 'VerdictRetracted') {
        for (const row of await openRows(tx, 'AND ref = ?', [ev.data.retracts])) await clear(tx, row, 'retracted', ev.id);
        return;
      }
      if (ev.type !== 'WeightVerified' && !isAlarm(ev)) return;
      for (const key of ev.data.clears) {
        for (const row of await openRows(tx, "AND kind = 'weight' AND txn = ? AND okey = ?", [t.txn, key])) await clear(tx, row, 'resolved', ev.id);
      }
      if (isAlarm(ev) && !t.closed) {
        await raise(tx, ev, { kind: 'weight', reason: alarmReason(ev), blocking: true, key: ev.data.key });
      }
    };

    const onPayment = async (tx: Tx, ev: DomainEvent): Promise<void> => {
      const t = await known(tx, ev);
      if (!t) return;
      if (ev.type === 'PaymentDeclined' && !t.closed) {
        const d = ev.data;
        await raise(tx, ev, { kind: 'payment-declined', reason: `Payment ${d.reason}${d.detail ? `: ${d.detail}` : ''}`, blocking: false });
      } else if (ev.type === 'PaymentAuthorized') {
        for (const row of await openRows(tx, "AND kind = 'payment-declined' AND txn = ?", [t.txn])) await clear(tx, row, 'resolved', ev.id);
      }
    };

    const onKey = async (tx: Tx, ev: DomainEvent<'InputChanged'>): Promise<void> => {
      const { on } = ev.data;
      if (((await kv.get<boolean>(tx, 'mode')) ?? false) === on) return;
      await kv.set(tx, 'mode', on);
      const current = await kv.get<string>(tx, 'current');
      await ctx.emit(tx, 'AttendantModeChanged', { on, method: 'key' }, { ...(await metaFor(tx, current ?? null, ev.id)) });
    };

    /** Whether the lane's needs are met after a device reported; interventions and LaneClosed/LaneReopened follow. */
    const onDevice = async (tx: Tx, ev: DomainEvent<'DeviceStatus'>): Promise<boolean> => {
      const d = ev.data;
      // a device reconnecting passes through starting: keep what it was until it says
      if (d.state === 'starting' || !neededDevices.includes(ev.source)) return false;
      const seen = (await kv.get<Record<string, DeviceSeen>>(tx, 'devices')) ?? {};
      seen[ev.source] = { state: d.state, ...(d.detail ? { detail: d.detail } : {}) };
      await kv.set(tx, 'devices', seen);
      const down = unmet(needs, seen);
      const lane = { ...ev, txn: undefined, corr: undefined };
      const openDevice = await openRows(tx, "AND kind = 'device'");
      for (const row of openDevice) {
        if (!down.some((m) => m.need.name === row.okey)) await clear(tx, row, 'resolved', ev.id);
      }
      for (const m of down) {
        if (openDevice.some((row) => row.okey === m.need.name)) continue;
        await raise(tx, lane, {
          kind: 'device',
          reason: `The lane is closed: no ${m.need.label} works (${m.fault})`,
          blocking: true,
          key: m.need.name,
        });
      }
      const missing = down.map((m) => ({ need: m.need.name, devices: m.need.devices, fault: m.fault }));
      const before = (await kv.get<unknown[]>(tx, 'missing')) ?? [];
      const was = await closedNow(tx);
      await kv.set(tx, 'missing', missing.length ? missing : undefined);
      if (JSON.stringify(before) !== JSON.stringify(missing)) await closures(tx, ev.id, was);
      return true;
    };

    /**
     * The causes that keep the lane closed changed: LaneClosed with all of them, or
     * LaneReopened when none is left. Closures are independent: a device back does
     * not open a lane store IT closed, nor store IT's Open one a device keeps closed.
     * (An update's idle lease closes it too, only while idle, and is the basket's own.)
     */
    const closures = async (tx: Tx, cause: string | undefined, was: boolean, openedBy?: string): Promise<void> => {
      const missing = (await kv.get<Array<{ need: string; devices: string[]; fault: string }>>(tx, 'missing')) ?? [];
      const store = await kv.get<StoreClosed>(tx, 'store');
      const current = await kv.get<string>(tx, 'current');
      const meta = await metaFor(tx, current ?? null, cause);
      if (missing.length || store) {
        await ctx.emit(tx, 'LaneClosed', { missing, ...(store ? { store: { by: store.by, ...(store.reason ? { reason: store.reason } : {}) } } : {}) }, meta);
      } else if (was) await ctx.emit(tx, 'LaneReopened', openedBy ? { by: openedBy } : {}, meta);
    };
    /** Whether a device or store IT keeps the lane closed now (what the last LaneClosed/LaneReopened said). */
    const closedNow = async (tx: Tx): Promise<boolean> =>
      Boolean((await kv.get<unknown[]>(tx, 'missing'))?.length) || (await kv.get<StoreClosed>(tx, 'store')) !== undefined;

    /** Why the lane stays closed after store IT's Open, for the reply. */
    const stillClosed = async (tx: Tx): Promise<string[]> => [
      ...((await kv.get<Array<{ fault: string }>>(tx, 'missing')) ?? []).map((m) => `a device is missing (${m.fault})`),
      ...(leaseLeftMs(ctx.clock, await kv.get<Lease>(tx, 'updateLease')) > 0 ? ['an update holds it'] : []),
    ];

    const pinsOf = async (tx: Tx): Promise<Record<string, PinState>> => (await kv.get<Record<string, PinState>>(tx, 'pins')) ?? {};

    /** A lockout that has run out: the count starts again (its lockouts in a row are kept). */
    const expire = (pin: PinState): PinState => {
      if (pin.lockedUntil && compareBoardTime(pin.lockedUntil, ctx.clock.now()) <= 0)
        return { failures: 0, ...(pin.lockouts ? { lockouts: pin.lockouts } : {}) };
      return pin;
    };

    /** doc/lane drops the lockout when it ends. */
    const redrawAt = (ms: number): void => {
      if (stopping) return;
      const timer = ctx.timers.setTimeout(() => {
        unlockTimers.delete(timer);
        ctx
          .runKeyed('lane', () => ctx.tx((tx) => refresh(tx)))
          .catch((err: Error) => ctx.log.error({ err: err.message }, 'could not redraw doc/lane after a PIN lockout ended'));
      }, ms + 5);
      unlockTimers.add(timer);
    };

    /** A wrong PIN: counted (and journaled) in its own transaction, since the command's rolls back. */
    const recordFailure = async (tx: Tx, by: string, source: string): Promise<void> => {
      const pins = await pinsOf(tx);
      const pin = expire(pins[source] ?? { failures: 0 });
      pin.failures += 1;
      let reason = `wrong PIN (${pin.failures} of ${maxFailures})`;
      const locking = pin.failures >= maxFailures;
      if (locking) {
        const now = ctx.clock.now();
        pin.lockedUntil = { epoch: now.epoch, mono: (BigInt(now.mono) + BigInt(lockoutMs) * 1_000_000n).toString() };
        pin.lockedUntilIso = new Date(Date.now() + lockoutMs).toISOString();
        pin.lockouts = (pin.lockouts ?? 0) + 1;
        reason = `wrong PIN ${pin.failures} times: PIN overrides locked for ${duration(lockoutMs)}`;
      }
      pins[source] = pin;
      await kv.set(tx, 'pins', pins);
      const current = await kv.get<string>(tx, 'current');
      const refused = await ctx.emit(
        tx,
        'OverrideRefused',
        { by, reason, failures: pin.failures, ...(locking ? { lockedUntil: pin.lockedUntilIso } : {}) },
        await metaFor(tx, current ?? null),
      );
      if (locking) {
        const lockouts = pin.lockouts ?? 1;
        tx.afterCommit(() => {
          ctx.log.warn(
            { source, by, failures: pin.failures, lockouts, lockedForMs: lockoutMs },
            `PIN sign-in from ${source} locked for ${duration(lockoutMs)} after ${pin.failures} wrong PINs (lockout ${lockouts} in a row)`,
          );
          redrawAt(lockoutMs);
        });
        const [already] = await openRows(tx, "AND kind = 'pin-lockout' AND okey = ?", [source]);
        if (lockouts >= lockoutsBeforeAlarm && !already) {
          await raise(
            tx,
            { ...refused, txn: undefined, corr: undefined },
            {
              kind: 'pin-lockout',
              reason: `PIN sign-in from ${source} locked ${lockouts} times in a row (${pin.failures} wrong PINs each): someone keeps trying PINs; check the lane`,
              blocking: false,
              key: source,
            },
          );
        }
      }
      await refresh(tx);
    };

    /**
     * Who may override: the key switch (attendant mode), else the attendant PIN, with
     * wrong PINs counted per attempt source toward a lockout of that source (recorded
     * even though the command fails). The key switch is never locked.
     */
    const authorize = async (tx: Tx, pinArg: string | undefined, by: string, from: string | undefined): Promise<'key' | 'pin'> => {
      const mode = (await kv.get<boolean>(tx, 'mode')) ?? false;
      let method: 'key' | 'pin' = 'key';
      if (!mode) {
        method = 'pin';
        if (!s.pinHash)
          throw new CommandError(
            'no attendant PIN is configured (services.attendant.pinHash, made by lanectl hash-password --pin <digits>): turn the key switch',
          );
        const source = pinSource(from);
        const pins = await pinsOf(tx);
        const pin = expire(pins[source] ?? { failures: 0 });
        if (pin.lockedUntil) {
          const left = Number((BigInt(pin.lockedUntil.mono) - BigInt(ctx.clock.now().mono)) / 1_000_000n);
          throw new CommandError(
            `PIN overrides are locked for another ${duration(left)} (${Math.ceil(left / 1000)} s) after ${maxFailures} wrong PINs; turn the key switch`,
          );
        }
        if (!pinArg || !(await verifyHash(s.pinHash, pinArg))) {
          tx.onRollback(() => {
            void ctx
              .runKeyed('lane', () => ctx.tx((t2) => recordFailure(t2, by, source)))
              .catch((err: Error) => ctx.log.error({ err: err.message }, 'could not record a wrong PIN'));
          });
          const left = maxFailures - pin.failures - 1;
          throw new CommandError(
            left > 0
              ? `wrong PIN (${left} more ${left === 1 ? 'try' : 'tries'} before PIN overrides are locked)`
              : `wrong PIN: PIN overrides are locked for ${duration(lockoutMs)} (${Math.round(lockoutMs / 1000)} s); turn the key switch`,
          );
        }
        if (pins[source]) {
          delete pins[source];
          await kv.set(tx, 'pins', Object.keys(pins).length ? pins : undefined);
        }
      }
      return method;
    };

    return {
      sources: ['basket', 'weightcheck', 'payment', ...(keySwitch ? [keySwitch] : []), ...neededDevices.filter((d) => d !== keySwitch)],
      keyOf: () => 'lane',
      async migrate(store) {
        await store.exec(kv.ddl() + DDL);
      },
      async start() {
        await ctx.tx(async (tx) => {
          await kv.set(tx, 'laneState', undefined);
          await refresh(tx);
          const leftMs = leaseLeftMs(ctx.clock, await kv.get<Lease>(tx, 'updateLease'));
          if (leftMs > 0) tx.afterCommit(() => redrawAt(leftMs));
          const now = ctx.clock.now();
          for (const p of Object.values(await pinsOf(tx))) {
            if (p.lockedUntil && p.lockedUntil.epoch === now.epoch && compareBoardTime(p.lockedUntil, now) > 0)
              tx.afterCommit(() => redrawAt(Number((BigInt(p.lockedUntil!.mono) - BigInt(now.mono)) / 1_000_000n)));
          }
        });
      },
      async stop() {
        stopping = true;
        for (const timer of unlockTimers) ctx.timers.clearTimeout(timer);
        unlockTimers.clear();
      },
      status: () => ({ ...(shown.txn ? { txn: shown.txn } : {}), alarms: shown.alarms }),
      async onEvent(ev, tx) {
        if (ev.source === 'basket') await onBasket(tx, ev);
        else if (ev.source === 'weightcheck') await onVerdict(tx, ev);
        else if (ev.source === 'payment') await onPayment(tx, ev);
        else if (ev.source === keySwitch && ev.type === 'InputChanged') await onKey(tx, ev);
        else if (ev.type === 'DeviceStatus') {
          if (!(await onDevice(tx, ev))) return;
        } else return;
        await refresh(tx);
      },
      commands: commandSpecs(ATTENDANT_COMMANDS, {
        /**
         * "Call attendant" on the screen: one open assistance intervention at a time
         * (asking again while one is open answers with it), cleared by an override.
         */
        Call: {
          key: () => 'lane',
          async handle(args, tx, m) {
            const [open] = await openRows(tx, "AND kind = 'assistance'");
            if (open) return { intervention: open.id, already: true };
            const current = await kv.get<string>(tx, 'current');
            // the UI's call button is the shopper's
            const by = args.by ?? (m.by === 'ui' ? 'shopper' : m.by) ?? 'shopper';
            const asked = await ctx.emit(
              tx,
              'AssistanceRequested',
              { by, ...(args.reason ? { reason: args.reason } : {}) },
              await metaFor(tx, current ?? null),
            );
            const intervention = await raise(tx, asked, {
              kind: 'assistance',
              reason: args.reason ? `Help asked for: ${args.reason}` : 'The shopper asked for help',
              blocking: false,
            });
            await refresh(tx);
            return { intervention, already: false };
          },
        },
        /** The attendant screen's sign-in: the same check as an override, nothing overridden. */
        CheckPin: {
          key: () => 'lane',
          async handle(args, tx, m) {
            return { method: await authorize(tx, args.pin, args.by ?? (m.by === 'ui' ? undefined : m.by) ?? 'attendant', m.from) };
          },
        },
        /**
         * Approve or reject one open intervention (or all of them) as an attendant:
         * with the key switch turned, or with the PIN.
         */
        Override: {
          key: () => 'lane',
          async handle(args, tx, m) {
            // the staff screen is the attendant's
            const by = args.by ?? (m.by === 'ui' ? undefined : m.by) ?? 'attendant';
            const method = await authorize(tx, args.pin, by, m.from);
            const rows = args.intervention ? await openRows(tx, 'AND id = ?', [args.intervention]) : await openRows(tx);
            if (rows.length === 0) throw new CommandError(args.intervention ? `intervention ${args.intervention} is not open` : 'no intervention is open');
            // a missing device is mended at the device: its intervention clears when the device is back
            const targets = rows.filter((r) => r.kind !== 'device');
            if (targets.length === 0)
              throw new CommandError(`${rows.map((r) => `${r.id} (${r.reason})`).join('; ')}: clears by itself when the device works again`);
            const applied: Array<{ intervention: string; kind: InterventionKindName; action: 'approve' | 'reject' }> = [];
            for (const row of targets) {
              // A weight alarm is accepted or fixed at the scale: rejecting it means nothing.
              const action = row.kind === 'weight' ? 'approve' : args.action;
              const meta = await metaFor(tx, row.txn, row.event);
              const ov = await ctx.emit(
                tx,
                'OverrideApplied',
                {
                  intervention: row.id,
                  kind: row.kind,
                  action,
                  by,
                  method,
                  ...(args.reason ? { reason: args.reason } : {}),
                  ...(row.okey ? { key: row.okey } : {}),
                  ...(row.line ? { line: row.line } : {}),
                },
                meta,
              );
              if (row.kind === 'age-check' && action === 'approve' && row.txn && row.age) {
                await tx.run('UPDATE att_txns SET age_verified = max(age_verified, ?) WHERE txn = ?', [row.age, row.txn]);
                txns.write(tx, row.txn);
              }
              await clear(tx, row, action === 'approve' ? 'approved' : 'rejected', ov.id, by);
              applied.push({ intervention: row.id, kind: row.kind, action });
            }
            await refresh(tx);
            return { method, by, applied };
          },
        },
        /** The updater's idle lease (daemon/updater/lease.ts): no transaction, no staff mode, no open intervention. */
        UpdateLease: {
          key: () => 'lane',
          async handle(args, tx, m) {
            const txn = await kv.get<string>(tx, 'current');
            const busy = [
              ...(txn ? [`transaction ${txn} is open`] : []),
              ...(((await kv.get<boolean>(tx, 'mode')) ?? false) ? ['staff mode is on'] : []),
              ...(await openRows(tx)).map((i) => `intervention ${i.id} (${i.kind}) is open`),
            ];
            if (busy.length) throw new CommandError(`the lane is not idle: ${busy.join('; ')}`);
            const lease = newLease(ctx.clock, args.seconds);
            await kv.set(tx, 'updateLease', lease);
            await refresh(tx);
            tx.afterCommit(() => {
              ctx.log.info({ by: m.by, until: lease.untilIso }, `lane closed for an update by ${m.by ?? 'an unknown sender'} until ${lease.untilIso}`);
              redrawAt(args.seconds * 1000);
            });
            return { until: lease.untilIso };
          },
        },
        UpdateRelease: {
          key: () => 'lane',
          async handle(_args, tx, m) {
            const held = leaseLeftMs(ctx.clock, await kv.get<Lease>(tx, 'updateLease')) > 0;
            await kv.set(tx, 'updateLease', undefined);
            await refresh(tx);
            if (held) tx.afterCommit(() => ctx.log.info({ by: m.by }, `lane opened again: the update's lease given back by ${m.by ?? 'an unknown sender'}`));
            return { released: held };
          },
        },
        /**
         * Store IT's Close (through the uplink, which passes who sent it): no new shopper;
         * a transaction already open finishes. Closing again names the new sender and reason.
         */
        StoreClose: {
          key: () => 'lane',
          async handle(args, tx, m) {
            const by = args.by ?? m.by ?? 'store';
            const was = await closedNow(tx);
            const before = await kv.get<StoreClosed>(tx, 'store');
            const store: StoreClosed = { by, ...(args.reason ? { reason: args.reason } : {}), since: before?.since ?? new Date().toISOString() };
            const changed = before?.by !== store.by || before?.reason !== store.reason;
            if (changed) {
              await kv.set(tx, 'store', store);
              await closures(tx, undefined, was);
            }
            await refresh(tx);
            const txn = await kv.get<string>(tx, 'current');
            if (changed)
              tx.afterCommit(() =>
                ctx.log.warn({ by, reason: args.reason, txn }, `lane closed to new shoppers by ${by}${args.reason ? `: ${args.reason}` : ''}`),
              );
            return { closed: true, already: Boolean(before), ...(txn ? { finishing: txn } : {}) };
          },
        },
        /** Store IT's Open: takes back its own closure; a missing device or an update keeps the lane closed. */
        StoreOpen: {
          key: () => 'lane',
          async handle(args, tx, m) {
            const by = args.by ?? m.by ?? 'store';
            const held = (await kv.get<StoreClosed>(tx, 'store')) !== undefined;
            if (held) {
              const was = await closedNow(tx);
              await kv.set(tx, 'store', undefined);
              await closures(tx, undefined, was, by);
              await refresh(tx);
              tx.afterCommit(() => ctx.log.info({ by, reason: args.reason }, `store closure taken back by ${by}`));
            }
            const still = await stillClosed(tx);
            return { open: still.length === 0, wasClosedByStore: held, ...(still.length ? { stillClosed: still } : {}) };
          },
        },
        /** Store IT's message for the staff: on the attendant screen (doc/lane, the last few) and journaled. */
        StoreMessage: {
          key: () => 'lane',
          async handle(args, tx, m) {
            const by = args.by ?? m.by ?? 'store';
            const ev = await ctx.emit(tx, 'StoreMessageReceived', { text: args.text, by });
            const messages = [{ text: args.text, by, time: ev.time }, ...((await kv.get<StoreMessage[]>(tx, 'storeMessages')) ?? [])];
            await kv.set(tx, 'storeMessages', messages.slice(0, STORE_MESSAGES));
            await refresh(tx);
            return { shown: true };
          },
        },
        List: {
          async handle(_args, tx) {
            return {
              open: await openRows(tx),
              attendantMode: (await kv.get<boolean>(tx, 'mode')) ?? false,
              state: await kv.get<LaneState>(tx, 'laneState'),
            };
          },
        },
      }),
    };
  },
};
