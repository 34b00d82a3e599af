import t, { type Test } from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { download, DownloadError } from '../../daemon/core/download.js';
import { tempDir } from '../helpers/daemon.js';

// The resumable download on a real HTTP server on 127.0.0.1: a connection cut
// midway resumes with Range + If-Range from the byte it had; a server that sends
// other bytes than the claim check names fails the hash and leaves nothing behind;
// a server that sends more than allowed is cut off.

const body = randomBytes(256 * 1024);
const sha = createHash('sha256').update(body).digest('hex');
const ETAG = '"v1"';

interface Seen {
  range?: string;
  ifRange?: string;
}

async function serve(t: Test, handle: (req: IncomingMessage, res: ServerResponse, n: number) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ range: req.headers.range, ifRange: req.headers['if-range'] as string | undefined });
    handle(req, res, seen.length);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/laned.bundle`, seen };
}

/** Resolves once `file` holds `bytes` bytes (the client wrote what it was sent). */
async function fileReaches(file: string, bytes: number): Promise<void> {
  while (!existsSync(file) || statSync(file).size < bytes) await new Promise((r) => setImmediate(r));
}

/**
 * Serve `data` honouring Range and If-Range. With `cut`: send bytes up to `cut.at`,
 * wait until the client has them on disk in `cut.part`, then drop the connection.
 */
function ranged(data: Buffer, req: IncomingMessage, res: ServerResponse, cut?: { at: number; part: string }): void {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  const from = m && (!ifRange || ifRange === ETAG) ? Number(m[1]) : 0;
  const headers = { etag: ETAG, 'content-length': String(data.length - from), 'accept-ranges': 'bytes' };
  if (from > 0) res.writeHead(206, { ...headers, 'content-range': `bytes ${from}-${data.length - 1}/${data.length}` });
  else res.writeHead(200, headers);
  if (cut === undefined) {
    res.end(data.subarray(from));
    return;
  }
  res.write(data.subarray(from, cut.at));
  void fileReaches(cut.part, cut.at).then(() => res.socket?.destroy());
}

t.test('a download cut midway resumes from the byte it had (Range + If-Range)', async (t) => {
  const cut = 100_003;
  const dest = join(tempDir(), 'laned.bundle');
  const { url, seen } = await serve(t, (req, res, n) => ranged(body, req, res, n === 1 ? { at: cut, part: `${dest}.part` } : undefined));
  const progress: number[] = [];
  const r = await download({ url, dest, sha256: sha, size: body.length, maxBytes: 1 << 20, backoffMs: 1, onProgress: (b) => progress.push(b) });
  t.equal(seen.length, 2, 'two requests');
  t.equal(seen[0].range, undefined, 'the first asks for the whole file');
  t.equal(seen[1].range, `bytes=${cut}-`, 'the second asks from the byte the first had delivered');
  t.equal(seen[1].ifRange, ETAG, 'with If-Range naming the first response’s ETag');
  t.equal(r.resumes, 1);
  t.equal(r.bytes, body.length);
  t.ok(readFileSync(dest).equals(body), 'the file is the served file');
  t.notOk(existsSync(`${dest}.part`), 'no partial file left');
  t.notOk(existsSync(`${dest}.part.json`), 'no bookkeeping left');
  t.equal(progress.at(-1), body.length, 'progress reached the total');
});

t.test('a partial file from an earlier, aborted download is resumed by the next call', async (t) => {
  const dest = join(tempDir(), 'laned.bundle');
  const { url, seen } = await serve(t, (req, res, n) => ranged(body, req, res, n === 1 ? { at: 50_000, part: `${dest}.part` } : undefined));
  // retries: 0: the first call gives up after the cut, leaving the partial file
  const first = await download({ url, dest, sha256: sha, maxBytes: 1 << 20, retries: 0 }).catch((e: unknown) => e);
  t.type(first, DownloadError);
  t.equal((first as DownloadError).reason, 'network');
  t.equal(readFileSync(`${dest}.part`).length, 50_000, 'the bytes received are kept');
  const r = await download({ url, dest, sha256: sha, maxBytes: 1 << 20, retries: 0 });
  t.equal(seen[1].range, 'bytes=50000-', 'the next call asks only for the rest');
  t.equal(r.resumes, 1);
  t.ok(readFileSync(dest).equals(body));
});

t.test('a partial file of another hash is not resumed', async (t) => {
  const { url, seen } = await serve(t, (req, res) => ranged(body, req, res));
  const dest = join(tempDir(), 'laned.bundle');
  writeFileSync(`${dest}.part`, body.subarray(0, 1000));
  writeFileSync(`${dest}.part.json`, JSON.stringify({ url, sha256: 'f'.repeat(64), validator: ETAG }));
  await download({ url, dest, sha256: sha, maxBytes: 1 << 20 });
  t.equal(seen[0].range, undefined, 'asked for the whole file');
  t.ok(readFileSync(dest).equals(body));
});

t.test('a server that changed the file since (If-Range fails, 200) is downloaded again from the start', async (t) => {
  const dest = join(tempDir(), 'laned.bundle');
  const { url, seen } = await serve(t, (req, res, n) => {
    if (n === 1) return ranged(body, req, res, { at: 10_000, part: `${dest}.part` });
    // a new ETag: If-Range does not match, so the whole (same) body comes back with 200
    res.writeHead(200, { etag: '"v2"', 'content-length': String(body.length) });
    res.end(body);
  });
  const r = await download({ url, dest, sha256: sha, maxBytes: 1 << 20, backoffMs: 1 });
  t.equal(seen[1].range, 'bytes=10000-');
  t.equal(r.bytes, body.length, 'the file is not the old start plus the whole new file');
  t.ok(readFileSync(dest).equals(body));
});

t.test('a server that lies about the content fails the hash; nothing is left', async (t) => {
  const other = Buffer.from(body);
  other[1234] ^= 0xff;
  const { url } = await serve(t, (req, res) => ranged(other, req, res));
  const dest = join(tempDir(), 'laned.bundle');
  const err = await download({ url, dest, sha256: sha, size: body.length, maxBytes: 1 << 20 }).catch((e: unknown) => e);
  t.type(err, DownloadError);
  t.equal((err as DownloadError).reason, 'hash');
  t.match((err as Error).message, new RegExp(`expected ${sha}`), 'names the expected hash');
  t.notOk(existsSync(dest), 'no file');
  t.notOk(existsSync(`${dest}.part`), 'no partial file');
  t.notOk(existsSync(`${dest}.part.json`), 'no bookkeeping');
});

t.test('a server that sends more than allowed is cut off while reading', async (t) => {
  let sent = 0;
  const { url } = await serve(t, (_req, res) => {
    // no Content-Length: the bound must hold while reading
    res.writeHead(200);
    const chunk = Buffer.alloc(16 * 1024);
    const more = (): void => {
      // bounded: at most 4 MiB, the client must stop long before
      while (sent < 4 << 20) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end();
    };
    res.on('close', () => (sent = 4 << 20));
    more();
  });
  const dest = join(tempDir(), 'laned.bundle');
  const err = await download({ url, dest, sha256: sha, maxBytes: 100_000 }).catch((e: unknown) => e);
  t.type(err, DownloadError);
  t.equal((err as DownloadError).reason, 'too-large');
  t.notOk(existsSync(dest));
});

t.test('an announced size over the limit is refused before any request', async (t) => {
  const { url, seen } = await serve(t, (req, res) => ranged(body, req, res));
  const err = await download({ url, dest: join(tempDir(), 'x'), sha256: sha, size: 2 << 20, maxBytes: 1 << 20 }).catch((e: unknown) => e);
  t.equal((err as DownloadError).reason, 'too-large');
  t.equal(seen.length, 0);
});

t.test('5xx is retried a bounded number of times; 404 fails at once', async (t) => {
  const { url, seen } = await serve(t, (_req, res) => {
    res.writeHead(503);
    res.end();
  });
  const err = await download({ url, dest: join(tempDir(), 'x'), sha256: sha, maxBytes: 1 << 20, retries: 2, backoffMs: 1 }).catch((e: unknown) => e);
  t.equal((err as DownloadError).reason, 'network');
  t.equal(seen.length, 3, 'the first attempt and two retries');

  const nf = await serve(t, (_req, res) => {
    res.writeHead(404);
    res.end();
  });
  const err2 = await download({ url: nf.url, dest: join(tempDir(), 'x'), sha256: sha, maxBytes: 1 << 20, retries: 5, backoffMs: 1 }).catch((e: unknown) => e);
  t.equal((err2 as DownloadError).reason, 'http');
  t.match((err2 as Error).message, /404/);
  t.equal(nf.seen.length, 1, 'not retried');
});
