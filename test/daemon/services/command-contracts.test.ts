import t from 'tap';
import { catalog } from '../../../daemon/services/catalog/service.js';
import { basket } from '../../../daemon/services/basket/service.js';
import { serviceHarness } from '../../helpers/service-harness.js';
import { serviceCatalog } from '../../../daemon/services/index.js';
import { SERVICE_COMMANDS } from '../../../daemon/services/commands.js';

// A command is checked against its contract (daemon/services/<name>/commands.ts) where
// it arrives: a bad one is refused with the field named, counted and logged, and the
// service goes on answering.

const rejected = async (h: Awaited<ReturnType<typeof serviceHarness>>, reason: string): Promise<number> =>
  (await h.ctx.metrics.rejected.get()).values.filter((v) => v.labels.reason === reason).reduce((a, v) => a + v.value, 0);

t.test('a command whose args break the contract is refused naming the field, counted, and nothing else is lost', async (t) => {
  const h = await serviceHarness(catalog);
  t.teardown(() => h.stop());
  const bad = await h.command('Search', { search: 'apple', limit: 'all' });
  t.equal(bad.ok, false);
  t.match(bad.error, /^catalog\/Search: args\/limit: /, 'the refusal names the command and the field');
  t.equal(await rejected(h, 'command-args'), 1, 'counted');
  t.ok(
    h.logs.some((l) => l.level === 40 && /rejected command Search: args\/limit/.test(String(l.msg))),
    'logged once as a warning',
  );
  const missing = await h.command('Key', {});
  t.match(missing.error, /^catalog\/Key: args\/code: /, 'a missing field is named too');
  t.equal(await rejected(h, 'command-args'), 2);
  const unknown = await h.command('Serch', { search: 'apple' });
  t.match(unknown.error, /catalog has no command Serch \(known: .*Search/);
  t.equal(await rejected(h, 'command'), 1, 'an unknown command is counted too');
  t.match(await h.ok('Search', { search: 'apple' }), { products: [] }, 'the next good command is answered');
});

t.test('a command that takes no args takes them left out or empty, nothing else', async (t) => {
  const h = await serviceHarness(basket);
  t.teardown(() => h.stop());
  t.equal((await h.command('Get')).ok, true, 'left out');
  t.equal((await h.command('Get', {})).ok, true, 'empty');
  t.match((await h.command('Get', { verbose: true })).error, /^basket\/Get: args\/verbose: Unexpected property/, 'an arg it does not take is named');
  t.match((await h.command('Get', 'all')).error, /^basket\/Get: args: Expected object/);
  t.equal(await rejected(h, 'command-args'), 2, 'both counted');
});

t.test("each service's `ui` commands (what the broker lets the touch UI send it) are commands of the service", async (t) => {
  const declared = serviceCatalog.filter(({ def }) => def.ui?.length);
  t.ok(declared.length >= 4, 'the services the screens talk to');
  for (const { def } of serviceCatalog) {
    for (const name of def.ui ?? []) t.ok(Object.hasOwn(SERVICE_COMMANDS[def.name] ?? {}, name), `${def.name}/${name} is a command of ${def.name}`);
  }
});
