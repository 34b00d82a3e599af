import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { startDaemon, tempDir, writeConfig, LANECTL } from '../helpers/daemon.js';
import type { Json } from '../helpers/json.js';

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

  const sub = subscribe(['evt/+/BarcodeScanned'], ['-C', '4', '-W', '20']);
  const exited = new Promise((r) => sub.on('exit', r));
  let out = '';
  sub.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise((r) => setTimeout(r, 300));
  const scan = await lanectl(stateDir, 'sim', 'scan', '4006381333931');
  t.equal(scan.code, 0, `lanectl sim scan: ${scan.err}`);
  t.equal(await exited, 0, 'mosquitto_sub saw 4 scans (3 scripted + 1)');
  const events = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l.slice(l.indexOf(' ') + 1)) as { source: string; data: { gtin?: string; raw: string } });
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
    for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 100));
    t.ok(ok(), what);
  };
  await until('the retained doc/devices arrives on subscribe', () => seen.some((m) => m.topic === 'doc/devices'));
  t.equal(scannerIn(seen.find((m) => m.topic === 'doc/devices')!.body), 'ok', 'the scanner is ok in it');
  t.equal((await lanectl(stateDir, 'sim', 'unplug', 'scanner')).code, 0);
  await until('doc/devices says disconnected', () => seen.some((m) => m.topic === 'doc/devices' && scannerIn(m.body) === 'disconnected'));
  await new Promise((r) => setTimeout(r, 1600)); // several presence polls while it is gone
  t.equal((await lanectl(stateDir, 'sim', 'replug', 'scanner')).code, 0);
  await until(
    'doc/devices says ok again',
    () => seen.filter((m) => m.topic === 'doc/devices').pop() !== undefined && scannerIn(seen.filter((m) => m.topic === 'doc/devices').pop()!.body) === 'ok',
  );
  // the event and the document travel separately: wait for the event of the return too
  await until('DeviceStatus ok after the replug', () =>
    seen.some((m) => m.topic === 'evt/scanner/DeviceStatus' && (m.body as { data: { state: string } }).data.state === 'ok'),
  );
  await new Promise((r) => setTimeout(r, 300)); // room for a wrongly repeated one to arrive
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
