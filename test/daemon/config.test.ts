import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, validateConfig } from '../../daemon/core/config.js';
import { resolveStateDir } from '../../daemon/core/paths.js';
import { tempDir, startDaemon } from '../helpers/daemon.js';

t.test('no file: every default, the simulated lane', async (t) => {
  const c = loadConfig();
  t.equal(c.broker.host, '127.0.0.1', 'broker on loopback by default');
  t.equal(c.broker.port, 1883);
  t.equal(c.http.port, 8080);
  t.equal(c.devices, undefined, 'no devices key: the simulated lane');
});

t.test("a service's settings without `enabled`: its own default applies", async (t) => {
  const pinHash = 'scrypt$16384$8$1$c2FsdA==$aGFzaA==';
  const c = validateConfig({ services: { attendant: { pinHash }, probe: { count: 3 } } }, 'c');
  t.same(c.services.attendant, { pinHash }, 'accepted as written (the daemon then enables attendant, on by default)');
  t.equal(c.services.probe?.enabled, undefined, 'probe stays off by default: no schema default turns it on');
  t.throws(() => validateConfig({ services: { probe: { enabled: 'yes' } } }, 'c'), { message: /services\.probe\.enabled: "yes" is not allowed/ });
});

t.test("every service's settings are checked against the schema it declares", async (t) => {
  const refused: Array<[Record<string, unknown>, RegExp]> = [
    [{ attendant: { pinHash: 1234 } }, /services\.attendant\.pinHash: got 1234, expected a string matching/],
    [{ attendant: { maxPinFailures: -4 } }, /services\.attendant\.maxPinFailures: got -4, expected an integer from 1 to 100/],
    [{ catalog: { maxFileBytes: 'lots' } }, /services\.catalog\.maxFileBytes: got "lots", expected an integer/],
    [{ catalog: { maxFilebytes: 1_000_000 } }, /services\.catalog\.maxFilebytes: unknown key/],
    [{ payment: { terminal: { kind: 'simulated', delayMs: 50, fallbak: 'approve' } } }, /services\.payment\.terminal\.fallbak: unknown key/],
    [{ weightcheck: { toleranceG: '5' } }, /services\.weightcheck\.toleranceG: got "5", expected a number/],
    [{ journal: { keepReceipts: 0 } }, /services\.journal\.keepReceipts: got 0/],
    [{ basket: { removalNeedsApproval: 'no' } }, /services\.basket\.removalNeedsApproval: got "no", expected a boolean/],
    [{ 'probe-sink': { failTicks: ['2'] } }, /services\.probe-sink\.failTicks\.0: got "2"/],
    [{ bascket: { enabled: true } }, /services\.bascket: unknown service \(known: .*basket/],
  ];
  for (const [services, message] of refused)
    t.throws(() => validateConfig({ services }, 'config x.yaml'), { name: 'ConfigError', message }, JSON.stringify(services));
  const ok = validateConfig(
    {
      services: {
        catalog: { maxFileBytes: 1_000_000, demo: false },
        payment: { enabled: true, terminal: { kind: 'simulated', script: ['decline'] }, timeoutMs: 5000 },
      },
    },
    'c',
  );
  t.equal((ok.services.catalog as { maxFileBytes?: number }).maxFileBytes, 1_000_000, 'good settings pass as written');
});

t.test('an invalid value names the key, the value and what is allowed', async (t) => {
  t.throws(() => validateConfig({ broker: { port: 70000 } }, 'config x.yaml'), {
    name: 'ConfigError',
    message: /config x\.yaml: invalid configuration\n {2}broker\.port: 70000 is not allowed: Expected integer to be less or equal to 65535/,
  });
  t.throws(() => validateConfig({ broker: { prot: 1 } }, 'c'), { message: /broker\.prot: unknown key/ });
  t.throws(() => validateConfig({ lane: { currency: 'euro' } }, 'c'), { message: /lane\.currency: "euro" is not allowed/ });
  t.throws(() => validateConfig([1, 2], 'c'), { message: /the top level must be a mapping/ });
});

t.test('YAML errors say where', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'broker:\n  port: [1\n');
  t.throws(() => loadConfig(file), { name: 'ConfigError', message: /bad\.yaml: not valid YAML at line \d+, column \d+/ });
  t.throws(() => loadConfig(join(dir, 'missing.yaml')), { message: /missing\.yaml: cannot read it \(ENOENT\)/ });
});

t.test('state directory: flag, then $STATE_DIRECTORY, then ~/.local/state/laned', async (t) => {
  const saved = process.env.STATE_DIRECTORY;
  t.teardown(() => {
    if (saved === undefined) delete process.env.STATE_DIRECTORY;
    else process.env.STATE_DIRECTORY = saved;
  });
  process.env.STATE_DIRECTORY = '/var/lib/laned:/other';
  t.equal(resolveStateDir('/tmp/x'), '/tmp/x');
  t.equal(resolveStateDir(), '/var/lib/laned');
  delete process.env.STATE_DIRECTORY;
  t.match(resolveStateDir(), /\.local\/state\/laned$/);
});

t.test('laned refuses a bad config with exit 78 and one clear line', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'laned.yaml');
  writeFileSync(file, 'http:\n  port: -1\n');
  const d = await startDaemon({ configFile: file, stateDir: join(dir, 'state'), waitReady: false });
  t.equal(await d.exited, 78, 'EX_CONFIG');
  t.match(d.lines.join('\n'), /http\.port: -1 is not allowed/);
});

t.test("laned refuses a service's bad setting with exit 78, naming the key", async (t) => {
  const dir = tempDir();
  const file = join(dir, 'laned.yaml');
  writeFileSync(file, 'services:\n  attendant:\n    pinHash: 1234\n');
  const d = await startDaemon({ configFile: file, stateDir: join(dir, 'state'), waitReady: false });
  t.equal(await d.exited, 78, 'EX_CONFIG');
  t.match(d.lines.join('\n'), /services\.attendant\.pinHash: got 1234/);
});
