import t from 'tap';
import { Credentials, hashPassword, verifyHash, SOURCE_FAILURES } from '../../broker/credentials.js';
import { validateConfig, ConfigError } from '../../daemon/core/config.js';
import { tempDir } from '../helpers/daemon.js';

// What a password check may cost the lane: bounded scrypt parameters, failures rate-limited
// per source and in all, one hash at a time, and a good password hashed once.

/** `scrypt$N$r$p$salt$hash` with a cost the lane refuses (N=2^20: 1 GiB per check); salt and hash are never reached. */
const HEAVY = `scrypt$1048576$8$1$${Buffer.alloc(16).toString('base64')}$${Buffer.alloc(32).toString('base64')}`;

/** What a check came to: the refusal, or `ok` for a password that proved its role. */
async function verdictOf(creds: Credentials, role: string, pw: string, from: string, clientId = 'tech-1'): Promise<string> {
  const v = await creds.verify(role, pw, clientId, from);
  return typeof v === 'string' ? v : 'ok';
}

t.test('scrypt parameters are capped when the config is loaded', async (t) => {
  t.throws(() => validateConfig({ broker: { credentials: { technician: HEAVY } } }, 'config laned.yaml'), {
    name: 'ConfigError',
    message:
      /config laned\.yaml: broker\.credentials\.technician: N=1048576, r=8 needs 1024 MiB per check, over the 32 MiB allowed; make a new hash with lanectl hash-password/,
  });
  t.throws(() => validateConfig({ broker: { credentials: { uplink: HEAVY.replace('$1048576$', '$1000$') } } }, 'x'), /N=1000 is not a power of two/);
  t.throws(() => validateConfig({ broker: { credentials: { uplink: HEAVY.replace('$1048576$8$1$', '$16384$8$64$') } } }, 'x'), /p=64 is not 1\.\.2/);
  t.throws(() => Credentials.load(tempDir(), { technician: HEAVY }), ConfigError, 'and again where the broker takes them');
  await t.rejects(verifyHash(HEAVY, 'x'), /scrypt hash refused: N=1048576, r=8 needs 1024 MiB/, 'a PIN hash is held to the same bound');
  const ok = await hashPassword('pw');
  t.doesNotThrow(() => validateConfig({ broker: { credentials: { technician: ok } } }, 'x'), "lanectl hash-password's own hashes pass");
});

t.test('failed checks are rate-limited per source and in all; good clients are not', async (t) => {
  const creds = Credentials.load(tempDir(), { technician: await hashPassword('right') });
  const tech = (pw: string, from: string) => verdictOf(creds, 'technician', pw, from);

  for (let i = 0; i < SOURCE_FAILURES.burst; i++) t.equal(await tech('wrong', '10.0.0.1'), 'bad-password', `failure ${i + 1} from 10.0.0.1 checked`);
  const hashed = creds.hashChecks;
  t.equal(await tech('wrong', '10.0.0.1'), 'rate-limited', 'then refused unchecked');
  t.equal(await tech('right', '10.0.0.1'), 'rate-limited', 'even with the right password: the source waits');
  t.equal(await verdictOf(creds, 'root', 'x', '10.0.0.1'), 'rate-limited', 'unknown users too');
  t.equal(creds.hashChecks, hashed, 'no scrypt ran for those');
  t.equal(await tech('right', '10.0.0.2'), 'ok', 'another source is checked');
  t.equal(await tech('right', '10.0.0.1'), 'ok', 'and a password once checked is known without scrypt, from anywhere');
  t.equal(creds.hashChecks, hashed + 1, 'one scrypt for both');
  t.equal(
    await verdictOf(creds, 'service', creds.password('service', 'laned-basket'), '10.0.0.1', 'laned-basket'),
    'ok',
    'generated passwords cost nothing and are never rate-limited',
  );
  t.equal(await verdictOf(creds, 'nobody', 'x', '10.0.0.3'), 'unknown-user', 'an unknown user is refused before any hashing');
  t.equal(await verdictOf(creds, 'ui', 'x', '10.0.0.3'), 'bad-password', 'so is a role without a configured hash');
  t.equal(creds.hashChecks, hashed + 1);
  t.equal(await verdictOf(creds, '__proto__', 'x', '10.0.0.4'), 'unknown-user', 'object keys are not roles');
});

t.test('scrypt runs one check at a time; a full queue is turned away', async (t) => {
  const creds = Credentials.load(tempDir(), { technician: await hashPassword('right') });
  const verdicts = await Promise.all(Array.from({ length: 8 }, (_, i) => verdictOf(creds, 'technician', `wrong-${i}`, `10.1.0.${i}`)));
  t.same(verdicts.filter((v) => v === 'bad-password').length, 5, 'one running and four queued were checked');
  t.same(verdicts.filter((v) => v === 'busy').length, 3, 'the rest refused at once');
  t.equal(creds.hashChecks, 5);
});

t.test('all sources together are limited too', async (t) => {
  const creds = Credentials.load(tempDir(), { technician: await hashPassword('right') });
  const verdicts: string[] = [];
  // one failure each from many addresses: no source is over its own rate
  for (let i = 0; i < 40; i++) verdicts.push(await verdictOf(creds, 'technician', 'wrong', `10.2.${i}.1`));
  const checked = verdicts.filter((v) => v === 'bad-password').length;
  t.ok(checked >= 20 && checked < 40, `${checked} of 40 checked, then the global limit`);
  t.equal(verdicts.at(-1), 'rate-limited');
});

t.test('clients arriving together with the same good password share one check', async (t) => {
  const creds = Credentials.load(tempDir(), { technician: await hashPassword('right') });
  const verdicts = await Promise.all(Array.from({ length: 20 }, (_, i) => verdictOf(creds, 'technician', 'right', `10.3.0.${i}`)));
  t.same(new Set(verdicts), new Set(['ok']), 'all 20 in, none turned away as busy');
  t.equal(creds.hashChecks, 1, 'one scrypt');
});
