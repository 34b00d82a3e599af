import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, type CommandHandlers, type ServiceContext } from '../runtime/runtime.js';
import type { UPDATER_COMMANDS } from '../services/updater/commands.js';
import { PACKAGE_VERSION } from '../core/version.js';
import { activeSlot, otherSlot, slotPath, type Slot } from './layout.js';
import { UPDATER_STATES, type UpdaterState, type UpdaterStateKeeper } from './state-file.js';
import { beginTrial, commitTrial, readState, slotVersion, writeState } from './switch.js';
import { inWindow, parseWindow } from './window.js';

/** Exit code of laned after a switch: systemd restarts it (Restart=on-failure) from the slot `current` now points to. EX_TEMPFAIL (sysexits.h). */
export const EX_SWITCHED = 75;

/** What the updater needs from the daemon around it. */
export interface UpdaterHost {
  /** The lane's health now, as /healthz says it. */
  health(): { status: string; services: Array<{ name: string; state: string; detail?: string }> };
  /** Stop the lane gracefully, run `work`, and exit with `code` (systemd starts laned again). */
  handover(work: () => void, code: number): Promise<void>;
}

let laneHost: UpdaterHost | undefined;

/** The daemon around the updater service says how to read its health and hand over (not under --only). */
export function setUpdaterHost(host: UpdaterHost): void {
  laneHost = host;
}

export interface Switcher {
  /** The keeper's onChange: one journal line per transition, doc/updater, /metrics. */
  changed(state: UpdaterState): void;
  start(): void;
  stop(): void;
  status(): Record<string, unknown>;
  /** Its commands of the updater's (daemon/services/updater/commands.ts). */
  commands: CommandHandlers<Pick<typeof UPDATER_COMMANDS, 'History' | 'Rollback'>>;
}

/** Entries of history in doc/updater (`lanectl update history` shows them all). */
const DOC_HISTORY = 5;

/**
 * The switch side of the updater service: takes a staged slot through
 * waiting-for-idle (the maintenance window, then the idle lease of the attendant
 * and the basket), switching (graceful stop, database snapshot, `current` to the
 * new slot, exit for systemd to start it) and trial (READY and healthy for
 * `updater.trialSeconds`, then good). It never judges a failed start itself:
 * the boot check outside laned (boot.ts) counts starts and rolls back. Every
 * transition goes through the keeper (state file first), is logged once and
 * published in doc/updater.
 */
export function createSwitcher(ctx: ServiceContext, keeper: UpdaterStateKeeper, root: string): Switcher {
  const u = ctx.config.updater;
  const window = parseWindow(u.window);
  let state: UpdaterState = keeper.get();
  let shown: UpdaterState | undefined;
  let timer: NodeJS.Timeout | undefined;
  let busy = false;
  let stopping = false;
  /** The trial: when READY and healthy was first seen in this start. */
  let healthySince: number | undefined;
  /** A rollback asked for (`lanectl update rollback`), waiting for the idle lane. */
  let rollbackTo: { slot: Slot; version: string; by: string } | undefined;

  const docOf = (s: UpdaterState) => ({
    state: s.state,
    ...(s.reason ? { reason: s.reason } : {}),
    ...(s.progress ? { progress: s.progress } : {}),
    running: { version: PACKAGE_VERSION, ...(activeSlot(root) ? { slot: activeSlot(root) } : {}) },
    ...(s.active ? { active: s.active } : {}),
    ...(s.good ? { good: s.good } : {}),
    ...(s.staged ? { staged: s.staged } : {}),
    ...(s.trial ? { trial: { ...s.trial, of: u.tries, trialSeconds: u.trialSeconds } } : {}),
    ...(rollbackTo ? { rollbackTo: { slot: rollbackTo.slot, version: rollbackTo.version } } : {}),
    window: u.window,
    history: s.history.slice(-DOC_HISTORY),
  });

  const changed = (next: UpdaterState): void => {
    const before = shown;
    state = next;
    shown = next;
    if (!before || before.state !== next.state || before.reason !== next.reason) {
      ctx.log.info(
        { from: before?.state, to: next.state, ...(next.reason ? { reason: next.reason } : {}) },
        `update: ${before ? `${before.state} -> ` : ''}${next.state}${next.reason ? ` (${next.reason})` : ''}`,
      );
    }
    ctx.metrics.updaterState.reset();
    for (const st of UPDATER_STATES) ctx.metrics.updaterState.set({ state: st }, st === next.state ? 1 : 0);
    ctx.publishDoc('updater', docOf(next));
  };

  const transition = (next: UpdaterState): void => void keeper.set(next);

  /** The file may change outside the keeper (the boot check while laned was stopped, a commit here): take what it says. */
  const reread = (): void => {
    const now = readState(root);
    if (JSON.stringify(now) !== JSON.stringify(keeper.get())) keeper.set(now);
  };

  const release = (): void => {
    for (const target of ['attendant', 'basket']) ctx.sendCommand(target, 'UpdateRelease', {}, 'updater');
  };

  const leases = async (seconds: number): Promise<void> => {
    await ctx.request('attendant', 'UpdateLease', { seconds });
    try {
      await ctx.request('basket', 'UpdateLease', { seconds });
    } catch (err) {
      release();
      throw err;
    }
  };

  const waiting = (reason: string): void => {
    if (state.state !== 'waiting-for-idle' || state.reason !== reason) transition({ ...state, state: 'waiting-for-idle', reason });
  };

  /** Staged (or a rollback asked for): the window, the lease, then the switch. */
  const trySwitch = async (): Promise<void> => {
    const target = rollbackTo ?? (state.staged ? { slot: state.staged.slot, version: state.staged.version } : undefined);
    if (!target) return;
    if (!inWindow(window, new Date())) return waiting(`outside the maintenance window ${u.window}`);
    try {
      await leases(u.leaseSeconds);
    } catch (err) {
      return waiting(`waiting for an idle lane: ${(err as Error).message}`);
    }
    transition({ ...state, state: 'switching', reason: `to version ${target.version} (slot ${target.slot})` });
    stopping = true;
    await laneHost!.handover(() => {
      try {
        beginTrial({ root, stateDir: ctx.stateDir, slot: target.slot, version: target.version });
      } catch (err) {
        const reason = `the switch to slot ${target.slot} failed: ${(err as Error).message}`;
        writeState(root, { ...readState(root), state: 'failed', reason });
        throw err;
      }
    }, EX_SWITCHED);
  };

  /** On trial in this start: READY and healthy for trialSeconds marks it good; unhealthy ends this start. */
  const judgeTrial = async (): Promise<void> => {
    const t = state.trial;
    if (!t || activeSlot(root) !== t.slot) return;
    const h = laneHost!.health();
    const failed = h.services.find((s) => s.state === 'failed');
    const healthy = (h.status === 'ready' || h.status === 'degraded') && !failed;
    if (healthySince === undefined && h.status === 'starting') return;
    if (healthySince === undefined && healthy) {
      healthySince = Date.now();
      // the lane stays closed through the trial: a rollback then costs no shopper's basket
      await leases(u.trialSeconds + u.leaseSeconds).catch((err: Error) =>
        ctx.log.warn({ err: err.message }, `trial runs without the idle lease: ${err.message}`),
      );
      return;
    }
    if (!healthy) {
      // the service to blame: a failed one, else the first not running (disconnected, stalled, …)
      const down = failed ?? h.services.find((s) => s.state !== 'running');
      const reason = `start ${t.tries} of ${u.tries}: unhealthy ${healthySince === undefined ? 'at READY' : 'during the trial'}: lane ${h.status}${down ? `, service ${down.name} ${down.state}${down.detail ? ` (${down.detail})` : ''}` : ''}`;
      transition({ ...state, reason });
      stopping = true;
      await laneHost!.handover(() => undefined, 1);
      return;
    }
    if (healthySince === undefined || Date.now() - healthySince < u.trialSeconds * 1000) return;
    commitTrial(root, ctx.stateDir);
    reread();
    release();
  };

  const tick = async (): Promise<void> => {
    if (busy || stopping || !laneHost) return;
    busy = true;
    try {
      reread();
      if (state.state === 'trial') await judgeTrial();
      else if (state.state === 'staged' || state.state === 'waiting-for-idle') await trySwitch();
    } catch (err) {
      ctx.log.error({ err: (err as Error).message }, `updater: ${(err as Error).message}`);
    } finally {
      busy = false;
    }
  };

  return {
    changed,
    start() {
      state = keeper.get();
      if (state.state === 'switching' && !state.trial) {
        // cut before the trial was written: nothing switched; try again
        transition(
          state.staged
            ? { ...state, state: 'staged', reason: 'the switch was cut before it began; trying again' }
            : { ...state, state: state.good ? 'good' : 'idle', reason: undefined },
        );
      } else if (state.state === 'waiting-for-idle' && !state.staged) {
        // a rollback asked for before this start: ask again if still wanted
        transition({ ...state, state: state.good ? 'good' : 'idle', reason: 'the rollback asked for was not done before laned restarted; ask again' });
      }
      if (!shown) changed(state);
      if (state.state !== 'trial') release();
      if (!laneHost) ctx.log.warn('updater without the daemon around it (--only): staged versions wait, nothing is switched');
      timer = setInterval(() => void tick(), 1000);
      timer.unref();
    },
    stop() {
      stopping = true;
      clearInterval(timer);
    },
    status: () => ({ update: state.state }),
    commands: {
      History: {
        async handle() {
          return readState(root).history;
        },
      },
      /** Back to the version in the other slot, under the same idle lease and trial as an update. */
      Rollback: {
        async handle(_args, _tx, m) {
          reread();
          if (['switching', 'trial', 'downloading', 'verifying'].includes(state.state))
            throw new CommandError(`the updater is ${state.state}: roll back when it is done (lanectl update status)`);
          const from = activeSlot(root);
          if (!from) throw new CommandError(`no slot runs from ${root} (no current link): nothing to roll back to`);
          const slot = otherSlot(from);
          if (!existsSync(join(slotPath(root, slot), 'dist/daemon/main.js')))
            throw new CommandError(`slot ${slot} in ${root} holds no laned: nothing to roll back to`);
          if (state.staged?.slot === slot) throw new CommandError(`slot ${slot} holds the staged version ${state.staged.version}, not the previous one`);
          rollbackTo = { slot, version: slotVersion(root, slot), by: m.by ?? 'technician' };
          waiting(`rollback to version ${rollbackTo.version} (slot ${slot}) asked by ${rollbackTo.by}`);
          void tick();
          return { slot, version: rollbackTo.version };
        },
      },
    },
  };
}
