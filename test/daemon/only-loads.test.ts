import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT, startDaemon, tempDir, writeConfig } from '../helpers/daemon.js';

// `laned --only basket` runs one service against the daemon's broker: it has no
// devices, so it must not load a driver's stack. Drivers and their twins are
// imported per kind when a device of the kind starts (drivers/kind.ts).

const reporter = pathToFileURL(join(ROOT, 'test', 'helpers', 'loaded-modules.mjs')).href;
const serialStack = (file: string): string[] =>
  (JSON.parse(readFileSync(file, 'utf8')) as string[]).filter((m) => /[\\/]node_modules[\\/](serialport|@serialport)[\\/]/.test(m));

t.test('laned --only basket does not load the serial stack; the whole lane does', async (t) => {
  const dir = tempDir();
  const stateDir = join(dir, 'state');
  const configFile = writeConfig(dir, {});
  const env = (file: string) => ({ NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import=${reporter}`.trim(), LANED_LOADED_MODULES: file });

  const wholeFile = join(dir, 'whole.json');
  const daemon = await startDaemon({ configFile, stateDir, env: env(wholeFile) });
  t.teardown(() => daemon.kill('SIGKILL'));
  const onlyFile = join(dir, 'only.json');
  const basket = await startDaemon({ configFile, stateDir, args: ['--only', 'basket'], env: env(onlyFile) });
  t.teardown(() => basket.kill('SIGKILL'));

  t.equal(await basket.kill('SIGTERM'), 0, 'basket alone stops cleanly');
  t.same(serialStack(onlyFile), [], 'basket alone: no serialport module loaded');
  t.equal(await daemon.kill('SIGTERM'), 0);
  t.ok(
    serialStack(wholeFile).some((m) => m.includes('@serialport/stream')),
    'the whole simulated lane (serial scanner, scanner-scale, scale) did load it: the check sees it when it is there',
  );
});
