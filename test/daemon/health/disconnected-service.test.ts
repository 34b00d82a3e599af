import t from 'tap';
import { join } from 'node:path';
import { healthz, startDaemon, tempDir, writeConfig } from '../../helpers/daemon.js';
import { eventually } from '../../helpers/wait.js';
import { listenNotify } from '../../helpers/notify-socket.js';
import { lanectl } from '../../helpers/lanectl.js';

// A service whose broker connection is down does no work: it is not "running"
// in /healthz, `lanectl status` or STATUS=. The cut comes from the test hook
// (LANED_TEST_CUT): the basket's in-process connection is dropped and its
// reconnects refused, as an unreachable broker would.

interface ServiceRow {
  name: string;
  state: string;
  connected: boolean;
  detail?: string;
}

t.test('a service cut from the broker is not running: /healthz, lanectl status and STATUS= say so', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const notify = await listenNotify(dir);
  t.teardown(() => notify.close());
  const d = await startDaemon({
    configFile: writeConfig(dir, {}),
    stateDir,
    env: { NOTIFY_SOCKET: notify.path, LANED_TEST_HOOKS: '1', LANED_TEST_CUT: 'basket' },
  });
  t.teardown(() => d.kill('SIGKILL'));
  const ready = await notify.waitFor((m) => m.fields.READY === '1');
  const all = Number(/(\d+)\/\1 services running/.exec(ready.fields.STATUS)?.[1]);
  t.ok(all > 0, `every service running at READY: ${ready.fields.STATUS}`);

  d.proc.kill('SIGUSR2');
  await d.waitFor(/broker connection of laned-basket cut/);

  const health = await eventually(async () => {
    const { code, body } = await healthz<{ status: string; reasons: string[]; services: ServiceRow[] }>(d);
    const basket = body.services.find((s) => s.name === 'basket');
    return basket?.state === 'disconnected' ? { code, body, basket } : undefined;
  }, '/healthz to show the basket disconnected');
  t.equal(health.basket.connected, false);
  t.match(health.basket.detail, /not connected to the broker \(clientId laned-basket\)/, 'the detail says what is wrong');
  t.equal(health.body.status, 'failed', 'the checkout cannot work without the basket: failed');
  t.equal(health.code, 503);
  t.match(health.body.reasons, [/^service basket: disconnected: not connected to the broker/], 'the reason names the service');

  const st = await lanectl(stateDir, ['status']);
  t.equal(st.code, 1, 'lanectl status exits 1');
  t.match(st.out, /^lane: failed \(service basket: disconnected/m);
  t.match(st.out, /^service basket\s+disconnected\s+DISCONNECTED/m, 'the basket row says disconnected');

  const line = await notify.waitFor((m) => /^failed \(service basket disconnected\)/.test(m.fields.STATUS ?? ''), 15_000, 'STATUS= naming the basket');
  t.match(line.fields.STATUS, new RegExp(`${all - 1}/${all} services running`), `STATUS= counts it out: ${line.fields.STATUS}`);

  // let it back: running again everywhere
  d.proc.kill('SIGUSR2');
  await eventually(
    async () => {
      const { body } = await healthz<{ status: string }>(d);
      return body.status === 'ready' ? true : undefined;
    },
    'the lane to be ready again once the basket reconnects',
    60_000,
  );
  await notify.waitFor((m) => new RegExp(`^ready: .*${all}/${all} services running`).test(m.fields.STATUS ?? ''), 15_000, 'STATUS= ready again');
});
