import t from 'tap';

// several starts of laned under a loaded machine: more than the default 300 s per file
t.setTimeout(1_200_000);
import { rolledBackWithinTries } from '../helpers/rollback-case.js';

// A new version that fails this way, under a supervisor that runs the unit's own
// commands as systemd does: rolled back by the boot check outside laned. Each of its
// three starts waits out the whole start timeout, so it is 30 s here, not the unit's
// 120 s: still several times what laned (slot a, again after the rollback) needs to
// say READY on a loaded machine.
t.test('a version that never says READY is rolled back within 3 tries (the start timeout)', (t) =>
  rolledBackWithinTries(t, { flaw: 'hang', why: /timeout/, startTimeoutMs: 30_000 }),
);
