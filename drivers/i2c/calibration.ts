/**
 * A scale's calibration on disk: written only by a technician command, never
 * per sample (the design "Storage"); atomic (write temp, fsync, rename); a
 * corrupt file is moved aside and reported, not crash-looped.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';

export interface CalibrationFile {
  version: 1;
  device: string;
  zeroCounts: number;
  countsPerGram: number;
  /** Mass used for the span, grams. */
  spanGrams?: number;
  zeroAt?: string;
  spanAt?: string;
}

export function calibrationPath(stateDir: string, device: string, configured?: string): string {
  if (!configured) return join(stateDir, `${device}.calibration.json`);
  return isAbsolute(configured) ? configured : join(stateDir, configured);
}

export type LoadResult = { kind: 'ok'; cal: CalibrationFile } | { kind: 'missing' } | { kind: 'corrupt'; problem: string; movedTo?: string };

function valid(x: unknown): x is CalibrationFile {
  const c = x as CalibrationFile;
  return (
    !!c &&
    c.version === 1 &&
    typeof c.zeroCounts === 'number' &&
    Number.isFinite(c.zeroCounts) &&
    typeof c.countsPerGram === 'number' &&
    Number.isFinite(c.countsPerGram) &&
    c.countsPerGram !== 0
  );
}

export async function loadCalibration(path: string, stamp: string = new Date().toISOString().replace(/[:.]/g, '-')): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'corrupt', problem: `cannot read ${path}: ${(err as Error).message}` };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    parsed = err;
  }
  if (valid(parsed)) return { kind: 'ok', cal: parsed };
  const movedTo = `${path}.corrupt-${stamp}`;
  try {
    await rename(path, movedTo);
    return { kind: 'corrupt', problem: `calibration file ${path} is not valid (moved aside to ${movedTo})`, movedTo };
  } catch {
    return { kind: 'corrupt', problem: `calibration file ${path} is not valid` };
  }
}

export async function saveCalibration(path: string, cal: CalibrationFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(cal, null, 2)}\n`, { mode: 0o644, flush: true });
  await rename(tmp, path);
}
