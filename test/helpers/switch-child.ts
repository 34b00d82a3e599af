// One step of the updater's file-system work in a process of its own, for the
// SIGKILL tests (LANED_TEST_KILL_AT stops it at a named step): switch, commit or rollback.
import { beginTrial, commitTrial, rollBack } from '../../daemon/updater/switch.js';

const [op, root, stateDir] = process.argv.slice(2) as [string, string, string];
if (op === 'switch') beginTrial({ root, stateDir, slot: 'b', version: '0.1.1' });
else if (op === 'commit') commitTrial(root, stateDir);
else if (op === 'rollback') rollBack(root, stateDir, 'version 0.1.1 (slot b) did not stay up in 3 starts');
else throw new Error(`switch-child: unknown op ${op}`);
