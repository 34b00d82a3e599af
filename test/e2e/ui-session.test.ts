import t from 'tap';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { startLane } from '../helpers/lane.js';
import { UiSessions, mqttBrowserBundle } from '../../daemon/http/ui-session.js';

// The kiosk's way to its `ui` credentials and the mqtt.js bundle route.

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function connect(url: string, opts: mqtt.IClientOptions): Promise<{ ok: true; client: mqtt.MqttClient } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    client.once('connect', () => resolve({ ok: true, client }));
    client.once('error', (err) => {
      client.end(true);
      resolve({ ok: false, error: err.message });
    });
  });
}

t.test('GET /ui/session gives the loopback kiosk a token the broker takes as the ui role', async (t) => {
  const lane = await startLane({ devices: {} });
  t.teardown(() => lane.stop());
  const port = lane.daemon.http!.port;

  const res = await get(port, '/ui/session');
  t.equal(res.status, 200);
  t.match(res.type, /application\/json/);
  const s = JSON.parse(res.body) as { path: string; username: string; password: string; clientId: string; expiresInMs: number };
  t.equal(s.path, '/mqtt');
  t.equal(s.username, 'ui');
  t.match(s.clientId, /^ui-[0-9a-f]{12}$/);
  t.not(s.password, lane.daemon.credentials.password('ui'), 'a token, not the role password');

  const ws = `ws://127.0.0.1:${port}${s.path}`;
  const ok = await connect(ws, { clientId: s.clientId, username: 'ui', password: s.password });
  t.ok(ok.ok, 'the token opens an MQTT-over-WebSocket connection');
  if (ok.ok) {
    const client = ok.client;
    // mqtt.js reports a 0x80 in SUBACK as an error carrying the packet
    const granted = await new Promise<number[]>((resolve) =>
      client.subscribe(['doc/#', 'evt/#'], { qos: 1 }, (err, g) =>
        resolve((err as (Error & { packet?: { granted: number[] } }) | null)?.packet?.granted ?? (g ?? []).map((x) => x.qos)),
      ),
    );
    t.same(granted, [1, 128], 'and it is the ui role: docs yes, events no');
    ok.client.end(true);
  }

  const other = JSON.parse((await get(port, '/ui/session')).body) as { password: string };
  t.not(other.password, s.password, 'every session has its own token');

  const bad = await connect(ws, { clientId: 'ui-guess', username: 'ui', password: `${s.password}x` });
  t.notOk(bad.ok, 'a wrong token is refused');
  const asTech = await connect(ws, { clientId: 'ui-escalate', username: 'technician', password: s.password });
  t.notOk(asTech.ok, 'a ui token is not a technician password');
});

t.test('/ui/session refuses what is not the board itself', async (t) => {
  const lane = await startLane({ devices: {} });
  t.teardown(() => lane.stop());
  const port = lane.daemon.http!.port;
  const rebound = await get(port, '/ui/session', { host: 'attacker.example:8080' });
  t.equal(rebound.status, 403, 'a non-loopback Host header (DNS rebinding) is refused');
  t.match(rebound.body, /loopback Host header/);
  const cross = await get(port, '/ui/session', { 'sec-fetch-site': 'cross-site' });
  t.equal(cross.status, 403, 'a cross-site browser request is refused');

  const sessions = new UiSessions();
  const fake = (remoteAddress: string, host = '127.0.0.1:8080') => ({ headers: { host }, socket: { remoteAddress } }) as never;
  const status = (remote: string): number | undefined => {
    try {
      sessions.handle(fake(remote));
      return 200;
    } catch (err) {
      return (err as { status?: number }).status;
    }
  };
  t.equal(status('192.0.2.7'), 403, 'another machine is refused');
  t.equal(status('::ffff:10.1.2.3'), 403, 'mapped IPv4 from outside too');
  t.equal(status('127.0.0.1'), 200, 'the board itself is not');
  t.match(sessions.handle(fake('::1', '[::1]:8080')), { username: 'ui' }, 'IPv6 loopback is the board');
  t.match(sessions.handle(fake('::ffff:127.0.0.1', 'localhost:8080')), { username: 'ui' });
});

t.test('tokens expire on the monotonic clock', async (t) => {
  let now = 1000;
  const sessions = new UiSessions(60_000, () => now);
  const a = sessions.issue();
  t.ok(sessions.check(a.password));
  t.notOk(sessions.check('not-a-token'));
  now += 59_999;
  t.ok(sessions.check(a.password), 'valid just before the end');
  now += 1;
  t.notOk(sessions.check(a.password), 'refused from the end on');
  for (let i = 0; i < 200; i++) sessions.issue();
  const b = sessions.issue();
  t.ok(sessions.check(b.password), 'many sessions: the newest still valid (bounded map)');
});

t.test('/vendor/mqtt.js serves the installed mqtt browser bundle', async (t) => {
  const lane = await startLane({ devices: {} });
  t.teardown(() => lane.stop());
  const res = await get(lane.daemon.http!.port, '/vendor/mqtt.js');
  t.equal(res.status, 200);
  t.match(res.type, /^text\/javascript/);
  t.equal(res.body, readFileSync(mqttBrowserBundle(), 'utf8'), 'byte for byte the package file');
  t.match(res.body, /export default/, 'an ES module');
});
