import t from 'tap';
import { createConnection } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { hashPassword } from '../../broker/credentials.js';
import { request } from '../../daemon/cli/client.js';
import { startDaemon, tempDir, writeConfig } from '../helpers/daemon.js';

// Ten seconds of CONNECTs with bad passwords for a role with a configured scrypt hash,
// from loopback, while the shopper scans: the scans keep reaching doc/basket.

const FLOOD_PER_SECOND = 40;
const FLOOD_SECONDS = 10;
const SCAN_EVERY_MS = 250;
const COLA = '5449000000996';

const str = (s: string): Buffer => Buffer.concat([Buffer.from([s.length >> 8, s.length & 0xff]), Buffer.from(s)]);

/** MQTT 3.1.1 §3.1 CONNECT: protocol "MQTT" level 4, flags 0xC2 (user name, password, clean session), keep-alive 60 s. */
function connectPacket(clientId: string, username: string, password: string): Buffer {
  const body = Buffer.concat([str('MQTT'), Buffer.from([0x04, 0xc2, 0x00, 0x3c]), str(clientId), str(username), str(password)]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** One bad CONNECT; resolves with the CONNACK return code, or -1 if the broker closed without one. */
function badConnect(port: number, i: number): Promise<number> {
  return new Promise((resolve) => {
    const sock = createConnection(port, '127.0.0.1');
    const timer = setTimeout(() => sock.destroy(), 30_000);
    let code = -1;
    sock.on('error', () => undefined);
    sock.on('data', (b: Buffer) => {
      if (b[0] === 0x20 && b.length >= 4) code = b[3]!;
      sock.destroy();
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(code);
    });
    sock.on('connect', () => sock.write(connectPacket(`flood-${i}`, i % 10 === 9 ? 'root' : 'technician', `guess-${i}`)));
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

t.test('a flood of bad CONNECTs does not stall scanning', async (t) => {
  const stateDir = tempDir();
  const techPassword = 'technician-secret';
  const config = {
    broker: { credentials: { technician: await hashPassword(techPassword) } },
    services: { weightcheck: { enabled: false } },
  };
  const d = await startDaemon({ stateDir, configFile: writeConfig(stateDir, config) });
  t.teardown(() => d.kill());

  const connectTech = (clientId: string): Promise<MqttClient> =>
    new Promise((resolve, reject) => {
      const c = mqtt.connect(d.brokerUrl, { clientId, username: 'technician', password: techPassword, reconnectPeriod: 0, connectTimeout: 30_000 });
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
  const tech = await connectTech('flood-test-tech');
  t.teardown(() => tech.end(true));

  // scans: sent at a steady pace, applied when doc/basket holds that many items
  const sentAt: number[] = [];
  const appliedAt: number[] = [];
  tech.on('message', (topic, payload) => {
    if (topic !== 'doc/basket') return;
    // the summary document counts the pieces (the lines are in doc/basket/lines/<page>)
    const items = (JSON.parse(payload.toString('utf8')) as { items?: number }).items ?? 0;
    for (let i = 0; i < Math.min(items, sentAt.length); i++) appliedAt[i] ??= performance.now();
  });
  await tech.subscribeAsync('doc/basket', { qos: 1 });
  let scanning = true;
  const scans = (async () => {
    while (scanning) {
      const next = performance.now() + SCAN_EVERY_MS;
      sentAt.push(performance.now());
      await request(tech, 'sim', 'Scan', { code: COLA }, 120_000);
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
  })();

  // the flood: a fixed number of CONNECTs a second for FLOOD_SECONDS, loopback
  const floodStart = performance.now();
  const answers: Array<Promise<number>> = [];
  for (let i = 0; i < FLOOD_PER_SECOND * FLOOD_SECONDS; i++) {
    const at = floodStart + (i * 1000) / FLOOD_PER_SECOND;
    await new Promise((r) => setTimeout(r, Math.max(0, at - performance.now())));
    answers.push(badConnect(d.brokerPort, i));
  }
  const floodEnd = performance.now();
  // the scans sent during the flood, up to 2 s before its end, and which of them were applied before it ended
  const during = sentAt.flatMap((s, i) => (s >= floodStart && s < floodEnd - 2000 ? [i] : []));
  const appliedDuring = during.filter((i) => appliedAt[i] !== undefined && appliedAt[i]! < floodEnd);
  const codes = await Promise.all(answers);
  // a few scans after the flood
  await new Promise((r) => setTimeout(r, 2000));
  scanning = false;
  await scans;
  const deadline = performance.now() + 60_000;
  while (appliedAt.filter((a) => a !== undefined).length < sentAt.length && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));

  t.equal(appliedAt.filter((a) => a !== undefined).length, sentAt.length, `every one of the ${sentAt.length} scans reached doc/basket`);
  t.ok(during.length >= 20, `${during.length} scans sent during the flood`);
  t.equal(
    appliedDuring.length,
    during.length,
    `scanning went on during the flood: ${appliedDuring.length} of the ${during.length} scans sent up to 2 s before its end were applied while it ran`,
  );
  const latencies = sentAt.map((s, i) => appliedAt[i]! - s).sort((a, b) => a - b);
  t.comment(
    `scan -> doc/basket over ${latencies.length} scans during and after ${FLOOD_PER_SECOND * FLOOD_SECONDS} bad CONNECTs: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${latencies.at(-1)!.toFixed(1)} ms`,
  );
  // 0x04 bad user name or password; 0x03 server unavailable while the password checks are busy
  t.ok(
    codes.every((c) => c === 4 || c === 3),
    `every bad CONNECT answered with a CONNACK refusing it (${codes.filter((c) => c === 3).length} with 0x03, ${codes.filter((c) => c !== 4 && c !== 3).length} closed without one)`,
  );

  const metrics = await (await fetch(`${d.httpUrl}/metrics`)).text();
  const count = (reason: string): number => Number(new RegExp(`laned_broker_refused_total\\{reason="${reason}"\\} (\\d+)`).exec(metrics)?.[1] ?? 0);
  t.ok(count('auth') >= 5, `failed authentications counted in /metrics: auth ${count('auth')}`);
  t.equal(count('auth') + count('auth-rate-limited') + count('auth-busy'), FLOOD_PER_SECOND * FLOOD_SECONDS, 'every bad CONNECT counted once');
  t.ok(count('auth') <= 20, `only ${count('auth')} were checked (the source's failure rate), ${count('auth-rate-limited')} refused unchecked`);
  await d.waitFor(/refused connection of flood-\d+ from 127\.0\.0\.1:\d+: bad user name or password for \\"technician\\"/);
  await d.waitFor(/refused connection of flood-\d+ from 127\.0\.0\.1:\d+ unchecked: too many failed authentications/);

  const again = await connectTech('flood-test-tech-2');
  t.ok(again.connected, 'the technician still gets in from the same address');
  again.end(true);
});
