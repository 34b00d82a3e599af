/**
 * The switch, the commit and the rollback, step by step on the file system,
 * each step safe to cut by a power loss or a SIGKILL (a test hook names each:
 * `switch:stopped`, `switch:snapshot`, `switch:state`, `switch:link`,
 * `commit:state`, `commit:link`, `commit:snapshot`, `rollback:restore`,
 * `rollback:state`, `rollback:link`, `boot:counted`).
 *
 * The state file is the commit point of each: before its write nothing has
 * happened, after it the rest is finished by the next boot check (boot.ts),
 * which also repairs the links from it: outside a trial `current` is always the
 * last good slot; during one, the slot on trial.
 */
import {
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { join } from 'node:path';
import { syncDir } from '../core/durable-file.js';
import { killPoint } from '../core/test-hooks.js';
import { activeSlot, slotPath, stateFilePath, switchCurrent, type Slot } from './layout.js';
import { readUpdaterState, writeUpdaterState, type UpdaterHistoryEntry, type UpdaterState } from './state-file.js';

/** `<root>/good` -> the last slot marked good: the boot check runs from there, never from a slot on trial. */
export const GOOD_LINK = 'good';
/** `<state dir>/update-snapshot`: the databases as they were when the lane stopped for the switch. */
export const SNAPSHOT_DIR = 'update-snapshot';

/** The version in a slot's package.json, or `unknown`. */
export function slotVersion(root: string, slot: Slot): string {
  try {
    return (JSON.parse(readFileSync(join(slotPath(root, slot), 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function readState(root: string): UpdaterState {
  return readUpdaterState(stateFilePath(root)).state;
}

export function writeState(root: string, state: UpdaterState): void {
  writeUpdaterState(stateFilePath(root), state);
}

/** The last good slot: as the state file says, else what `good` or `current` point to. */
export function goodSlot(root: string, s: UpdaterState): Slot | undefined {
  if (s.good) return s.good;
  try {
    const m = /(?:^|\/)slots\/(a|b)\/?$/.exec(readlinkSync(join(root, GOOD_LINK)));
    if (m) return m[1] as Slot;
  } catch {
    // no good link yet (a first install): current is the good one
  }
  return activeSlot(root);
}

/** Point `<root>/good` at `slot` the way switchCurrent does `current`: a new link renamed over the old, then fsync of the folder. */
export function linkGood(root: string, slot: Slot): void {
  const next = join(root, `${GOOD_LINK}.new`);
  rmSync(next, { force: true });
  symlinkSync(join('slots', slot), next);
  renameSync(next, join(root, GOOD_LINK));
  syncDir(root);
}

function goodLinkSlot(root: string): Slot | undefined {
  try {
    return /(?:^|\/)slots\/(a|b)\/?$/.exec(readlinkSync(join(root, GOOD_LINK)))?.[1] as Slot | undefined;
  } catch {
    return undefined;
  }
}

function copyDurably(from: string, to: string): void {
  copyFileSync(from, to);
  const fd = openSync(to, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The SQLite files of the state directory (databases and their write-ahead logs; `-shm` is rebuilt by SQLite). */
function databaseFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => /\.db(-wal)?$/.test(f));
}

/** Copy every database of the state directory (the lane is stopped) to `update-snapshot/`, replacing the one before. */
export function snapshotDatabases(stateDir: string): string[] {
  const dir = join(stateDir, SNAPSHOT_DIR);
  const next = `${dir}.new`;
  rmSync(next, { recursive: true, force: true });
  mkdirSync(next, { mode: 0o750 });
  const files = databaseFiles(stateDir);
  for (const f of files) copyDurably(join(stateDir, f), join(next, f));
  syncDir(next);
  rmSync(dir, { recursive: true, force: true });
  renameSync(next, dir);
  syncDir(stateDir);
  return files;
}

/**
 * Put the snapshot's databases back (the lane is stopped): for each, its newer
 * `-wal`/`-shm` go first (SQLite would replay a newer log onto the older file),
 * then the copy is renamed over it. Repeating it after a cut gives the same result.
 */
export function restoreDatabases(stateDir: string): string[] {
  const dir = join(stateDir, SNAPSHOT_DIR);
  if (!existsSync(dir)) return [];
  const files = databaseFiles(dir);
  for (const db of files.filter((f) => f.endsWith('.db'))) {
    for (const extra of ['-wal', '-shm']) rmSync(join(stateDir, db + extra), { force: true });
    copyDurably(join(dir, db), join(stateDir, `${db}.restore`));
    renameSync(join(stateDir, `${db}.restore`), join(stateDir, db));
  }
  for (const wal of files.filter((f) => f.endsWith('-wal'))) copyDurably(join(dir, wal), join(stateDir, wal));
  syncDir(stateDir);
  return files.filter((f) => f.endsWith('.db'));
}

function entry(e: Omit<UpdaterHistoryEntry, 'at'>): UpdaterHistoryEntry {
  return { at: new Date().toISOString(), ...e };
}

/**
 * The switch, once the lane has stopped under the idle lease: snapshot the
 * databases, write the trial (the commit point), point `current` at the new slot.
 */
export function beginTrial(o: { root: string; stateDir: string; slot: Slot; version: string }): UpdaterState {
  killPoint('switch:stopped');
  snapshotDatabases(o.stateDir);
  killPoint('switch:snapshot');
  const s = readState(o.root);
  const good = goodSlot(o.root, s);
  const next: UpdaterState = {
    ...s,
    state: 'trial',
    reason: undefined,
    progress: undefined,
    staged: undefined,
    active: o.slot,
    ...(good ? { good } : {}),
    trial: { slot: o.slot, version: o.version, tries: 0, startedAt: new Date().toISOString() },
  };
  writeState(o.root, next);
  killPoint('switch:state');
  switchCurrent(o.root, o.slot);
  killPoint('switch:link');
  return next;
}

/** The slot on trial stayed healthy: it is the good one now; the snapshot is no longer needed. */
export function commitTrial(root: string, stateDir: string): UpdaterState | undefined {
  const s = readState(root);
  const t = s.trial;
  if (!t) return undefined;
  const from = goodSlot(root, s);
  const next: UpdaterState = {
    ...s,
    state: 'good',
    reason: undefined,
    trial: undefined,
    good: t.slot,
    active: t.slot,
    history: [...s.history, entry({ ...(from ? { from } : {}), to: t.slot, version: t.version, outcome: 'good' })],
  };
  writeState(root, next);
  killPoint('commit:state');
  linkGood(root, t.slot);
  killPoint('commit:link');
  rmSync(join(stateDir, SNAPSHOT_DIR), { recursive: true, force: true });
  killPoint('commit:snapshot');
  return next;
}

/** Back to the last good slot, with the databases as they were before the switch (laned is not running). */
export function rollBack(root: string, stateDir: string, reason: string): UpdaterState {
  const s = readState(root);
  const good = goodSlot(root, s);
  if (!good) throw new Error(`no good slot to go back to in ${root} (no ${GOOD_LINK} or current link)`);
  const restored = restoreDatabases(stateDir);
  killPoint('rollback:restore');
  const why = `${reason}${restored.length ? '' : ' (no database snapshot: the databases stay as the new version left them)'}`;
  const next: UpdaterState = {
    ...s,
    state: 'rolled-back',
    reason: why,
    trial: undefined,
    staged: undefined,
    active: good,
    good,
    history: [
      ...s.history,
      entry({ ...(s.trial ? { from: s.trial.slot } : {}), to: good, version: slotVersion(root, good), outcome: 'rolled-back', reason: why }),
    ],
  };
  writeState(root, next);
  killPoint('rollback:state');
  switchCurrent(root, good);
  killPoint('rollback:link');
  return next;
}

export interface BootDecision {
  /** The slot laned starts from now. */
  slot: Slot | undefined;
  /** One line for the journal. */
  said: string;
}

/**
 * Before every start of laned (the unit's ExecStartPre=): count the start of a
 * slot on trial and go back to the good slot when its starts are used up; outside
 * a trial make sure `current` is the good slot. Repairs what a cut switch,
 * commit or rollback left half done.
 */
export function bootCheck(root: string, stateDir: string, maxTries: number): BootDecision {
  const read = readUpdaterState(stateFilePath(root));
  const s = read.state;
  const good = goodSlot(root, s);
  if (good && goodLinkSlot(root) !== good) linkGood(root, good);
  const t = s.trial;
  if (t) {
    if (activeSlot(root) !== t.slot) switchCurrent(root, t.slot);
    if (t.tries >= maxTries) {
      const next = rollBack(root, stateDir, `version ${t.version} (slot ${t.slot}) did not stay up in ${t.tries} starts${s.reason ? `: ${s.reason}` : ''}`);
      return { slot: next.active, said: `rolled back to slot ${next.active} (${slotVersion(root, next.active!)}): ${next.reason}` };
    }
    writeState(root, { ...s, trial: { ...t, tries: t.tries + 1 } });
    killPoint('boot:counted');
    return { slot: t.slot, said: `trial of version ${t.version} (slot ${t.slot}): start ${t.tries + 1} of ${maxTries}` };
  }
  const active = activeSlot(root);
  if (good && active !== good) {
    switchCurrent(root, good);
    return { slot: good, said: `current pointed to slot ${active ?? 'nowhere'} outside a trial: back to the good slot ${good}` };
  }
  return { slot: activeSlot(root), said: `slot ${activeSlot(root) ?? '?'} (good)${read.problem ? `; ${read.problem}` : ''}` };
}

/** After laned stopped (ExecStopPost=): why a start on trial ended, from systemd's $SERVICE_RESULT, $EXIT_CODE, $EXIT_STATUS. */
export function recordStop(root: string, maxTries: number, env: NodeJS.ProcessEnv): string | undefined {
  const s = readState(root);
  const t = s.trial;
  const result = env.SERVICE_RESULT;
  if (!t || t.tries === 0 || !result || result === 'success') return undefined;
  const prefix = `start ${t.tries} of ${maxTries}`;
  // the updater inside laned may have said why already (an unhealthy trial)
  if (s.reason?.startsWith(prefix)) return s.reason;
  const reason = `${prefix} ended: ${result}${env.EXIT_CODE ? ` (${env.EXIT_CODE} ${env.EXIT_STATUS ?? ''})`.replace(' )', ')') : ''}`;
  writeState(root, { ...s, reason });
  return reason;
}
