/**
 * Where bundles come from, each checked by the same Stager:
 *
 * - a file dropped into `<state>/updates/inbox/` (scp, a USB stick): picked up
 *   once its size has stopped changing, then moved to `updates/done/` or
 *   `updates/refused/` (with `<name>.reason` beside it);
 * - `lanectl update apply FILE` (the `Apply` command): the file stays where it is;
 * - an offer from store IT (the `Offer` command: url, sha256, size, version,
 *   window): downloaded with resume into `updates/download/`, then staged and
 *   removed.
 *
 * One bundle at a time: a source that finds the Stager busy waits its turn
 * (the inbox) or is told so (Apply, Offer).
 */
import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { download, DownloadError } from '../core/download.js';
import type { Logger } from '../core/log.js';
import { compareVersions, UpdateRefused } from './manifest.js';
import type { StagedBundle, Stager } from './stage.js';
import { runningVersion } from './stage.js';
import type { UpdaterStateKeeper } from './state-file.js';

export type UpdateOrigin = { kind: 'inbox'; file: string } | { kind: 'apply'; file: string; by?: string } | { kind: 'offer'; url: string; window?: string };

export interface UpdateOffer {
  url: string;
  sha256: string;
  size: number;
  version: string;
  /** The maintenance window for this update (e.g. `02:00-05:00` or `any`); the switch's own setting when absent. */
  window?: string;
}

export interface UpdateSourcesOptions {
  stateDir: string;
  root: string;
  stager: Stager;
  keeper: UpdaterStateKeeper;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  maxBytes: number;
  /** A bundle was staged: the switch takes it from here. */
  onStaged(staged: StagedBundle, origin: UpdateOrigin): void;
  /** A bundle was refused or a download failed (counted by the caller). */
  onRefused?(code: string, origin: UpdateOrigin): void;
  /** How long an inbox file's size must stay the same before it is taken (default 2000 ms). */
  settleMs?: number;
  /** Download retries and backoff (tests shorten them). */
  download?: { retries?: number; backoffMs?: number; idleTimeoutMs?: number };
}

/** Progress is written to the state file at most this often (an SD card counts its writes). */
const PROGRESS_EVERY_MS = 2000;

export class UpdateSources {
  private watcher?: FSWatcher;
  private scanning = false;
  private rescan = false;
  private stopped = false;
  private readonly seen = new Map<string, { size: number; mtimeMs: number; since: number }>();
  private settleTimer?: NodeJS.Timeout;
  private offerAbort?: AbortController;
  private offerRun?: Promise<void>;

  constructor(private readonly o: UpdateSourcesOptions) {}

  get inbox(): string {
    return join(this.o.stateDir, 'updates', 'inbox');
  }

  private dir(name: 'done' | 'refused' | 'download'): string {
    return join(this.o.stateDir, 'updates', name);
  }

  async start(): Promise<void> {
    this.stopped = false;
    await mkdir(this.inbox, { recursive: true, mode: 0o770 });
    // inotify on the folder; each event only triggers a scan (names are not trusted)
    this.watcher = watch(this.inbox, () => this.scan());
    this.watcher.on('error', (err) =>
      this.o.log.warn({ err: err.message, inbox: this.inbox }, 'update inbox watch failed; bundles dropped there wait for the next start'),
    );
    this.scan();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    clearTimeout(this.settleTimer);
    this.offerAbort?.abort();
    await this.offerRun?.catch(() => undefined);
  }

  /** `lanectl update apply FILE`. */
  async apply(file: string, by?: string): Promise<StagedBundle> {
    return this.stage(file, { kind: 'apply', file, ...(by ? { by } : {}) });
  }

  /**
   * An offer from store IT: checked, then downloaded and staged in the
   * background (the state and doc/updater show the progress). Answers at once.
   */
  offer(offer: UpdateOffer): { accepted: boolean; reason?: string } {
    const running = runningVersion(this.o.root);
    const staged = this.o.keeper.get().staged;
    if (offer.size > this.o.maxBytes) return { accepted: false, reason: `${offer.size} bytes is over the limit of ${this.o.maxBytes} (updater.maxBundleMB)` };
    if (compareVersions(offer.version, running) === 0) return { accepted: false, reason: `version ${offer.version} is already running` };
    if (staged?.version === offer.version && this.o.keeper.get().state !== 'failed')
      return { accepted: false, reason: `version ${offer.version} is already staged` };
    if (this.offerRun) return { accepted: false, reason: 'another offer is being downloaded' };
    const abort = new AbortController();
    this.offerAbort = abort;
    this.offerRun = this.fetchOffer(offer, abort.signal).finally(() => {
      this.offerRun = undefined;
      this.offerAbort = undefined;
    });
    return { accepted: true };
  }

  private async fetchOffer(offer: UpdateOffer, signal: AbortSignal): Promise<void> {
    const origin: UpdateOrigin = { kind: 'offer', url: offer.url, ...(offer.window ? { window: offer.window } : {}) };
    const dir = this.dir('download');
    await mkdir(dir, { recursive: true, mode: 0o750 });
    const dest = join(dir, `${offer.sha256}.bundle`);
    const base = this.o.keeper.get();
    const { reason: _r, ...kept } = base;
    this.o.keeper.set({ ...kept, state: 'downloading', progress: { bytes: 0, total: offer.size } });
    let last = 0;
    try {
      await download({
        url: offer.url,
        dest,
        sha256: offer.sha256,
        size: offer.size,
        maxBytes: this.o.maxBytes,
        signal,
        ...this.o.download,
        onProgress: (bytes, total) => {
          const now = Date.now();
          if (now - last < PROGRESS_EVERY_MS && bytes !== total) return;
          last = now;
          this.o.keeper.update((s) => ({ ...s, progress: { bytes, total: total ?? offer.size } }));
        },
      });
    } catch (err) {
      const e = err as DownloadError;
      const reason = `download of ${offer.version} from ${offer.url} failed: ${e.message}`;
      this.o.log.warn({ url: offer.url, reason: e.reason }, reason);
      this.o.onRefused?.(e instanceof DownloadError ? `download-${e.reason}` : 'download', origin);
      this.o.keeper.update((s) => {
        const { progress: _p, ...rest } = s;
        return { ...rest, state: 'failed', reason };
      });
      return;
    }
    try {
      await this.stage(dest, origin);
    } catch {
      // refused: stage() reported it
    } finally {
      await rm(dest, { force: true });
    }
  }

  private async stage(file: string, origin: UpdateOrigin): Promise<StagedBundle> {
    try {
      const staged = await this.o.stager.stage(file);
      this.o.onStaged(staged, origin);
      return staged;
    } catch (err) {
      if (err instanceof UpdateRefused) this.o.onRefused?.(err.code, origin);
      throw err;
    }
  }

  /** Look at the inbox: take each file whose size has settled, one at a time. */
  private scan(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    this.scanning = true;
    void this.scanOnce()
      .catch((err: Error) => this.o.log.warn({ err: err.message, inbox: this.inbox }, 'update inbox scan failed'))
      .finally(() => {
        this.scanning = false;
        if (this.rescan) {
          this.rescan = false;
          this.scan();
        }
      });
  }

  private async scanOnce(): Promise<void> {
    const settle = this.o.settleMs ?? 2000;
    const names = (await readdir(this.inbox)).filter((n) => !n.startsWith('.')).sort();
    let waiting = false;
    for (const name of names) {
      if (this.stopped) return;
      const file = join(this.inbox, name);
      const st = await stat(file).catch(() => undefined);
      if (!st?.isFile()) continue;
      const prev = this.seen.get(name);
      const now = Date.now();
      if (!prev || prev.size !== st.size || prev.mtimeMs !== st.mtimeMs) {
        // still being copied, or new: look again once it has been still for `settle`
        this.seen.set(name, { size: st.size, mtimeMs: st.mtimeMs, since: now });
        waiting = true;
        continue;
      }
      if (now - prev.since < settle) {
        waiting = true;
        continue;
      }
      this.seen.delete(name);
      if (!(await this.takeFromInbox(file))) waiting = true;
    }
    if (waiting && !this.stopped) {
      clearTimeout(this.settleTimer);
      this.settleTimer = setTimeout(() => this.scan(), settle);
    }
  }

  /** Stage one inbox file and move it aside; false when it was left for later (the updater was busy). */
  private async takeFromInbox(file: string): Promise<boolean> {
    const name = basename(file);
    let to: 'done' | 'refused' = 'done';
    let reason: string | undefined;
    try {
      await this.stage(file, { kind: 'inbox', file });
    } catch (err) {
      if (err instanceof UpdateRefused && err.code === 'busy') {
        // left in the inbox: taken once the updater is free (the next scan)
        this.o.log.info({ file, reason: err.message }, `update inbox: ${name} waits: ${err.message}`);
        return false;
      }
      to = 'refused';
      reason = (err as Error).message;
    }
    const dir = this.dir(to);
    await mkdir(dir, { recursive: true, mode: 0o750 });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const dest = join(dir, `${stamp}-${name}`);
    await rename(file, dest);
    if (reason) await writeFile(`${dest}.reason`, `${reason}\n`);
    this.o.log.info({ file, movedTo: dest }, `update inbox: ${name} ${to === 'done' ? 'staged' : 'refused'}, moved to ${dest}`);
    return true;
  }
}
