import type { Store, Tx } from '../../store/store.js';
import type { Logger } from '../../core/log.js';

export const INBOX_DDL = `
CREATE TABLE IF NOT EXISTS inbox_seen (id TEXT PRIMARY KEY, source TEXT NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox_position (source TEXT PRIMARY KEY, last_seq INTEGER NOT NULL) WITHOUT ROWID;
-- Recording an event as seen moves its source's position in the same statement.
CREATE TRIGGER IF NOT EXISTS inbox_seen_position AFTER INSERT ON inbox_seen BEGIN
  INSERT INTO inbox_position (source, last_seq) VALUES (NEW.source, NEW.seq)
    ON CONFLICT(source) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq);
END;
CREATE TABLE IF NOT EXISTS inbox_pending (
  source TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL, topic TEXT NOT NULL, payload TEXT NOT NULL,
  PRIMARY KEY (source, seq)
) WITHOUT ROWID;`;

/** Create (and bring up to date) the inbox's tables; the committed position and log id of each source. */
export async function openTables(store: Store): Promise<Array<{ source: string; last_seq: number; log: string | null }>> {
  await store.exec(INBOX_DDL);
  const columns = await store.all<{ name: string }>('PRAGMA table_info(inbox_position)');
  if (!columns.some((c) => c.name === 'log')) await store.exec('ALTER TABLE inbox_position ADD COLUMN log TEXT');
  return store.all<{ source: string; last_seq: number; log: string | null }>('SELECT source, last_seq, log FROM inbox_position');
}

/** Write a position without an event to record (a skipped range, a new log); `down` lets it move back. */
export async function writePosition(tx: Tx, source: string, seq: number, down: boolean): Promise<void> {
  await tx.run(
    `INSERT INTO inbox_position (source, last_seq) VALUES (?, ?) ON CONFLICT(source) DO UPDATE SET last_seq = ${down ? 'excluded.last_seq' : 'max(last_seq, excluded.last_seq)'}`,
    [source, seq],
  );
}

/** Event ids kept in inbox_seen, and how often it is pruned to them. */
const SEEN_KEPT = 20_000;
const SEEN_PRUNE_EVERY = 1000;

/**
 * inbox_seen keeps the newest SEEN_KEPT ids (event ids are ULIDs: they sort by time);
 * older redeliveries are caught by the position. Pruned every SEEN_PRUNE_EVERY events,
 * lazily: a prune lost in a crash is done the next time.
 */
export class SeenPruner {
  private sincePrune = 0;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  /** `added` ids went into inbox_seen in `tx`. */
  note(tx: Tx, added = 1): void {
    tx.afterCommit(() => {
      this.sincePrune += added;
      if (this.sincePrune < SEEN_PRUNE_EVERY) return;
      this.sincePrune = 0;
      this.store
        .lazyRun('DELETE FROM inbox_seen WHERE id < (SELECT id FROM inbox_seen ORDER BY id DESC LIMIT 1 OFFSET ?)', [SEEN_KEPT])
        .catch((err: Error) => this.log.warn({ err: err.message }, 'could not prune inbox_seen; tried again later'));
    });
  }
}
