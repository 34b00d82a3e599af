import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { query, startDaemon, tempDir, writeConfig, LANECTL } from '../helpers/daemon.js';
import { defaultSimulatedDevices } from '../../drivers/registry.js';
import type { Json } from '../helpers/json.js';
import { until as waitUntil } from '../helpers/wait.js';

// The foundation's promise to a new user: start with defaults, watch BarcodeScanned
// with mosquitto_sub, drive the simulated devices with lanectl.

function lanectl(stateDir: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [LANECTL, '--state-dir', stateDir, ...args], { timeout: 15_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout, err: stderr }),
    );
  });
}

t.test('the default simulated lane', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const d = await startDaemon({ configFile: writeConfig(dir, {}, { demoScans: true }), stateDir });
  t.teardown(() => d.kill('SIGKILL'));
  const password = (await lanectl(stateDir, 'creds', 'technician')).out.trim();
  t.ok(password.length >= 16, 'lanectl creds prints the technician password');
  /** mosquitto_sub as the technician, one line per message (topic, payload). */
  const subscribe = (topics: string[], more: string[]) =>
    spawn('mosquitto_sub', [
      '-h',
      '127.0.0.1',
      '-p',
      String(d.brokerPort),
      '-u',
      'technician',
      '-P',
      password,
      ...topics.flatMap((x) => ['-t', x]),
      '-v',
      ...more,
    ]);

  // the retained doc/devices comes right after the SUBACK: the scans' subscription is in place
  const sub = subscribe(['evt/+/BarcodeScanned', 'doc/devices'], ['-W', '30']);
  t.teardown(() => sub.kill());
  let out = '';
  sub.stdout.on('data', (b: Buffer) => (out += b.toString()));
  const lines = (topic: RegExp) =>
    out
      .split('\n')
      .slice(0, -1)
      .filter((l) => topic.test(l.slice(0, l.indexOf(' '))));
  await waitUntil(() => lines(/^doc\/devices$/).length > 0, 20_000, 'the retained doc/devices at mosquitto_sub');
  const scan = await lanectl(stateDir, 'sim', 'scan', '4006381333931');
  t.equal(scan.code, 0, `lanectl sim scan: ${scan.err}`);
  type Scanned = { source: string; data: { gtin?: string; raw: string } };
  const scanned = () => lines(/BarcodeScanned$/).map((l) => JSON.parse(l.slice(l.indexOf(' ') + 1)) as Scanned);
  await waitUntil(() => scanned().some((e) => e.data.raw === '4006381333931'), 20_000, 'the scan at mosquitto_sub');
  const events = scanned();
  // the demo script's scans, 3 to 7 s after start, are in the scanner's log whether or not they came before the subscription
  const script = (defaultSimulatedDevices().scanner!.script as Array<{ code: string }>).map((x) => x.code);
  const logged = async () =>
    (
      await query<{ raw: string }>(
        join(stateDir, 'devices.db'),
        "SELECT json_extract(payload, '$.data.raw') AS raw FROM outbox WHERE source = 'scanner' AND type = 'BarcodeScanned' ORDER BY seq",
      )
    ).map((r) => r.raw);
  await waitUntil(
    async () => {
      const l = await logged();
      return l.length >= script.length + 1;
    },
    20_000,
    'the demo scans',
  );
  t.same([...(await logged())].sort(), [...script, '4006381333931'].sort(), 'the demo script scanned its codes by itself, and the one scan more');
  t.ok(
    events.every((e) => e.source === 'scanner'),
    'source is the device name',
  );
  t.ok(
    events.some((e) => e.data.gtin === '04006381333931'),
    'the scanned EAN-13 arrives as GTIN-14',
  );

  const listed = await lanectl(stateDir, '--json', 'devices');
  t.equal(listed.code, 0, `every device ok: ${listed.out}`);
  const kinds = new Set((JSON.parse(listed.out) as Array<{ kind: string; simulated: boolean }>).map((x) => x.kind));
  t.same(
    [...kinds].sort(),
    ['gpio-input', 'gpio-output', 'hid-wedge', 'magellan', 'nau7802', 'serial-scanner', 'toledo8217'],
    'every device type has its simulated twin',
  );

  const notSim = await lanectl(stateDir, 'sim', 'weight', '100', '--device', 'scanner');
  t.equal(notSim.code, 1, 'a sim action a device cannot do is refused');
  t.match(notSim.err, /scanner/, 'naming the device');

  // a device that goes and comes back: DeviceStatus events and the retained doc/devices,
  // as mosquitto_sub sees them
  const watch = subscribe(['evt/scanner/DeviceStatus', 'doc/devices'], ['-W', '20']);
  t.teardown(() => watch.kill());
  const seen: Array<{ topic: string; body: Json }> = [];
  let buf = '';
  watch.stdout.on('data', (b: Buffer) => {
    buf += b.toString();
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      seen.push({ topic: line.slice(0, line.indexOf(' ')), body: JSON.parse(line.slice(line.indexOf(' ') + 1)) });
    }
  });
  const scannerIn = (doc: Json): string | undefined => (doc.devices as Array<{ name: string; state: string }>).find((x) => x.name === 'scanner')?.state;
  const until = async (what: string, ok: () => boolean): Promise<void> => {
    await waitUntil(ok, 10_000, what);
    t.ok(ok(), what);
  };
  await until('the retained doc/devices arrives on subscribe', () => seen.some((m) => m.topic === 'doc/devices'));
  t.equal(scannerIn(seen.find((m) => m.topic === 'doc/devices')!.body), 'ok', 'the scanner is ok in it');
  t.equal((await lanectl(stateDir, 'sim', 'unplug', 'scanner')).code, 0);
  await until('doc/devices says disconnected', () => seen.some((m) => m.topic === 'doc/devices' && scannerIn(m.body) === 'disconnected'));
  await new Promise((r) => setTimeout(r, 1600)); // the subject: several presence polls while it is gone, each must stay silent
  t.equal((await lanectl(stateDir, 'sim', 'replug', 'scanner')).code, 0);
  await until(
    'doc/devices says ok again',
    () => seen.filter((m) => m.topic === 'doc/devices').pop() !== undefined && scannerIn(seen.filter((m) => m.topic === 'doc/devices').pop()!.body) === 'ok',
  );
  // the event and the document travel separately: wait for the event of the return too
  await until('DeviceStatus ok after the replug', () =>
    seen.some((m) => m.topic === 'evt/scanner/DeviceStatus' && (m.body as { data: { state: string } }).data.state === 'ok'),
  );
  await new Promise((r) => setTimeout(r, 300)); // the subject is silence: room for a wrongly repeated one to arrive
  const statuses = seen
    .filter((m) => m.topic === 'evt/scanner/DeviceStatus')
    .map((m) => m.body as { source: string; data: { device?: string; state: string } });
  t.same(
    statuses.map((e) => e.data.state),
    ['disconnected', 'ok'],
    'one DeviceStatus when it goes, one when it is back: not one per retry',
  );
  t.ok(
    statuses.every((e) => e.source === 'scanner'),
    'published by the device as its source',
  );
});
