import t from 'tap';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startLane } from '../helpers/lane.js';
import { tempDir } from '../helpers/daemon.js';
import { redactHealth } from '../../daemon/http/http.js';

// What a web page, or a name that resolves to the board, can do with the daemon's HTTP
// server: open /mqtt only from the lane's own origin, read /healthz and /metrics only
// under the lane's own names, and nothing but GET and HEAD anywhere.

function call(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; allow?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A WebSocket upgrade to /mqtt with the given Origin; resolves with the HTTP status (101 when it opened). */
function upgrade(port: number, origin?: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, 'mqtt', origin ? { origin } : {});
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('error', () => resolve(-1));
  });
}

t.test('HTTP and WebSocket: origins, Host names, methods', async (t) => {
  // a journal database that is not one: the lane comes up degraded, and /healthz says where the file went
  const stateDir = tempDir();
  writeFileSync(join(stateDir, 'journal.db'), Buffer.alloc(8192, 0x78));
  const lane = await startLane({ devices: {}, http: { hostNames: ['lane-7.store.example'], origins: ['http://panel.store.example:8080'] } }, stateDir);
  t.teardown(() => lane.stop());
  const port = lane.daemon.http!.port;
  const refused = async (reason: string): Promise<number> =>
    (await lane.daemon.metrics.brokerRefused.get()).values.filter((v) => v.labels.reason === reason).reduce((a, v) => a + v.value, 0);

  await t.test('a foreign Origin cannot open /mqtt; the lane’s own can', async (t) => {
    t.equal(await upgrade(port, 'http://evil.example'), 403, 'a page from elsewhere: 403');
    t.equal(await upgrade(port, `http://127.0.0.1:${port + 1}`), 403, 'another port on the board is another origin');
    t.equal(await upgrade(port, 'null'), 403, 'an opaque origin (a file, a sandbox)');
    t.equal(await refused('origin'), 3, 'counted');
    t.ok(
      lane.logs.some((l) => /refused WebSocket \/mqtt from 127\.0\.0\.1: origin "http:\/\/evil\.example" is not the lane's own/.test(String(l.msg))),
      'logged with the address and the origin',
    );
    t.equal(await upgrade(port, `http://127.0.0.1:${port}`), 101, 'the kiosk page: http://127.0.0.1:<port>');
    t.equal(await upgrade(port, `http://localhost:${port}`), 101, 'or localhost');
    t.equal(await upgrade(port, `http://lane-7.store.example:${port}`), 101, 'or a configured name of the lane');
    t.equal(await upgrade(port, 'http://panel.store.example:8080'), 101, 'and a configured origin');
    t.equal(await upgrade(port), 101, 'a client that is no browser sends no Origin');
  });

  await t.test('/healthz and /metrics answer only to the lane’s names (DNS rebinding)', async (t) => {
    for (const path of ['/healthz', '/metrics']) {
      const evil = await call(port, path, { headers: { host: `rebind.evil.example:${port}` } });
      t.equal(evil.status, 403, `${path} under a foreign name: 403`);
      t.match((JSON.parse(evil.body) as { error: string }).error, /Host "rebind\.evil\.example:\d+" is not a name of this lane \(http\.hostNames\)/);
      t.equal((await call(port, path, { headers: { host: `127.0.0.1:${port}` } })).status, 200, `${path} as 127.0.0.1`);
      t.equal((await call(port, path, { headers: { host: `localhost:${port}` } })).status, 200, `${path} as localhost`);
      t.equal((await call(port, path, { headers: { host: `[::1]:${port}` } })).status, 200, `${path} as [::1]`);
      t.equal((await call(port, path, { headers: { host: `LANE-7.store.example:${port}` } })).status, 200, `${path} as a configured name`);
    }
  });

  await t.test('only GET and HEAD: 405 otherwise', async (t) => {
    for (const [method, path] of [
      ['POST', '/healthz'],
      ['PUT', '/metrics'],
      ['DELETE', '/ui/session'],
      ['POST', '/vendor/mqtt.js'],
      ['POST', '/index.html'],
      ['OPTIONS', '/mqtt'],
      ['PATCH', '/'],
    ] as const) {
      const r = await call(port, path, { method });
      t.equal(r.status, 405, `${method} ${path}: 405`);
      t.equal(r.allow, 'GET, HEAD', 'with Allow');
    }
    t.equal((await call(port, '/healthz', { method: 'HEAD' })).status, 200, 'HEAD /healthz');
    t.equal((await call(port, '/', { method: 'HEAD' })).status, 200, 'HEAD on the UI');
  });

  await t.test('/healthz shows file names, not paths, and no transaction ids', async (t) => {
    const res = await call(port, '/healthz');
    t.equal(res.status, 200, 'degraded');
    const health = JSON.parse(res.body) as { reasons: string[] };
    t.match(health.reasons.join('\n'), /journal\.db .*moved aside to journal\.db\.corrupt-\S+/, 'the reason names the moved-aside file');
    t.notOk(res.body.includes(stateDir), `and not the state directory ${stateDir}`);
    const h = redactHealth({
      reasons: [
        `store: devices.db failed its integrity check (malformed); moved aside to ${lane.stateDir}/devices.db.corrupt-2026-01-01 and started empty`,
        'scanner: /dev/laned/scanner not found',
      ],
      statusLine: 'ready: 9/9 devices ok, txn T-42 open, 0 alarms',
      services: [{ name: 'basket', txn: 'T-42' }],
      http: 'http://127.0.0.1:8080/healthz',
    });
    t.same(
      h,
      {
        reasons: [
          'store: devices.db failed its integrity check (malformed); moved aside to devices.db.corrupt-2026-01-01 and started empty',
          'scanner: /dev/laned/scanner not found',
        ],
        statusLine: 'ready: 9/9 devices ok, txn open, 0 alarms',
        services: [{ name: 'basket' }],
        http: 'http://127.0.0.1:8080/healthz',
      },
      'device paths and URLs stay, state files lose their directory, transactions their id',
    );
  });
});
