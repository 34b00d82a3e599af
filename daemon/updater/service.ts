import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, type ServiceDefinition, type ServiceLogic } from '../runtime.js';
import { PACKAGE_VERSION } from '../version.js';
import { activeSlot, defaultUpdaterRoot, otherSlot, slotPath, type Slot } from './layout.js';
import { UPDATER_STATES, type UpdaterState } from './state-file.js';
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

/** Entries of history in doc/updater (`lanectl update history` shows them all). */
const DOC_HISTORY = 5;

/**
 * updater (the switch side): takes a staged slot through waiting-for-idle (the
 * maintenance window, then the idle lease of the attendant and the basket),
 * switching (graceful stop, database snapshot, `current` to the new slot, exit
 * for systemd to start it) and trial (READY and healthy for
 * `updater.trialSeconds`, then good). It never judges a failed start itself:
 * the boot check outside laned (boot.ts) counts starts and rolls back. Every
 * transition is written to the state file, logged once and published in
 * doc/updater.
 */
export function updaterService(host: UpdaterHost): ServiceDefinition {
  return {
    name: 'updater',
    create(ctx): ServiceLogic {
      const u = ctx.config.updater;
      const root = u.root ?? defaultUpdaterRoot(ctx.stateDir);
      const window = parseWindow(u.window);
      let state: UpdaterState = { state: 'idle', history: [] };
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

      const show = (before: UpdaterState | undefined): void => {
        if (!before || before.state !== state.state || before.reason !== state.reason) {
          ctx.log.info(
            { from: before?.state, to: state.state, ...(state.reason ? { reason: state.reason } : {}) },
            `update: ${before ? `${before.state} -> ` : ''}${state.state}${state.reason ? ` (${state.reason})` : ''}`,
          );
        }
        ctx.metrics.updaterState.reset();
        for (const s of UPDATER_STATES) ctx.metrics.updaterState.set({ state: s }, s === state.state ? 1 : 0);
        ctx.publishDoc('updater', docOf(state));
      };

      const transition = (next: UpdaterState): void => {
        const before = state;
        writeState(root, next);
        state = next;
        show(before);
      };

      /** The file may change from outside (the boot check, staging): take what it says. */
      const reread = (): void => {
        const now = readState(root);
        if (JSON.stringify(now) !== JSON.stringify(state)) {
          const before = state;
          state = now;
          show(before);
        }
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
        await host.handover(() => {
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
        const h = host.health();
        const failed = h.services.find((s) => s.state === 'failed');
        const healthy = (h.status === 'ready' || h.status === 'degraded') && !failed;
        if (healthySince === undefined && h.status === 'starting') return;
        if (healthySince === undefined && healthy) {
          healthySince = Date.now();
          // the lane stays closed through the trial: a rollback then costs no shopper's basket
          await leases(u.trialSeconds + u.leaseSeconds).catch((err: Error) => ctx.log.warn({ err: err.message }, `trial runs without the idle lease: ${err.message}`));
          return;
        }
        if (!healthy) {
          const reason = `start ${t.tries} of ${u.tries}: unhealthy ${healthySince === undefined ? 'at READY' : 'during the trial'}: lane ${h.status}${failed ? `, service ${failed.name} failed${failed.detail ? ` (${failed.detail})` : ''}` : ''}`;
          transition({ ...state, reason });
          stopping = true;
          await host.handover(() => undefined, 1);
          return;
        }
        if (healthySince === undefined || Date.now() - healthySince < u.trialSeconds * 1000) return;
        const before = state;
        state = commitTrial(root, ctx.stateDir) ?? state;
        show(before);
        release();
      };

      const tick = async (): Promise<void> => {
        if (busy || stopping) return;
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
        async start() {
          state = readState(root);
          const before = state;
          if (state.state === 'switching' && !state.trial) {
            // cut before the trial was written: nothing switched; try again
            state = state.staged
              ? { ...state, state: 'staged', reason: 'the switch was cut before it began; trying again' }
              : { ...state, state: state.good ? 'good' : 'idle', reason: undefined };
            writeState(root, state);
          } else if (state.state === 'waiting-for-idle' && !state.staged) {
            // a rollback asked for before this start: ask again if still wanted
            state = { ...state, state: state.good ? 'good' : 'idle', reason: 'the rollback asked for was not done before laned restarted; ask again' };
            writeState(root, state);
          }
          if (state.state !== 'trial') release();
          show(before === state ? undefined : before);
          timer = setInterval(() => void tick(), 1000);
          timer.unref();
        },
        async stop() {
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
            async handle(_args: unknown, _tx, m) {
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
    },
  };
}
