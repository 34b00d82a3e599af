import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Database } from '../../broker/persistence/database.js';
import { RUNNING_MARKER } from './unsafe-shutdown.js';

/** The highest board epoch one of these holds, and where it was found. */
export interface EpochSeen {
  epoch: number;
  where: string;
}

/** Epoch of each source's newest logged event: `seq` and `at` grow together within a source. */
const NEWEST_EPOCH = `SELECT max(json_extract(o.payload, '$.at.epoch')) AS epoch FROM outbox o
  JOIN (SELECT source, max(seq) AS seq FROM outbox GROUP BY source) m ON m.source = o.source AND m.seq = o.seq`;

async function newestInStore(file: string): Promise<number | undefined> {
  const db = await Database.open(file, { readOnly: true }).catch(() => undefined);
  if (!db) return undefined;
  const row = await db.get<{ epoch?: unknown }>(NEWEST_EPOCH).catch(() => undefined);
  await db.close().catch(() => undefined);
  return typeof row?.epoch === 'number' ? row.epoch : undefined;
}

/**
 * After a damaged `board-epoch.json`: the highest epoch the state directory has
 * seen, from every service's event log (each source's newest event) and the
 * running marker of an unfinished run. A file that cannot be read is skipped.
 */
export async function highestEpochSeen(stateDir: string): Promise<EpochSeen | undefined> {
  let best: EpochSeen | undefined;
  const consider = (epoch: number | undefined, where: string): void => {
    if (epoch !== undefined && Number.isInteger(epoch) && (!best || epoch > best.epoch)) best = { epoch, where };
  };
  for (const name of readdirSync(stateDir)
    .filter((f) => f.endsWith('.db'))
    .sort()) {
    consider(await newestInStore(join(stateDir, name)), name);
  }
  try {
    consider((JSON.parse(readFileSync(join(stateDir, RUNNING_MARKER), 'utf8')) as { epoch?: number }).epoch, RUNNING_MARKER);
  } catch {
    // no marker (the last run stopped gracefully) or a torn one
  }
  return best;
}
