import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ROOT, quietSimulatedDevices, tempDir } from './daemon.js';
import { slotPath, stateFilePath, switchCurrent, type Slot } from '../../daemon/updater/layout.js';
import { readUpdaterState, writeUpdaterState } from '../../daemon/updater/state-file.js';
import { linkGood } from '../../daemon/updater/switch.js';

/**
 * How a test version of laned misbehaves: `crash` exits 1 at start, `hang` never
 * says READY, `unhealthy` says READY and then loses the basket's broker connection
 * (the LANED_TEST_CUT hook), which makes the lane `failed`.
 */
export type Flaw = 'crash' | 'hang' | 'unhealthy';

/** The `dist/daemon/main.js` of a version with a flaw, made from this build's `main`. */
export const FLAWS: Record<Flaw, (main: string) => string> = {
  crash: () => "#!/usr/bin/env node\nprocess.stderr.write('laned (test version): crashing at start\\n');\nprocess.exit(1);\n",
  hang: () => "#!/usr/bin/env node\nprocess.stderr.write('laned (test version): never ready\\n');\nsetInterval(() => undefined, 60_000);\n",
  unhealthy: (main) => {
    const [shebang, ...rest] = main.split('\n');
    return [
      shebang,
      "import { readFileSync as readForTest } from 'node:fs';",
      "process.env.LANED_TEST_CUT = 'basket';",
      // once this process wrote runtime.json (just before READY), cut the basket's connection
      'const cutTimer = setInterval(() => {',
      "  try { if (JSON.parse(readForTest(process.env.STATE_DIRECTORY + '/runtime.json', 'utf8')).pid !== process.pid) return; } catch { return; }",
      "  clearInterval(cutTimer); setTimeout(() => process.kill(process.pid, 'SIGUSR2'), 300);",
      '}, 50);',
      ...rest,
    ].join('\n');
  },
};

/** A slot holding this build of laned (dist, ui-static, package.json at `version`; node_modules linked), optionally with a flaw. */
export function makeSlot(root: string, slot: Slot, version: string, flaw?: Flaw): string {
  const dir = slotPath(root, slot);
  mkdirSync(join(dir, 'dist'), { recursive: true });
  for (const part of ['daemon', 'broker', 'drivers']) cpSync(join(ROOT, 'dist', part), join(dir, 'dist', part), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  symlinkSync(join(ROOT, 'ui-static'), join(dir, 'ui-static'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ ...pkg, version }, null, 2));
  if (flaw) {
    const main = join(dir, 'dist/daemon/main.js');
    writeFileSync(main, FLAWS[flaw](readFileSync(main, 'utf8')), { mode: 0o755 });
  }
  return dir;
}

export interface TestLane {
  root: string;
  stateDir: string;
  config: string;
}

/** An installed lane as image/install.sh leaves it: slot a at 0.1.0, current and good -> a; a config with the updater's root. */
export function installedLane(updater: Record<string, unknown> = {}): TestLane {
  const dir = tempDir('laned-ota-');
  const root = join(dir, 'opt');
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir, { recursive: true });
  makeSlot(root, 'a', '0.1.0');
  switchCurrent(root, 'a');
  linkGood(root, 'a');
  const config = join(dir, 'laned.yaml');
  const devices = quietSimulatedDevices();
  writeFileSync(
    config,
    stringify({ broker: { port: 0 }, http: { port: 0 }, devices, updater: { root, tries: 3, trialSeconds: 2, leaseSeconds: 30, ...updater } }),
  );
  return { root, stateDir, config };
}

/**
 * Stage a version the way a verified bundle ends up: a complete slot and the state
 * `staged`. This copies a folder instead of unpacking a bundle; the manifest hash
 * stands for the slot's package.json.
 */
export function stageByCopy(lane: TestLane, slot: Slot, version: string, flaw?: Flaw): void {
  const dir = makeSlot(lane.root, slot, version, flaw);
  const file = stateFilePath(lane.root);
  const s = readUpdaterState(file).state;
  const manifestSha256 = createHash('sha256')
    .update(readFileSync(join(dir, 'package.json')))
    .digest('hex');
  writeUpdaterState(file, { ...s, state: 'staged', reason: undefined, staged: { slot, version, manifestSha256 } });
}
