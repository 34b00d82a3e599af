import t from 'tap';
import { join } from 'node:path';
import { healthz, startDaemon, tempDir, writeConfig } from '../../helpers/daemon.js';
import { eventually } from '../../helpers/wait.js';

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
  const get = () => healthz<Health>(d);
  t.equal((await get()).body.status, 'ready');

  d.proc.kill('SIGUSR2');
  await d.waitFor(/test hook: event loop unblocked/);
  const seen = await eventually(
    async () => {
      const h = await get();
      return h.body.services.some((s) => s.state === 'stalled') ? h : undefined;
    },
    'the health check to see the lag',
    10_000,
  );
  t.equal(seen.code, 503);
  t.equal(seen.body.status, 'failed', 'the checkout cannot work: failed');
  t.ok((seen.body.eventLoopLagMs ?? 0) > 500, `lag reported: ${seen.body.eventLoopLagMs} ms`);
  t.ok(
    seen.body.services.every((s) => s.state === 'stalled'),
    'every service is stalled',
  );
  t.match(seen.body.reasons.join('\n'), /^service basket: stalled: event loop lag \d+ ms over the 500 ms bound \(health\.maxLagMs\)/m);
  await eventually(async () => ((await get()).body.status === 'ready' ? true : undefined), 'ready again after the lag', 20_000);
  t.equal((await get()).body.status, 'ready', 'ready again once the loop keeps up');
});
