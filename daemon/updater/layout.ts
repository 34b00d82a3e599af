/**
 * The A/B slot layout the updater and image/install.sh share:
 *
 *     <root>/slots/a, <root>/slots/b   two complete installs of laned
 *     <root>/current -> slots/<a|b>    the one the unit runs (a relative link)
 *     <root>/updater.json              the updater's state (state-file.ts)
 *
 * The root is /opt/laned on a board and any folder in tests (config `updater.root`).
 */
import { readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { syncDir } from '../core/durable-file.js';
import { PACKAGE_ROOT } from '../core/paths.js';

export type Slot = 'a' | 'b';
export const SLOTS: readonly Slot[] = ['a', 'b'];

export const CURRENT_LINK = 'current';
export const STATE_FILE = 'updater.json';

export function slotsDir(root: string): string {
  return join(root, 'slots');
}

export function slotPath(root: string, slot: Slot): string {
  return join(slotsDir(root), slot);
}

export function otherSlot(slot: Slot): Slot {
  return slot === 'a' ? 'b' : 'a';
}

/** The slot `<root>/current` points to (`slots/a`, or an absolute `…/slots/b` as older installs wrote); undefined when there is no such link. */
export function activeSlot(root: string): Slot | undefined {
  let target: string;
  try {
    target = readlinkSync(join(root, CURRENT_LINK));
  } catch {
    return undefined;
  }
  const m = /(?:^|\/)slots\/(a|b)\/?$/.exec(target);
  return m ? (m[1] as Slot) : undefined;
}

/** The slot an update is staged into: the one `current` does not point to (`b` while nothing is installed would leave `a` for install.sh: `a` then). */
export function inactiveSlot(root: string): Slot {
  const active = activeSlot(root);
  return active ? otherSlot(active) : 'a';
}

/**
 * Point `<root>/current` at `slot` atomically: a new link beside it, rename(2)
 * over the old one (atomic replacement of the name, rename(2) "If newpath already
 * exists, it will be atomically replaced"), then fsync of the folder so that the
 * switch survives a power cut.
 */
export function switchCurrent(root: string, slot: Slot): void {
  const next = join(root, `${CURRENT_LINK}.new`);
  rmSync(next, { force: true });
  symlinkSync(join('slots', slot), next);
  renameSync(next, join(root, CURRENT_LINK));
  syncDir(root);
}

/** The updater's state file in `root`. */
export function stateFilePath(root: string): string {
  return join(root, STATE_FILE);
}

/**
 * The root when `updater.root` is unset: the folder above `slots/` when this
 * package runs from a slot (an install by image/install.sh), else `<stateDir>/updater`
 * (a checkout, a test).
 */
export function defaultUpdaterRoot(stateDir: string, packageRoot = PACKAGE_ROOT): string {
  const parent = dirname(packageRoot);
  if (basename(packageRoot) === CURRENT_LINK) return parent;
  if (basename(parent) === 'slots' && (basename(packageRoot) === 'a' || basename(packageRoot) === 'b')) return dirname(parent);
  return join(stateDir, 'updater');
}
