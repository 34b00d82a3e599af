/**
 * Staging a bundle into the inactive slot: the manifest is checked before
 * anything is written (manifest.ts), then the payload is unpacked into
 * `slots/<slot>.new` while it is hashed, synced, and swapped in for the old
 * content of the inactive slot. The active slot, `current` and laned's state
 * directory are never touched here: the switch comes later (idle-gated).
 *
 * Crash safety: every step leaves something `recover()` puts right at the
 * next start: `<slot>.new` is removed, `<slot>.old` is put back when the swap was
 * cut short, and a state left at `verifying` becomes `failed`.
 */
import { execFile } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { list, Parser, Unpack, type ReadEntry } from 'tar';
import type { Logger } from '../core/log.js';
import { PACKAGE_VERSION } from '../core/version.js';
import { syncDir } from '../core/durable-file.js';
import { killPoint } from '../core/test-hooks.js';
import { activeSlot, CURRENT_LINK, inactiveSlot, slotPath, slotsDir, SLOTS, type Slot } from './layout.js';
import { checkManifest, MANIFEST_ENTRY, ownCompatible, PAYLOAD_ENTRY, SIGNATURE_ENTRY, UpdateRefused, type Manifest } from './manifest.js';
import type { TrustedKey } from './settings.js';
import type { UpdaterStateKeeper } from './state-file.js';

/** The steps `LANED_TEST_KILL_AT=stage:<step>` can stop the process at. */
export const STAGE_STEPS = [
  'verifying',
  'verified',
  'unpack-started',
  'unpack-midway',
  'unpacked',
  'synced',
  'old-aside',
  'swapped',
  'old-removed',
  'staged',
] as const;
export type StageStep = (typeof STAGE_STEPS)[number];

export interface StagerOptions {
  root: string;
  keeper: UpdaterStateKeeper;
  keys: TrustedKey[];
  revokedKeys: readonly string[];
  /** The largest bundle taken, in bytes. */
  maxBytes: number;
  log: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Default: this machine's (ownCompatible()). */
  compatible?: string;
  /** The version bundles are compared with; default: the one in the slot `current` points to. */
  runningVersion?: () => string;
  now?: () => Date;
}

export interface StagedBundle {
  slot: Slot;
  version: string;
  manifest: Manifest;
  manifestSha256: string;
}

const MAX_MANIFEST = 64 * 1024;
const ENTRY_TYPES = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);
const BUSY_STATES = new Set(['switching', 'trial']);

const run = promisify(execFile);

function step(s: StageStep): void {
  killPoint(`stage:${s}`);
}

/** The version in the slot `current` points to (its package.json), else this process's own. */
export function runningVersion(root: string): string {
  try {
    const v = (JSON.parse(readFileSync(join(root, CURRENT_LINK, 'package.json'), 'utf8')) as { version?: unknown }).version;
    if (typeof v === 'string') return v;
  } catch {
    // no slot installed (a checkout): what runs is this package
  }
  return PACKAGE_VERSION;
}

/**
 * Why a payload entry may not be unpacked into a slot, or undefined when it may.
 * `path` is the entry's name in the payload tarball, whose first component (the
 * payload's top folder) is stripped.
 */
export function entryProblem(path: string, type: string, linkpath: string | undefined): string | undefined {
  if (!ENTRY_TYPES.has(type)) return `${path}: a ${type} entry (a slot holds files, folders and links only)`;
  if (path.startsWith('/')) return `${path}: an absolute path`;
  const parts = path.split('/');
  if (parts.includes('..')) return `${path}: a path with ..`;
  const inSlot = parts.slice(1).join('/');
  if (type === 'Link') {
    if (!linkpath || linkpath.startsWith('/') || linkpath.split('/').includes('..')) return `${path}: a hard link to ${linkpath ?? 'nothing'} outside the slot`;
  }
  if (type === 'SymbolicLink') {
    if (!linkpath || linkpath.startsWith('/')) return `${path}: a symbolic link to the absolute ${linkpath ?? 'nothing'}`;
    const target = posix.normalize(posix.join(posix.dirname(inSlot || '.'), linkpath));
    if (target === '..' || target.startsWith('../')) return `${path}: a symbolic link to ${linkpath}, outside the slot`;
  }
  return undefined;
}

/** The sha256 of the payload entry, read again on its own (after the unpacker gave up on it); undefined when there is none. */
function payloadHash(file: string): string | undefined {
  let h: Hash | undefined;
  try {
    list({
      file,
      sync: true,
      onReadEntry: (e) => {
        if (e.path !== PAYLOAD_ENTRY) return e.resume();
        h = createHash('sha256');
        e.on('data', (c: Buffer) => h!.update(c));
      },
    });
  } catch {
    // truncated: what was read is hashed
  }
  return h?.digest('hex');
}

function damaged(got: string, want: string): UpdateRefused {
  return new UpdateRefused('payload-hash', `the payload's sha256 is ${got}, the signed manifest says ${want}: the bundle was changed or damaged`);
}

function refusalOf(err: unknown, where: string, slots: string): UpdateRefused {
  if (err instanceof UpdateRefused) return err;
  const e = err as NodeJS.ErrnoException & { tarCode?: string };
  if (e.code === 'ENOSPC' || e.code === 'EDQUOT') {
    return new UpdateRefused(
      'no-space',
      `no space left in ${slots} to unpack the payload (what was unpacked is removed): free some, then send the bundle again`,
      { cause: err },
    );
  }
  if (e.tarCode === 'TAR_BAD_ARCHIVE' || /truncated|unexpected end/i.test(e.message ?? '')) {
    return new UpdateRefused('truncated', `the bundle is truncated or not a tar (${e.message})`, { cause: err });
  }
  if (e.tarCode) return new UpdateRefused('bad-bundle', `the bundle is not a valid tar (${e.message})`, { cause: err });
  return new UpdateRefused('io', `${where}: ${e.code ?? ''} ${e.message}`.trim(), { cause: err });
}

export class Stager {
  private busy = false;

  constructor(private readonly o: StagerOptions) {}

  /**
   * At the updater's start: leftovers of a staging that was cut short are put
   * right (`<slot>.new` removed, `<slot>.old` put back or removed) and a state
   * left at `verifying` becomes `failed`. The active slot is not touched.
   */
  recover(): void {
    const { root } = this.o;
    let repaired = false;
    for (const slot of SLOTS) {
      const dir = slotPath(root, slot);
      if (existsSync(`${dir}.new`)) {
        rmSync(`${dir}.new`, { recursive: true, force: true });
        repaired = true;
      }
      if (existsSync(`${dir}.old`)) {
        if (existsSync(dir)) rmSync(`${dir}.old`, { recursive: true, force: true });
        else renameSync(`${dir}.old`, dir);
        repaired = true;
      }
    }
    if (repaired) syncDir(slotsDir(root));
    const s = this.o.keeper.get();
    if (s.state === 'verifying') {
      const reason = 'staging was interrupted (the updater stopped); the running slot is unchanged: send the bundle again';
      this.o.log.warn({ state: s.state, repaired }, reason);
      const { staged: _staged, progress: _progress, ...rest } = s;
      this.o.keeper.set({ ...rest, state: 'failed', reason, active: activeSlot(root) ?? s.active });
    }
  }

  /**
   * Check `file` and unpack it into the inactive slot. Resolves with the slot and
   * version, state `staged`; throws UpdateRefused (state `failed` with the reason,
   * except for `busy`) and leaves the slots as they were.
   */
  async stage(file: string): Promise<StagedBundle> {
    const before = this.o.keeper.get();
    const active = activeSlot(this.o.root);
    const slot = inactiveSlot(this.o.root);
    if (this.busy) throw new UpdateRefused('busy', 'another bundle is being staged: try again when it is done');
    if (BUSY_STATES.has(before.state)) throw new UpdateRefused('busy', `the updater is ${before.state}: a new bundle is taken once it is done`);
    if (before.good && before.good === slot && active !== before.good) {
      throw new UpdateRefused(
        'busy',
        `slot ${slot} holds the last good version and the running slot ${active ?? '?'} is not yet confirmed: a new bundle is taken once it is`,
      );
    }
    this.busy = true;
    try {
      const { progress: _p, reason: _r, ...rest } = before;
      this.o.keeper.set({ ...rest, state: 'verifying', ...(active ? { active } : {}) });
      step('verifying');
      const staged = await this.unpack(file, slot);
      this.o.keeper.update((s) => {
        const { reason: _reason, progress: _progress, ...kept } = s;
        return { ...kept, state: 'staged', staged: { slot, version: staged.version, manifestSha256: staged.manifestSha256 } };
      });
      step('staged');
      this.o.log.info({ file, slot, version: staged.version }, `bundle ${staged.version} staged in slot ${slot}`);
      return staged;
    } catch (err) {
      const refusal = refusalOf(err, file, slotsDir(this.o.root));
      this.o.log.warn({ file, code: refusal.code, reason: refusal.message }, `bundle ${file} refused: ${refusal.message}`);
      this.o.keeper.update((s) => {
        const { progress: _progress, ...kept } = s;
        return { ...kept, state: 'failed', reason: `${file}: ${refusal.message}` };
      });
      throw refusal;
    } finally {
      this.busy = false;
    }
  }

  private async unpack(file: string, slot: Slot): Promise<StagedBundle> {
    let size: number;
    try {
      size = statSync(file).size;
    } catch (err) {
      throw new UpdateRefused('io', `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    if (size > this.o.maxBytes) throw new UpdateRefused('too-large', `${size} bytes, over the limit of ${this.o.maxBytes} (updater.maxBundleMB)`);
    const dir = slotPath(this.o.root, slot);
    const fresh = `${dir}.new`;
    let checked: { manifest: Manifest; sha256: string } | undefined;
    let wrote = false;
    try {
      const hashed = await this.readBundle(file, fresh, (m) => {
        checked = m;
        step('verified');
        mkdirSync(slotsDir(this.o.root), { recursive: true });
        rmSync(fresh, { recursive: true, force: true });
        mkdirSync(fresh, { mode: 0o755 });
        wrote = true;
        step('unpack-started');
      });
      if (!checked) throw new UpdateRefused('truncated', `no ${PAYLOAD_ENTRY} in the bundle`);
      const { manifest } = checked;
      if (hashed.bytes < manifest.payload.size)
        throw new UpdateRefused('truncated', `the payload ends after ${hashed.bytes} of ${manifest.payload.size} bytes: the bundle is truncated`);
      if (hashed.sha256 !== manifest.payload.sha256) throw damaged(hashed.sha256, manifest.payload.sha256);
      step('unpacked');
      // syncfs(2) of the slot's file system: the unpacked files are on disk before the swap
      await run('sync', ['-f', fresh]);
      step('synced');
    } catch (err) {
      if (wrote) rmSync(fresh, { recursive: true, force: true });
      throw err;
    }
    const old = `${dir}.old`;
    if (existsSync(dir)) {
      rmSync(old, { recursive: true, force: true });
      renameSync(dir, old);
      step('old-aside');
    }
    renameSync(fresh, dir);
    syncDir(slotsDir(this.o.root));
    step('swapped');
    rmSync(old, { recursive: true, force: true });
    step('old-removed');
    return { slot, version: checked.manifest.version, manifest: checked.manifest, manifestSha256: checked.sha256 };
  }

  /**
   * Read the bundle's tar in one pass: the manifest and its signature, checked
   * (`onChecked` runs then, before the payload), then the payload through the
   * hasher into `dest`. Settles only once the unpacker has stopped writing.
   */
  private readBundle(file: string, dest: string, onChecked: (m: { manifest: Manifest; sha256: string }) => void): Promise<{ bytes: number; sha256: string }> {
    return new Promise((resolve, reject) => {
      const source = createReadStream(file);
      let failed = false;
      let index = 0;
      let manifestBytes: Buffer | undefined;
      let signature: Buffer | undefined;
      let payload: PayloadUnpack | undefined;
      const fail = (err: unknown): void => {
        if (failed) return;
        failed = true;
        source.destroy();
        if (!payload) return reject(err instanceof Error ? err : new Error(String(err)));
        payload.abort();
        void payload.done.then(() => reject(err instanceof Error ? err : new Error(String(err))));
      };
      const collect = (entry: ReadEntry, max: number, done: (b: Buffer) => void): void => {
        const chunks: Buffer[] = [];
        let n = 0;
        entry.on('data', (c: Buffer) => {
          n += c.length;
          if (n > max) return fail(new UpdateRefused('bad-bundle', `${entry.path} is larger than ${max} bytes`));
          chunks.push(c);
        });
        entry.on('end', () => done(Buffer.concat(chunks)));
      };
      const parser = new Parser({
        strict: true,
        onReadEntry: (entry: ReadEntry) => {
          if (failed || payload) return entry.resume();
          const expected = [MANIFEST_ENTRY, SIGNATURE_ENTRY, PAYLOAD_ENTRY][index++];
          if (entry.path !== expected || entry.type !== 'File') {
            entry.resume();
            return fail(
              new UpdateRefused(
                'bad-bundle',
                `entry ${index} is ${entry.type} ${JSON.stringify(entry.path)}; a bundle holds ${MANIFEST_ENTRY}, ${SIGNATURE_ENTRY} and ${PAYLOAD_ENTRY}, in that order`,
              ),
            );
          }
          if (expected === MANIFEST_ENTRY) return collect(entry, MAX_MANIFEST, (b) => (manifestBytes = b));
          if (expected === SIGNATURE_ENTRY) return collect(entry, 1024, (b) => (signature = b));
          try {
            if (!manifestBytes || !signature) throw new UpdateRefused('bad-bundle', `${PAYLOAD_ENTRY} before a whole manifest and signature`);
            const checked = checkManifest(manifestBytes, signature, {
              keys: this.o.keys,
              revokedKeys: this.o.revokedKeys,
              compatible: this.o.compatible ?? ownCompatible(),
              runningVersion: this.o.runningVersion?.() ?? runningVersion(this.o.root),
              now: this.o.now?.() ?? new Date(),
            });
            onChecked(checked);
            const p = unpackPayload(entry, dest, checked.manifest.payload.size);
            payload = p;
            void p.done.then((r) => {
              if (!r.error) return;
              // a damaged payload breaks gunzip or tar: its hash tells that from a payload that is signed but broken
              if (r.error instanceof UpdateRefused) return fail(r.error);
              const h = payloadHash(file);
              fail(h !== undefined && h !== checked.manifest.payload.sha256 ? damaged(h, checked.manifest.payload.sha256) : r.error);
            });
          } catch (err) {
            entry.resume();
            fail(err);
          }
        },
      });
      parser.on('error', fail);
      parser.on('end', () => {
        if (failed) return;
        if (!payload) {
          return fail(
            new UpdateRefused('truncated', `the bundle ends after ${index} of its 3 entries (${MANIFEST_ENTRY}, ${SIGNATURE_ENTRY}, ${PAYLOAD_ENTRY})`),
          );
        }
        const p = payload;
        void p.done.then(async (r) => {
          if (r.error) return;
          resolve(await p.hashed);
        });
      });
      source.on('error', (err) => fail(new UpdateRefused('io', `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? err.message})`)));
      source.pipe(parser);
    });
  }
}

interface PayloadUnpack {
  /** Resolves once the unpacker has stopped writing, with the first error if any. */
  done: Promise<{ error?: unknown }>;
  /** Resolves when the whole payload entry went through the hash. */
  hashed: Promise<{ bytes: number; sha256: string }>;
  /** Stop writing; `done` resolves when the unpacker's pending writes are over. */
  abort(): void;
}

/** The payload entry into an unpacker (top folder stripped, entries outside the slot refused), hashed on the way. */
function unpackPayload(entry: ReadEntry, dest: string, size: number): PayloadUnpack {
  let error: unknown;
  let ended = false;
  const hash = createHash('sha256');
  let bytes = 0;
  const unpack = new Unpack({
    cwd: dest,
    strip: 1,
    strict: true,
    preserveOwner: false,
    maxDepth: 64,
    filter: (path, e) => {
      const re = e as ReadEntry;
      const why = entryProblem(path, re.type, re.linkpath);
      if (why) {
        error ??= new UpdateRefused('unsafe-entry', `the payload would write outside its slot: ${why}`);
        abort();
      }
      return !why;
    },
  });
  const abort = (): void => {
    if (ended) return;
    ended = true;
    entry.unpipe(unpack);
    unpack.end();
    entry.resume();
  };
  const done = new Promise<{ error?: unknown }>((resolve) => {
    unpack.on('finish', () => resolve(error ? { error } : {}));
    // a broken gzip stream aborts the unpacker: it writes nothing more and never finishes
    unpack.on('abort', (err: Error) => {
      error ??= err;
      resolve({ error });
    });
  });
  const hashed = new Promise<{ bytes: number; sha256: string }>((resolve) => entry.on('end', () => resolve({ bytes, sha256: hash.digest('hex') })));
  unpack.on('error', (err: Error) => {
    error ??= err;
    abort();
  });
  entry.on('data', (chunk: Buffer) => {
    const before = bytes;
    bytes += chunk.length;
    hash.update(chunk);
    if (bytes > size && !error) {
      error = new UpdateRefused('payload-hash', `the payload is longer than the ${size} bytes the signed manifest names`);
      abort();
    }
    if (before < size / 2 && bytes >= size / 2) step('unpack-midway');
  });
  entry.pipe(unpack);
  return { done, hashed, abort };
}
