import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { startDaemon, tempDir, writeConfig, LANECTL } from '../helpers/daemon.js';

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
  const d = await startDaemon({ configFile: writeConfig(dir, {}), stateDir });
  t.teardown(() => d.kill('SIGKILL'));
  const password = (await lanectl(stateDir, 'creds', 'technician')).out.trim();
  t.ok(password.length >= 16, 'lanectl creds prints the technician password');

  const sub = spawn('mosquitto_sub', [
    '-h',
    '127.0.0.1',
    '-p',
    String(d.brokerPort),
    '-u',
    'technician',
    '-P',
    password,
    '-t',
    'evt/+/BarcodeScanned',
    '-v',
    '-C',
    '4',
    '-W',
    '20',
  ]);
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
});
