import t from 'tap';
import { mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { activeSlot, defaultUpdaterRoot, inactiveSlot, slotPath, switchCurrent } from '../../daemon/updater/layout.js';
import { readUpdaterState, writeUpdaterState, type UpdaterState } from '../../daemon/updater/state-file.js';
import { tempDir } from '../helpers/daemon.js';

// The slot layout image/install.sh makes (current -> slots/<a|b>, relative) and the
// updater's state file: atomic writes, and a torn or invalid file reported, not thrown.

t.test('slots: active, inactive, switch', async (t) => {
  const root = tempDir();
  t.equal(activeSlot(root), undefined, 'nothing installed');
  t.equal(inactiveSlot(root), 'a');
  mkdirSync(slotPath(root, 'a'), { recursive: true });
  mkdirSync(slotPath(root, 'b'), { recursive: true });
  writeFileSync(join(slotPath(root, 'b'), 'marker'), 'b');
  symlinkSync('slots/a', join(root, 'current'));
  t.equal(activeSlot(root), 'a', 'the relative link install.sh writes');
  t.equal(inactiveSlot(root), 'b');
  switchCurrent(root, 'b');
  t.equal(readlinkSync(join(root, 'current')), 'slots/b', 'a relative link');
  t.equal(readFileSync(join(root, 'current', 'marker'), 'utf8'), 'b', 'current leads into slot b');
  t.equal(activeSlot(root), 'b');
  t.equal(inactiveSlot(root), 'a');
  t.notOk(existsSync(join(root, 'current.new')), 'no link left beside it');
});

t.test('an absolute link (older installs) is understood', async (t) => {
  const root = tempDir();
  symlinkSync('/opt/laned/slots/b', join(root, 'current'));
  t.equal(activeSlot(root), 'b');
});

t.test('default root: above slots/ when running from a slot, else in the state dir', async (t) => {
  t.equal(defaultUpdaterRoot('/var/lib/laned', '/opt/laned/slots/a'), '/opt/laned');
  t.equal(defaultUpdaterRoot('/var/lib/laned', '/opt/laned/current'), '/opt/laned');
  t.equal(defaultUpdaterRoot('/var/lib/laned', '/home/me/laned'), '/var/lib/laned/updater');
});

t.test('state file: round trip, missing, torn, invalid', async (t) => {
  const root = tempDir();
  const file = join(root, 'updater.json');
  t.same(readUpdaterState(file), { state: { state: 'idle', history: [] } }, 'missing: idle, no problem');
  const s: UpdaterState = {
    state: 'staged',
    active: 'a',
    good: 'a',
    staged: { slot: 'b', version: '0.2.0', manifestSha256: 'a'.repeat(64) },
    history: [{ at: '2026-12-03T10:00:00.000Z', from: 'a', to: 'b', version: '0.2.0', outcome: 'good' }],
  };
  writeUpdaterState(file, s);
  t.same(readUpdaterState(file), { state: s }, 'what was written is read');
  t.notOk(existsSync(`${file}.tmp`), 'no temp file left');

  t.throws(() => writeUpdaterState(file, { ...s, state: 'dancing' } as unknown as UpdaterState), /updater state/, 'an invalid state is not written');
  t.same(readUpdaterState(file).state, s, 'and the file is unchanged');

  mkdirSync(slotPath(root, 'b'), { recursive: true });
  symlinkSync('slots/b', join(root, 'current'));
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.slice(0, text.length / 2));
  const torn = readUpdaterState(file);
  t.match(torn.problem, /updater\.json: not valid JSON/, 'a torn file is reported, naming it');
  t.equal(torn.state.state, 'failed');
  t.equal(torn.state.good, 'b', 'falls back to the slot current points to');

  writeFileSync(file, JSON.stringify({ state: 'staged', history: [], staged: { slot: 'c' } }));
  const bad = readUpdaterState(file);
  t.match(bad.problem, /updater state\.staged/, 'an invalid one names the key');
  t.equal(bad.state.good, 'b');
});

t.test('history is bounded', async (t) => {
  const file = join(tempDir(), 'updater.json');
  const history = Array.from({ length: 80 }, (_, i) => ({
    at: `2026-12-03T10:00:${String(i % 60).padStart(2, '0')}.000Z`,
    to: 'b' as const,
    version: `0.${i}.0`,
    outcome: 'good',
  }));
  writeUpdaterState(file, { state: 'good', history });
  const read = readUpdaterState(file).state.history;
  t.equal(read.length, 50);
  t.equal(read.at(-1)?.version, '0.79.0', 'the newest kept');
});
