import { renameSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Database, type Params, type Row, type RunResult } from '../../broker/persistence/database.js';
import type { Logger } from '../core/log.js';
import { Batcher } from '../../broker/persistence/batcher.js';

export type { Params, Row } from '../../broker/persistence/database.js';

/** Statements inside one open transaction. */
export interface Tx {
  run(sql: string, params?: Params): Promise<RunResult>;
  get<T = Row>(sql: string, params?: Params): Promise<T | undefined>;
  all<T = Row>(sql: string, params?: Params): Promise<T[]>;
  /** Called after COMMIT (e.g. to wake an outbox relay); not called on rollback. */
  afterCommit(fn: () => void): void;
  /** Called on ROLLBACK, to undo in-memory counters taken inside the transaction. */
  onRollback(fn: () => void): void;
}

/** A lazy write waits this long for a transaction to ride along with. */
const LAZY_MS = 50;

interface LazyWrite {
  sql: string;
  params: Params | undefined;
  resolve(): void;
  reject(err: Error): void;
}

export class StoreCorruptError extends Error {
  override name = 'StoreCorruptError';
  constructor(
    readonly file: string,
    readonly movedTo: string | undefined,
    detail: string,
  ) {
    super(
      movedTo
        ? `database ${file} failed its integrity check (${detail}); moved aside to ${movedTo} and started empty; keep that file for support (lanectl diag)`
        : `database ${file} failed its integrity check (${detail})`,
    );
  }
}

/** `PRAGMA integrity_check` said something other than "ok". */
export class IntegrityCheckFailed extends Error {
  override name = 'IntegrityCheckFailed';
}

/**
 * Whether an error opening or checking a SQLite file means the file is damaged:
 * SQLITE_CORRUPT ("database disk image is malformed"), SQLITE_NOTADB ("file is
 * not a database"), or a failed integrity check (https://sqlite.org/rescode.html).
 */
export function isCorruption(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof IntegrityCheckFailed) return true;
    const code = (e as { code?: unknown }).code;
    if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') return true;
    if (/integrity check failed|database disk image is malformed|file is not a database/i.test((e as Error).message ?? '')) return true;
  }
  return false;
}

/**
 * Result codes that mean the file cannot take writes now (https://sqlite.org/rescode.html):
 * a full disk, an I/O error, a read-only file or folder, a file that cannot be opened.
 */
const STORAGE_FAILURES = new Set(['SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_READONLY', 'SQLITE_CANTOPEN', 'SQLITE_PERM', 'SQLITE_NOMEM']);

/** Whether an error is the storage refusing a write (as opposed to a constraint or a bug). */
export function isStorageFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && STORAGE_FAILURES.has(code);
}

/** The last write the storage refused, while no later write has succeeded. */
export interface WriteFailure {
  code: string;
  message: string;
  /** ISO time of the first refusal in this run of refusals. */
  since: string;
  /** Writes refused since then. */
  count: number;
}

/** Move a damaged database and its -wal/-shm aside as `<file>.corrupt-<time>`; returns the new name. */
export function quarantine(file: string): string {
  const movedTo = `${file}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(file + suffix)) renameSync(file + suffix, movedTo + suffix);
  }
  return movedTo;
}

/**
 * One SQLite file of one service (the design "Storage"): WAL, synchronous=FULL,
 * integrity-checked at open. One connection; every statement goes through one
 * queue, so a transaction never interleaves with another caller's statements.
 */
export class Store {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Writes waiting to ride along with the next transaction (lazyRun). */
  private lazy: LazyWrite[] = [];
  /**
   * Commits the lazy writes alone when no transaction took them within LAZY_MS. The
   * writes themselves wait in `lazy`, not in the batcher: the next transaction on the
   * queue takes them, whichever comes first.
   */
  private readonly lazyCommits = new Batcher({ flush: () => this.flushLazy(), start: LAZY_MS });
  private failing: WriteFailure | undefined;

  private constructor(
    readonly file: string,
    private readonly db: Database,
  ) {}

  /** Set while the storage refuses this file's writes (SQLITE_FULL, SQLITE_IOERR...); cleared by the next commit. */
  get writeFailure(): WriteFailure | undefined {
    return this.failing && { ...this.failing };
  }

  private noteWrite(err?: unknown): void {
    if (err === undefined) {
      this.failing = undefined;
      return;
    }
    if (!isStorageFailure(err)) return;
    const e = err as Error & { code: string };
    if (this.failing) {
      this.failing.count += 1;
      this.failing.message = e.message;
      this.failing.code = e.code;
    } else this.failing = { code: e.code, message: e.message, since: new Date().toISOString(), count: 1 };
  }

  /**
   * Open `file`, check it, and when it is corrupt (SQLITE_CORRUPT, SQLITE_NOTADB or
   * a failed integrity check) move it aside (`<file>.corrupt-<ts>`) and start with
   * an empty one. `onCorrupt` hears about it; the caller reports degraded. Other
   * failures (permissions, a full disk) are thrown: moving a good file aside would lose it.
   */
  static async open(file: string, opts: { log?: Logger; onCorrupt?: (err: StoreCorruptError) => void } = {}): Promise<Store> {
    mkdirSync(dirname(file), { recursive: true });
    try {
      return await Store.openChecked(file);
    } catch (err) {
      if (!isCorruption(err)) {
        const e = err as Error & { code?: string };
        throw Object.assign(new Error(`${file}: ${e.message}; check that laned may read and write it and that the disk is not full`, { cause: err }), {
          code: e.code,
        });
      }
      const detail = (err as Error).message;
      const movedTo = quarantine(file);
      const report = new StoreCorruptError(file, movedTo, detail);
      opts.log?.error({ file, movedTo, err: detail }, report.message);
      opts.onCorrupt?.(report);
      return Store.openChecked(file);
    }
  }

  private static async openChecked(file: string): Promise<Store> {
    const db = await Database.open(file, {
      pragmas: [
        'PRAGMA busy_timeout=5000',
        // A small board runs a dozen of these connections: 512 KiB page cache each, not 2 MiB.
        'PRAGMA cache_size=-512',
        'PRAGMA journal_mode=WAL',
        'PRAGMA synchronous=FULL',
      ],
    });
    try {
      const rows = await db.all<{ integrity_check: string }>('PRAGMA integrity_check');
      const verdict = rows.map((r) => r.integrity_check).join('; ');
      if (verdict !== 'ok') throw new IntegrityCheckFailed(verdict.slice(0, 200));
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
    return new Store(file, db);
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  exec(sql: string): Promise<void> {
    return this.enqueue(() => this.db.exec(sql));
  }

  run(sql: string, params?: Params): Promise<RunResult> {
    return this.enqueue(() =>
      this.db.run(sql, params).then(
        (r) => {
          this.noteWrite();
          return r;
        },
        (err: unknown) => {
          this.noteWrite(err);
          throw err;
        },
      ),
    );
  }

  /**
   * A write whose loss in a power cut is harmless (marking events sent): it rides along
   * with the next transaction, one statement before its COMMIT, instead of a commit of
   * its own on the queue every transaction waits for. When no transaction comes within
   * LAZY_MS it is committed alone, without an fsync (WAL keeps commits in order: the
   * next synced commit makes it durable too). Resolves once committed.
   */
  lazyRun(sql: string, params?: Params): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`database ${this.file} is closed`));
    return new Promise<void>((resolve, reject) => {
      this.lazy.push({ sql, params, resolve, reject });
      this.scheduleLazy();
    });
  }

  /** Commit the waiting lazy writes now, unsynced. */
  flushLazy(): Promise<void> {
    return this.enqueue(async () => {
      if (this.closed || this.lazy.length === 0) return;
      await this.db.run('PRAGMA synchronous=NORMAL');
      try {
        await this.transact(async () => undefined);
      } finally {
        await this.db.run('PRAGMA synchronous=FULL');
      }
    });
  }

  private scheduleLazy(): void {
    if (this.lazy.length > 0) void this.lazyCommits.add();
  }

  get<T = Row>(sql: string, params?: Params): Promise<T | undefined> {
    return this.enqueue(() => this.db.get<T>(sql, params));
  }

  all<T = Row>(sql: string, params?: Params): Promise<T[]> {
    return this.enqueue(() => this.db.all<T>(sql, params));
  }

  /** Run `fn` in one IMMEDIATE transaction; commits when it resolves, rolls back when it throws. */
  tx<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.enqueue(() => {
      if (this.closed) throw new Error(`database ${this.file} is closed`);
      return this.transact(fn);
    });
  }

  /** One transaction on the queue's turn, with the lazy writes waiting so far. */
  private async transact<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    const after: Array<() => void> = [];
    const undo: Array<() => void> = [];
    const tx: Tx = {
      run: (sql, params) => this.db.run(sql, params),
      get: (sql, params) => this.db.get(sql, params),
      all: (sql, params) => this.db.all(sql, params),
      afterCommit: (f) => after.push(f),
      onRollback: (f) => undo.push(f),
    };
    await this.db.run('BEGIN IMMEDIATE');
    const riding = this.lazy.splice(0);
    const failed = new Map<LazyWrite, Error>();
    let result: T;
    try {
      // A lazy write that fails is that write's problem, not the transaction's.
      for (const w of riding) await this.db.run(w.sql, w.params).catch((err: Error) => failed.set(w, err));
      result = await fn(tx);
      await this.db.run('COMMIT');
    } catch (err) {
      this.noteWrite(err);
      await this.db.run('ROLLBACK').catch(() => undefined);
      for (const f of undo.reverse()) f();
      this.lazy.unshift(...riding.filter((w) => !failed.has(w)));
      this.scheduleLazy();
      for (const [w, e] of failed) w.reject(e);
      throw err;
    }
    this.noteWrite();
    for (const w of riding) {
      const e = failed.get(w);
      if (e) w.reject(e);
      else w.resolve();
    }
    for (const f of after) f();
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.enqueue(async () => {
      this.lazyCommits.cancel(new Error(`database ${this.file} closed`));
      if (this.lazy.length) await this.transact(async () => undefined).catch(() => undefined);
      for (const w of this.lazy.splice(0)) w.reject(new Error(`database ${this.file} closed before a lazy write`));
      this.closed = true;
      await this.db.close().catch(() => undefined);
    });
  }
}
