import t from 'tap';
import { request } from 'node:http';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startDaemon, tempDir, writeConfig } from '../helpers/daemon.js';

// laned stops on SIGTERM while the kiosk's page holds its MQTT-over-WebSocket
// connection open: an upgraded socket is no longer the HTTP server's to close
// (closeAllConnections leaves it), so a stop that waited for it would hang until the
// unit's TimeoutStopSec SIGKILLs laned and the next start counts an unsafe shutdown.

function session(port: number): Promise<{ path: string; password: string; clientId: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/ui/session' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(JSON.parse(body) as { path: string; password: string; clientId: string }));
    })
      .on('error', reject)
      .end();
  });
}

t.test('SIGTERM with a kiosk connected over WebSocket: laned exits 0', async (t) => {
  const dir = tempDir();
  const d = await startDaemon({ configFile: writeConfig(dir, {}), stateDir: join(dir, 'state') });
  t.teardown(() => d.kill('SIGKILL'));
  const port = Number(new URL(d.httpUrl).port);
  const s = await session(port);
  const client = mqtt.connect(`ws://127.0.0.1:${port}${s.path}`, { clientId: s.clientId, username: 'ui', password: s.password, reconnectPeriod: 0 });
  t.teardown(() => client.end(true));
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  t.ok(client.connected, 'the page is connected');
  d.proc.kill('SIGTERM');
  // systemd's TimeoutStopSec=30 in laned.service: later than that laned would be SIGKILLed
  const code = await Promise.race([d.exited, new Promise<string>((r) => setTimeout(() => r('still running after TimeoutStopSec (30 s)'), 30_000).unref())]);
  t.equal(code, 0, 'a graceful stop, exit 0');
});
