import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as topics from '../../broker/topics.js';
import { ROOT, startDaemon, tempDir, writeConfig } from '../helpers/daemon.js';

// The topics module: its builders and parser agree, and the touch UI gets the very
// module the daemon runs (served at /js/topics.js), so the two cannot drift.

t.test('the parser takes apart what the builders build', async (t) => {
  t.same(topics.parseTopic(topics.evt('basket', 'ItemAddedToBasket')), { kind: 'evt', source: 'basket', type: 'ItemAddedToBasket' });
  t.same(topics.parseTopic(topics.cmd('basket', 'Pay')), { kind: 'cmd', target: 'basket', name: 'Pay' });
  t.same(topics.parseTopic(topics.doc('basket/lines/2')), { kind: 'doc', name: 'basket/lines/2' });
  t.same(topics.parseTopic(topics.svcState('basket')), { kind: 'svc-state', name: 'basket' });
  t.same(topics.parseTopic(topics.svcHead('scanner')), { kind: 'svc-head', source: 'scanner' });
  t.same(topics.parseTopic(topics.replay('basket', 'journal')), { kind: 'replay', source: 'basket', consumer: 'journal' });
  t.same(topics.parseTopic(topics.replayEnd('basket', 'journal')), { kind: 'replay-end', source: 'basket', consumer: 'journal' });
  t.same(topics.parseTopic(topics.reply('ui-0123456789ab', '01JD')), { kind: 'reply', clientId: 'ui-0123456789ab', id: '01JD' });
  t.equal(topics.parseTopic('evt/basket'), undefined, 'an event topic without a type');
  t.equal(topics.parseTopic('svc/basket/other'), undefined);
  t.equal(topics.parseTopic('store/1/lane/2/state'), undefined, 'not a lane topic');
});

t.test('the UI is served the module the daemon runs', async (t) => {
  const dir = tempDir();
  const d = await startDaemon({ stateDir: dir, configFile: writeConfig(dir, { devices: {} }) });
  t.teardown(() => d.kill());
  const res = await fetch(`${d.httpUrl}/js/topics.js`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type') ?? '', /javascript/);
  const served = await res.text();
  t.equal(served, readFileSync(join(ROOT, 'dist/broker/topics.js'), 'utf8'), 'the compiled broker/topics.js itself');
  const ui = readFileSync(join(ROOT, 'ui-static/js/connection.js'), 'utf8');
  t.match(ui, /from '\/js\/topics\.js'/, 'the UI imports it');
  const code = ui
    .split('\n')
    .filter((l) => !/^\s*(\/\/|\/?\*)/.test(l))
    .join('\n');
  t.notMatch(code, /[`'](cmd|doc|svc|reply)\//, 'and spells no topic itself (comments aside)');
});
