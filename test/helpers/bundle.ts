/**
 * Bundles for the updater's tests: key pairs, small payloads (a .tar.gz with one
 * top folder, like image/payload.sh's), hand-made tar entries for payloads that
 * try to escape their slot, and a hash of a folder tree to see that nothing changed.
 */
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { create as tarCreate, Header } from 'tar';
import { writeBundle, type BundleSpec } from '../../daemon/updater/bundle.js';
import { UpdaterStateKeeper } from '../../daemon/updater/state-file.js';
import { Stager } from '../../daemon/updater/stage.js';
import type { TrustedKey } from '../../daemon/updater/settings.js';
import { silentLogger } from '../../daemon/core/log.js';
import { tempDir } from './daemon.js';

export interface KeyPair {
  id: string;
  privateKey: KeyObject;
  trusted: TrustedKey;
  publicPem: string;
}

export function keyPair(id: string): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { id, privateKey, trusted: { id, key: publicKey }, publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** A payload tarball of `files` (path -> content) under the top folder `laned-<version>`. */
export async function payloadTarball(version: string, files: Record<string, string> = {}): Promise<string> {
  const dir = tempDir('laned-payload-');
  const top = `laned-${version}`;
  const all = { 'package.json': `${JSON.stringify({ name: 'laned', version })}\n`, 'dist/daemon/main.js': `// laned ${version}\n`, ...files };
  for (const [path, content] of Object.entries(all)) {
    mkdirSync(join(dir, top, path, '..'), { recursive: true });
    writeFileSync(join(dir, top, path), content);
  }
  mkdirSync(join(dir, top, 'node_modules', '.bin'), { recursive: true });
  symlinkSync('../../dist/daemon/main.js', join(dir, top, 'node_modules', '.bin', 'laned'));
  const file = join(dir, `${top}.tar.gz`);
  await tarCreate({ file, cwd: dir, gzip: true, portable: true }, [top]);
  return file;
}

export interface RawEntry {
  path: string;
  type: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'FIFO';
  body?: string;
  linkpath?: string;
}

/** A .tar.gz written header by header, for entries tar.create would not make (../, absolute paths, links outside). */
export function rawTarball(entries: RawEntry[]): string {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const h = Buffer.alloc(512);
    new Header({
      path: e.path,
      type: e.type,
      size: body.length,
      mode: e.type === 'Directory' ? 0o755 : 0o644,
      mtime: new Date(0),
      linkpath: e.linkpath,
    }).encode(h);
    blocks.push(h, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  const file = join(tempDir('laned-raw-'), 'payload.tar.gz');
  writeFileSync(file, gzipSync(Buffer.concat(blocks)));
  return file;
}

export async function bundle(spec: Partial<BundleSpec> & { payloadFile: string; key: KeyPair; version: string }): Promise<string> {
  const out = join(tempDir('laned-bundle-'), `laned-${spec.version}-x64.bundle`);
  await writeBundle({ compatible: 'laned/x64', minVersion: '0.0.1', keyId: spec.key.id, privateKey: spec.key.privateKey, out, ...spec });
  return out;
}

/** A slots root as image/install.sh leaves it: slot a (0.1.0) active, slot b holding an older 0.0.9. */
export function slotsRoot(): string {
  const root = tempDir('laned-root-');
  for (const [slot, version] of [
    ['a', '0.1.0'],
    ['b', '0.0.9'],
  ]) {
    mkdirSync(join(root, 'slots', slot!, 'dist'), { recursive: true });
    writeFileSync(join(root, 'slots', slot!, 'package.json'), `${JSON.stringify({ name: 'laned', version })}\n`);
    writeFileSync(join(root, 'slots', slot!, 'dist', 'main.js'), `// ${version}\n`);
  }
  symlinkSync('slots/a', join(root, 'current'));
  return root;
}

/** sha256 over a tree: each entry's relative path, kind, mode and content or link target, in name order; links are not followed. */
export function treeHash(dir: string): string {
  const h = createHash('sha256');
  const walk = (rel: string): void => {
    const abs = join(dir, rel);
    let st;
    try {
      st = lstatSync(abs);
    } catch {
      h.update(`${rel}\0absent\n`);
      return;
    }
    if (st.isSymbolicLink()) h.update(`${rel}\0link\0${readlinkSync(abs)}\n`);
    else if (st.isDirectory()) {
      h.update(`${rel}\0dir\0${st.mode}\n`);
      for (const name of readdirSync(abs).sort()) walk(rel ? `${rel}/${name}` : name);
    } else h.update(`${rel}\0file\0${st.mode}\0`).update(readFileSync(abs)).update('\n');
  };
  walk('');
  return h.digest('hex');
}

export function stager(
  root: string,
  keys: KeyPair[],
  extra: { revokedKeys?: string[]; now?: () => Date; maxBytes?: number } = {},
): { stager: Stager; keeper: UpdaterStateKeeper } {
  const keeper = new UpdaterStateKeeper(join(root, 'updater.json'));
  const s = new Stager({
    root,
    keeper,
    keys: keys.map((k) => k.trusted),
    revokedKeys: extra.revokedKeys ?? [],
    maxBytes: extra.maxBytes ?? 64 << 20,
    log: silentLogger(),
    compatible: 'laned/x64',
    ...(extra.now ? { now: extra.now } : {}),
  });
  return { stager: s, keeper };
}
