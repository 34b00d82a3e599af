// The conformance suite that ships with aedes-persistence 11 (abstract.js),
// run in full against SqlitePersistence on a fresh temp file per test. The
// suite is written for node:test; this file uses node:test only, so its TAP
// output is what tap counts (one point per suite test).
import { test } from 'node:test';
import { createRequire } from 'node:module';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqlitePersistence } from '../../broker/persistence.js';

type AbstractSuite = (opts: { test: typeof test; persistence: () => SqlitePersistence; testAsync: boolean }) => void;
const abstractPersistence = createRequire(import.meta.url)('aedes-persistence/abstract.js') as AbstractSuite;

const dir = mkdtempSync(join(tmpdir(), 'laned-persistence-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
let n = 0;

abstractPersistence({
  test,
  persistence: () => new SqlitePersistence({ file: join(dir, `suite-${++n}.sqlite`) }),
  testAsync: true,
});
