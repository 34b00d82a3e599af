import t from 'tap';
import { Credentials } from '../../../broker/credentials.js';
import { tempDir } from '../../helpers/daemon.js';
import { lanectl } from '../../helpers/lanectl.js';

t.test('lanectl creds: driver and service passwords are per client', async (t) => {
  const stateDir = tempDir();
  const creds = Credentials.load(stateDir, {});
  const r = await lanectl(stateDir, ['creds', 'service', 'laned-basket']);
  t.equal(r.code, 0);
  t.equal(r.out.trim(), creds.password('service', 'laned-basket'), 'the password of laned-basket');
  t.not(r.out.trim(), creds.password('service', 'laned-probe'), 'not the one of another service');
  t.equal(
    await creds.verify('service', r.out.trim(), 'laned-basket').then((v) => (typeof v === 'string' ? v : v.role)),
    'service',
    'the broker takes it for laned-basket',
  );
  t.equal(await creds.verify('service', r.out.trim(), 'laned-payment'), 'bad-password', 'and for no other clientId');
  const bare = await lanectl(stateDir, ['creds', 'driver']);
  t.equal(bare.code, 64, 'a driver password needs its client: EX_USAGE');
  t.match(bare.err, /lanectl creds driver laned-<name>/);
  t.equal((await lanectl(stateDir, ['creds', 'technician'])).out.trim(), creds.password('technician'), 'one password for the technician role');
});
