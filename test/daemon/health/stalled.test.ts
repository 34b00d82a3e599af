import t from 'tap';
import { join } from 'node:path';
import { startDaemon, tempDir, writeConfig, sleep } from '../../helpers/daemon.js';

// An event loop that does not keep up stalls every service (they share it): for
// the health check after a lag over health.maxLagMs none of them counts as
// running. The lag is the test hook's busy loop (SIGUSR2, LANED_TEST_BLOCK_MS).

interface Health {
  status: string;
  reasons: string[];
  services: Array<{ name: string; state: string; detail?: string }>;
  eventLoopLagMs: number;
}

t.test('event-loop lag over health.maxLagMs: every service stalled, the lane failed, then ready again', async (t) => {
  const dir = tempDir();
  const d = await startDaemon({
    configFile: writeConfig(dir, { health: { checkMs: 3000, maxLagMs: 500 } }),
    stateDir: join(dir, 'state'),
    env: { LANED_TEST_HOOKS: '1', LANED_TEST_BLOCK_MS: '1500' },
  });
  t.teardown(() => d.kill('SIGKILL'));
  const get = async (): Promise<{ code: number; body: Health }> => {
    const res = await fetch(`${d.httpUrl}/healthz`);
    return { code: res.status, body: (await res.json()) as Health };
  };
  t.equal((await get()).body.status, 'ready');

  d.proc.kill('SIGUSR2');
  await d.waitFor(/test hook: event loop unblocked/);
  let seen: { code: number; body: Health } | undefined;
  for (const end = Date.now() + 10_000; !seen && Date.now() < end; await sleep(100)) {
    const h = await get();
    if (h.body.services.some((s) => s.state === 'stalled')) seen = h;
  }
  t.ok(seen, 'the health check saw the lag');
  t.equal(seen?.code, 503);
  t.equal(seen?.body.status, 'failed', 'the checkout cannot work: failed');
  t.ok((seen?.body.eventLoopLagMs ?? 0) > 500, `lag reported: ${seen?.body.eventLoopLagMs} ms`);
  t.ok(
    seen?.body.services.every((s) => s.state === 'stalled'),
    'every service is stalled',
  );
  t.match(seen?.body.reasons.join('\n'), /^service basket: stalled: event loop lag \d+ ms over the 500 ms bound \(health\.maxLagMs\)/m);
  for (const end = Date.now() + 20_000; (await get()).body.status !== 'ready'; await sleep(200)) {
    if (Date.now() > end) throw new Error('not ready again after the lag');
  }
  t.equal((await get()).body.status, 'ready', 'ready again once the loop keeps up');
});
