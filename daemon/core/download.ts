/**
 * A resumable HTTP(S) download for files named by a claim check (URL, sha256,
 * size): update bundles, catalog files.
 *
 * - The bytes go to `<dest>.part`; `<dest>.part.json` remembers the URL, the
 *   expected hash and the server's validator (ETag or Last-Modified), so a later
 *   attempt, or a later process, resumes with `Range: bytes=<have>-` and
 *   `If-Range: <validator>` (RFC 9110 §14.2, §13.1.5). A server that answers 200
 *   instead of 206 (the file changed, or no range support) starts it over.
 * - Network errors, 5xx, 408 and 429 are retried `retries` times with a doubling,
 *   capped backoff; other statuses fail at once.
 * - No more than `maxBytes` (and no more than `size` when it is known) is ever
 *   read: the download stops the moment a server sends more.
 * - At the end the sha256 of the whole file is checked; a mismatch removes the
 *   partial file (a lying or broken server must not poison the next attempt).
 *   Only a file that matches is renamed to `dest`.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { syncDir } from './durable-file.js';
import { dirname } from 'node:path';

export interface DownloadOptions {
  url: string;
  /** Where the file ends up once its hash matches. */
  dest: string;
  /** Expected sha256, lowercase hex. */
  sha256: string;
  /** Expected size in bytes, when the claim check gives one. */
  size?: number;
  /** Never read more than this. */
  maxBytes: number;
  /** Further attempts after the first (default 5). */
  retries?: number;
  /** Backoff before the first retry, doubled each time up to `backoffMaxMs` (default 1000 / 30000 ms). */
  backoffMs?: number;
  backoffMaxMs?: number;
  /** An attempt that receives nothing for this long is cut and retried (default 30000 ms). */
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (bytes: number, total: number | undefined) => void;
}

export type DownloadFailure = 'hash' | 'too-large' | 'http' | 'network' | 'aborted' | 'bad-request';

export class DownloadError extends Error {
  override name = 'DownloadError';
  constructor(
    readonly reason: DownloadFailure,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface DownloadResult {
  dest: string;
  bytes: number;
  /** Attempts that continued from bytes already on disk. */
  resumes: number;
  attempts: number;
}

interface PartMeta {
  url: string;
  sha256: string;
  validator?: string;
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

class Retryable extends Error {}

export async function download(o: DownloadOptions): Promise<DownloadResult> {
  const expected = o.sha256.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(expected)) throw new DownloadError('bad-request', `download ${o.url}: sha256 ${JSON.stringify(o.sha256)} is not 64 hex digits`);
  let url: URL;
  try {
    url = new URL(o.url);
  } catch {
    throw new DownloadError('bad-request', `download ${JSON.stringify(o.url)}: not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DownloadError('bad-request', `download ${o.url}: only http and https URLs`);
  if (o.size !== undefined && o.size > o.maxBytes) {
    throw new DownloadError('too-large', `download ${o.url}: announced size ${o.size} bytes is over the limit of ${o.maxBytes}`);
  }
  const limit = o.size ?? o.maxBytes;
  const part = `${o.dest}.part`;
  const metaFile = `${part}.json`;
  const retries = o.retries ?? 5;
  const backoff = o.backoffMs ?? 1000;
  const backoffMax = o.backoffMaxMs ?? 30_000;
  const meta = await loadMeta(metaFile, o.url, expected, part);
  let resumes = 0;
  let attempt = 0;
  for (;;) {
    attempt++;
    try {
      const have = await sizeOf(part);
      if (have > 0) resumes++;
      await attemptOnce(o, url, part, metaFile, meta, have, limit);
      break;
    } catch (err) {
      if (o.signal?.aborted) throw new DownloadError('aborted', `download ${o.url}: aborted`, { cause: err });
      if (!(err instanceof Retryable)) throw err;
      if (attempt > retries) {
        throw new DownloadError('network', `download ${o.url}: gave up after ${attempt} attempts: ${err.message}`, { cause: err });
      }
      const wait = Math.min(backoffMax, backoff * 2 ** (attempt - 1));
      try {
        await sleep(wait, undefined, { signal: o.signal });
      } catch (e) {
        throw new DownloadError('aborted', `download ${o.url}: aborted`, { cause: e });
      }
    }
  }
  const got = await hashFile(part);
  if (got.hash !== expected) {
    await rm(part, { force: true });
    await rm(metaFile, { force: true });
    throw new DownloadError('hash', `download ${o.url}: sha256 is ${got.hash}, expected ${expected}; the file was removed`);
  }
  if (o.size !== undefined && got.bytes !== o.size) {
    await rm(part, { force: true });
    await rm(metaFile, { force: true });
    throw new DownloadError('too-large', `download ${o.url}: ${got.bytes} bytes, expected ${o.size}; the file was removed`);
  }
  await rename(part, o.dest);
  await rm(metaFile, { force: true });
  syncDir(dirname(o.dest));
  return { dest: o.dest, bytes: got.bytes, resumes: Math.max(0, resumes), attempts: attempt };
}

async function attemptOnce(o: DownloadOptions, url: URL, part: string, metaFile: string, meta: PartMeta, have: number, limit: number): Promise<void> {
  const headers: Record<string, string> = { 'accept-encoding': 'identity' };
  if (have > 0) {
    headers.range = `bytes=${have}-`;
    if (meta.validator) headers['if-range'] = meta.validator;
  }
  const idle = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, idle.signal]) : idle.signal;
  const idleMs = o.idleTimeoutMs ?? 30_000;
  let timer = setTimeout(() => idle.abort(new Error(`nothing received for ${idleMs} ms`)), idleMs);
  const poke = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(new Error(`nothing received for ${idleMs} ms`)), idleMs);
  };
  try {
    let res: Response;
    try {
      res = await fetch(url, { headers, signal, redirect: 'follow' });
    } catch (err) {
      throw new Retryable(`${(err as Error).message}${causeOf(err)}`);
    }
    let offset = have;
    if (res.status === 416 && have > 0) {
      // the partial file is as long as the resource (or longer): let the hash decide, or start over
      await res.body?.cancel();
      const total = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1];
      if (total !== undefined && Number(total) === have) return;
      await rm(part, { force: true });
      throw new Retryable(`range ${have}- not satisfiable; starting over`);
    }
    if (res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (!m || Number(m[1]) !== have) {
        await res.body?.cancel();
        await rm(part, { force: true });
        throw new Retryable(`206 with Content-Range ${JSON.stringify(res.headers.get('content-range'))} for bytes=${have}-; starting over`);
      }
      if (m[3] !== '*' && Number(m[3]) > limit) {
        await res.body?.cancel();
        throw new DownloadError('too-large', `download ${o.url}: the server has ${m[3]} bytes, over the limit of ${limit}`);
      }
    } else if (res.status === 200) {
      offset = 0;
    } else {
      await res.body?.cancel();
      const msg = `HTTP ${res.status} ${res.statusText}`;
      if (RETRYABLE_STATUS.has(res.status)) throw new Retryable(msg);
      throw new DownloadError('http', `download ${o.url}: ${msg}`);
    }
    const length = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(length) && offset + length > limit) {
      await res.body?.cancel();
      throw new DownloadError('too-large', `download ${o.url}: ${offset + length} bytes announced, over the limit of ${limit}`);
    }
    const total = Number.isFinite(length) ? offset + length : o.size;
    const validator = res.headers.get('etag') ?? res.headers.get('last-modified') ?? undefined;
    if (offset === 0 || validator !== meta.validator) {
      meta.validator = validator && !validator.startsWith('W/') ? validator : undefined;
      await writeFile(metaFile, JSON.stringify(meta));
    }
    const fh = await open(part, offset === 0 ? 'w' : 'a');
    let bytes = offset;
    try {
      if (res.body) {
        try {
          for await (const chunk of res.body) {
            poke();
            if (bytes + chunk.byteLength > limit) {
              throw new DownloadError('too-large', `download ${o.url}: the server sent more than ${limit} bytes`);
            }
            await fh.write(chunk);
            bytes += chunk.byteLength;
            o.onProgress?.(bytes, total);
          }
        } catch (err) {
          if (err instanceof DownloadError) throw err;
          throw new Retryable(`cut after ${bytes} bytes: ${(err as Error).message}${causeOf(err)}`);
        }
      }
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (Number.isFinite(length) && bytes !== offset + length) throw new Retryable(`cut after ${bytes} of ${offset + length} bytes`);
  } finally {
    clearTimeout(timer);
  }
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { message?: string; code?: string } }).cause;
  return cause ? ` (${cause.code ?? cause.message})` : '';
}

/** The partial file's bookkeeping; a partial file of another URL or hash is thrown away. */
async function loadMeta(metaFile: string, url: string, sha256: string, part: string): Promise<PartMeta> {
  try {
    const m = JSON.parse(await readFile(metaFile, 'utf8')) as Partial<PartMeta>;
    if (m.url === url && m.sha256 === sha256) return { url, sha256, ...(typeof m.validator === 'string' ? { validator: m.validator } : {}) };
  } catch {
    // none, or unreadable: start over below
  }
  await rm(part, { force: true });
  const fresh = { url, sha256 };
  await writeFile(metaFile, JSON.stringify(fresh));
  return fresh;
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch {
    return 0;
  }
}

async function hashFile(file: string): Promise<{ hash: string; bytes: number }> {
  const h: Hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(file)) {
    h.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { hash: h.digest('hex'), bytes };
}
