import type { Store, Tx } from '../store/store.js';

export const DEAD_LETTER_DDL = `
CREATE TABLE IF NOT EXISTS dead_letters (
  n INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT,
  topic TEXT NOT NULL,
  payload TEXT NOT NULL,
  reason TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  time TEXT NOT NULL
);`;

export interface DeadLetter {
  n: number;
  event_id: string | null;
  topic: string;
  payload: string;
  reason: string;
  attempts: number;
  time: string;
}

/**
 * Where events go that fail validation or fail processing N times (the design
 * "Poison messages"): kept with the reason, counted, listed by `lanectl dlq`.
 */
export class DeadLetters {
  private total = 0;

  constructor(private readonly store: Store) {}

  async init(): Promise<void> {
    await this.store.exec(DEAD_LETTER_DDL);
    const row = await this.store.get<{ c: number }>('SELECT count(*) AS c FROM dead_letters');
    this.total = row?.c ?? 0;
  }

  /** Record inside an open transaction (e.g. together with advancing a position). */
  async add(tx: Tx, entry: { eventId?: string; topic: string; payload: Buffer | string; reason: string; attempts?: number }): Promise<void> {
    const payload = typeof entry.payload === 'string' ? entry.payload : entry.payload.toString('utf8');
    await tx.run('INSERT INTO dead_letters (event_id, topic, payload, reason, attempts, time) VALUES (?,?,?,?,?,?)', [
      entry.eventId ?? null,
      entry.topic,
      payload.slice(0, 262_144),
      entry.reason,
      entry.attempts ?? 0,
      new Date().toISOString(),
    ]);
    tx.afterCommit(() => {
      this.total += 1;
    });
  }

  /** Entries removed by a command inside its own transaction. */
  forget(k: number): void {
    this.total = Math.max(0, this.total - k);
  }

  count(): number {
    return this.total;
  }

  list(limit = 100): Promise<DeadLetter[]> {
    return this.store.all<DeadLetter>('SELECT * FROM dead_letters ORDER BY n DESC LIMIT ?', [limit]);
  }

  get(n: number): Promise<DeadLetter | undefined> {
    return this.store.get<DeadLetter>('SELECT * FROM dead_letters WHERE n = ?', [n]);
  }

  async drop(n: number): Promise<boolean> {
    const r = await this.store.run('DELETE FROM dead_letters WHERE n = ?', [n]);
    if (r.changes > 0) this.total -= 1;
    return r.changes > 0;
  }
}
