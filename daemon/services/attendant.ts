import { Type } from '@sinclair/typebox';
import { CommandError, type ServiceDefinition, type ServiceLogic } from '../runtime.js';
import type { Tx } from '../store.js';
import type { Envelope } from '../events/envelope.js';
import type { EmitMeta } from '../events/outbox.js';
import { compareBoardTime, type BoardTime } from '../events/clock.js';
import { deviceConfigs } from '../devices.js';
import { KvTable, TxCache } from '../kv.js';
import { verifyHash } from '../../broker/credentials.js';
import { ALARM_VERDICTS, type InterventionKindName } from '../events/schemas/checkout.js';
import type { AttendantSettings } from './attendant/settings.js';

export type LaneState = 'idle' | 'shopping' | 'assist' | 'intervention' | 'attendant';

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

interface PinState {
  failures: number;
  lockedUntil?: BoardTime;
  lockedUntilIso?: string;
}

const DEFAULT_PATTERNS: Record<LaneState, string> = { idle: 'on', shopping: 'on', assist: 'flash', intervention: 'blink', attendant: 'fast-blink' };

function alarmReason(type: string, d: Record<string, unknown>): string {
  switch (type) {
    case 'ItemNotBagged':
      return `Item ${String(d.line)} was not put in the bagging area`;
    case 'UnexpectedItemInBaggingArea':
      return `Unexpected item in the bagging area (+${String(d.excessG)} g)`;
    case 'ItemRemovedFromBaggingArea':
      return `Item taken from the bagging area (-${String(d.missingG)} g)`;
    default:
      return `Bagging area weighs ${String(d.actualG)} g, expected ${String(d.expectedG)} g`;
  }
}

/**
 * attendant: turns verdicts, age-restricted items, removals, unknown items and
 * declined payments into interventions; drives the lane light per lane state;
 * takes overrides with the attendant PIN (scrypt, lockout) or the key switch.
 * Every override and every refused PIN is an event, so the journal keeps them.
 */
export const attendant: ServiceDefinition<AttendantSettings> = {
  name: 'attendant',
  create(ctx): ServiceLogic {
    const s = ctx.settings;
    const devices = deviceConfigs(ctx.config);
    const keySwitch = s.keySwitch ?? (devices.keyswitch?.kind === 'gpio-input' ? 'keyswitch' : undefined);
    const lamp = devices.light?.kind === 'gpio-output' ? 'light' : Object.entries(devices).find(([, c]) => c.kind === 'gpio-output')?.[0];
    const lights: Partial<Record<LaneState, Record<string, string>>> =
      s.lights ?? (lamp ? Object.fromEntries(Object.entries(DEFAULT_PATTERNS).map(([st, p]) => [st, { [lamp]: p }])) : {});
    const lightTarget = s.lightTarget ?? 'devices';
    const maxFailures = s.maxPinFailures ?? 3;
    const lockoutMs = s.lockoutMs ?? 5 * 60_000;

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
      const state: LaneState = mode ? 'attendant' : open.some((i) => i.blocking) ? 'intervention' : open.length ? 'assist' : current ? 'shopping' : 'idle';
      const pin = (await kv.get<PinState>(tx, 'pin')) ?? { failures: 0 };
      const locked = pin.lockedUntil && compareBoardTime(pin.lockedUntil, ctx.clock.now()) > 0 ? pin.lockedUntilIso : undefined;
      const doc = {
        state,
        attendantMode: mode,
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

    const onBasket = async (tx: Tx, ev: Envelope): Promise<void> => {
      const t = await known(tx, ev);
      if (!t) return;
      const d = ev.data as Record<string, unknown>;
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
      if (ev.type === 'ItemAddedToBasket' && typeof d.ageRestricted === 'number') {
        if (t.age_verified >= d.ageRestricted) return;
        await raise(tx, ev, {
          kind: 'age-check',
          reason: `Age check: ${String(d.name)} needs a buyer aged ${d.ageRestricted}+`,
          blocking: true,
          line: d.line as string,
          age: d.ageRestricted,
        });
      } else if (ev.type === 'UnknownItemScanned') {
        await raise(tx, ev, { kind: 'unknown-item', reason: `Unknown item ${String(d.gtin ?? d.code)}: ${String(d.reason)}`, blocking: false });
      } else if (ev.type === 'ItemRemovalRequested') {
        const q = d.quantity as number;
        await raise(tx, ev, {
          kind: 'removal',
          reason: q === 0 ? `Remove ${String(d.name)} (line ${String(d.line)})` : `Lower ${String(d.name)} (line ${String(d.line)}) to ${q}`,
          blocking: true,
          line: d.line as string,
        });
      }
    };

    const onVerdict = async (tx: Tx, ev: Envelope): Promise<void> => {
      const t = await known(tx, ev);
      if (!t) return;
      const d = ev.data as { key?: string; clears?: string[]; retracts?: string };
      if (ev.type === 'VerdictRetracted') {
        for (const row of await openRows(tx, 'AND ref = ?', [d.retracts])) await clear(tx, row, 'retracted', ev.id);
        return;
      }
      for (const key of d.clears ?? []) {
        for (const row of await openRows(tx, "AND kind = 'weight' AND txn = ? AND okey = ?", [t.txn, key])) await clear(tx, row, 'resolved', ev.id);
      }
      if ((ALARM_VERDICTS as readonly string[]).includes(ev.type) && !t.closed) {
        await raise(tx, ev, { kind: 'weight', reason: alarmReason(ev.type, ev.data as Record<string, unknown>), blocking: true, key: d.key! });
      }
    };

    const onPayment = async (tx: Tx, ev: Envelope): Promise<void> => {
      const t = await known(tx, ev);
      if (!t) return;
      if (ev.type === 'PaymentDeclined' && !t.closed) {
        const d = ev.data as { reason: string; detail?: string };
        await raise(tx, ev, { kind: 'payment-declined', reason: `Payment ${d.reason}${d.detail ? `: ${d.detail}` : ''}`, blocking: false });
      } else if (ev.type === 'PaymentAuthorized') {
        for (const row of await openRows(tx, "AND kind = 'payment-declined' AND txn = ?", [t.txn])) await clear(tx, row, 'resolved', ev.id);
      }
    };

    const onKey = async (tx: Tx, ev: Envelope): Promise<void> => {
      const on = (ev.data as { on: boolean }).on;
      if (((await kv.get<boolean>(tx, 'mode')) ?? false) === on) return;
      await kv.set(tx, 'mode', on);
      const current = await kv.get<string>(tx, 'current');
      await ctx.emit(tx, 'AttendantModeChanged', { on, method: 'key' }, { ...(await metaFor(tx, current ?? null, ev.id)) });
    };

    /** A wrong PIN: counted (and journaled) in its own transaction, since the command's rolls back. */
    const recordFailure = async (tx: Tx, by: string): Promise<void> => {
      const pin = (await kv.get<PinState>(tx, 'pin')) ?? { failures: 0 };
      pin.failures += 1;
      let reason = `wrong PIN (${pin.failures} of ${maxFailures})`;
      if (pin.failures >= maxFailures) {
        const now = ctx.clock.now();
        pin.lockedUntil = { epoch: now.epoch, mono: (BigInt(now.mono) + BigInt(lockoutMs) * 1_000_000n).toString() };
        pin.lockedUntilIso = new Date(Date.now() + lockoutMs).toISOString();
        reason = `wrong PIN ${pin.failures} times: PIN overrides locked`;
      }
      await kv.set(tx, 'pin', pin);
      const current = await kv.get<string>(tx, 'current');
      await ctx.emit(
        tx,
        'OverrideRefused',
        { by, reason, failures: pin.failures, ...(pin.lockedUntilIso && pin.failures >= maxFailures ? { lockedUntil: pin.lockedUntilIso } : {}) },
        await metaFor(tx, current ?? null),
      );
      await refresh(tx);
    };

    /**
     * Who may override: the key switch (attendant mode), else the attendant PIN, with
     * wrong PINs counted toward a lockout (recorded even though the command fails).
     */
    const authorize = async (tx: Tx, pinArg: string | undefined, by: string): Promise<'key' | 'pin'> => {
      const mode = (await kv.get<boolean>(tx, 'mode')) ?? false;
      let method: 'key' | 'pin' = 'key';
      if (!mode) {
        method = 'pin';
        if (!s.pinHash)
          throw new CommandError(
            'no attendant PIN is configured (services.attendant.pinHash, made by lanectl hash-password --pin <digits>): turn the key switch',
          );
        const pin = (await kv.get<PinState>(tx, 'pin')) ?? { failures: 0 };
        if (pin.lockedUntil && compareBoardTime(pin.lockedUntil, ctx.clock.now()) < 0) {
          pin.failures = 0;
          delete pin.lockedUntil;
          delete pin.lockedUntilIso;
        }
        if (pin.lockedUntil)
          throw new CommandError(`PIN overrides are locked after ${maxFailures} wrong PINs until ${pin.lockedUntilIso}; turn the key switch`);
        if (!pinArg || !(await verifyHash(s.pinHash, pinArg))) {
          tx.onRollback(() => {
            void ctx
              .runKeyed('lane', () => ctx.tx((t2) => recordFailure(t2, by)))
              .catch((err: Error) => ctx.log.error({ err: err.message }, 'could not record a wrong PIN'));
          });
          const left = maxFailures - pin.failures - 1;
          throw new CommandError(
            left > 0
              ? `wrong PIN (${left} more ${left === 1 ? 'try' : 'tries'} before PIN overrides are locked)`
              : `wrong PIN: PIN overrides are locked for ${Math.round(lockoutMs / 1000)} s`,
          );
        }
        if (pin.failures) await kv.set(tx, 'pin', { failures: 0 });
      }
      return method;
    };

    return {
      sources: ['basket', 'weightcheck', 'payment', ...(keySwitch ? [keySwitch] : [])],
      keyOf: () => 'lane',
      async migrate(store) {
        await store.exec(kv.ddl() + DDL);
      },
      async start() {
        await ctx.tx(async (tx) => {
          await kv.set(tx, 'laneState', undefined);
          await refresh(tx);
        });
      },
      status: () => ({ ...(shown.txn ? { txn: shown.txn } : {}), alarms: shown.alarms }),
      async onEvent(ev, tx) {
        if (ev.source === 'basket') await onBasket(tx, ev);
        else if (ev.source === 'weightcheck') await onVerdict(tx, ev);
        else if (ev.source === 'payment') await onPayment(tx, ev);
        else if (ev.source === keySwitch && ev.type === 'InputChanged') await onKey(tx, ev);
        else return;
        await refresh(tx);
      },
      commands: {
        /**
         * "Call attendant" on the screen: one open assistance intervention at a time
         * (asking again while one is open answers with it), cleared by an override.
         */
        Call: {
          args: Type.Object({
            by: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            reason: Type.Optional(Type.String({ maxLength: 200 })),
          }),
          key: () => 'lane',
          async handle(args: { by?: string; reason?: string }, tx, m) {
            const [open] = await openRows(tx, "AND kind = 'assistance'");
            if (open) return { intervention: open.id, already: true };
            const current = await kv.get<string>(tx, 'current');
            const by = args.by ?? m.by ?? 'shopper';
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
          args: Type.Object({
            pin: Type.Optional(Type.String({ maxLength: 64 })),
            by: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          }),
          key: () => 'lane',
          async handle(args: { pin?: string; by?: string }, tx, m) {
            return { method: await authorize(tx, args.pin, args.by ?? m.by ?? 'attendant') };
          },
        },
        /**
         * Approve or reject one open intervention (or all of them) as an attendant:
         * with the key switch turned, or with the PIN.
         */
        Override: {
          args: Type.Object({
            intervention: Type.Optional(Type.String({ maxLength: 64 })),
            action: Type.Union([Type.Literal('approve'), Type.Literal('reject')]),
            pin: Type.Optional(Type.String({ maxLength: 64 })),
            by: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            reason: Type.Optional(Type.String({ maxLength: 200 })),
          }),
          key: () => 'lane',
          async handle(args: { intervention?: string; action: 'approve' | 'reject'; pin?: string; by?: string; reason?: string }, tx, m) {
            const by = args.by ?? m.by ?? 'attendant';
            const method = await authorize(tx, args.pin, by);
            const targets = args.intervention ? await openRows(tx, 'AND id = ?', [args.intervention]) : await openRows(tx);
            if (targets.length === 0) throw new CommandError(args.intervention ? `intervention ${args.intervention} is not open` : 'no intervention is open');
            const applied: Array<{ intervention: string; kind: string; action: string }> = [];
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
        List: {
          async handle(_args: unknown, tx) {
            return {
              open: await openRows(tx),
              attendantMode: (await kv.get<boolean>(tx, 'mode')) ?? false,
              state: await kv.get<LaneState>(tx, 'laneState'),
            };
          },
        },
      },
    };
  },
};
