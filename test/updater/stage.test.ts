import t from 'tap';
import { existsSync, readFileSync, readlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UpdateRefused, type RefusalCode } from '../../daemon/updater/manifest.js';
import { bundle, keyPair, payloadTarball, rawTarball, slotsRoot, stager, treeHash, type KeyPair } from '../helpers/bundle.js';
import { tempDir } from '../helpers/daemon.js';

// Staging a bundle into the inactive slot: a good one lands in slot b whole, with
// state `staged`; each bad one is refused with its reason, and nothing under the
// slots, `current` or a lane's state directory changed (tree hashes before and after).

const store = keyPair('store-2026');
const other = keyPair('stranger');

t.test('a good bundle is staged into the inactive slot; the active slot is untouched', async (t) => {
  const root = slotsRoot();
  const activeBefore = treeHash(join(root, 'slots', 'a'));
  const file = await bundle({ key: store, version: '0.2.0', payloadFile: await payloadTarball('0.2.0', { 'ui-static/index.html': '<p>0.2.0</p>' }) });
  const { stager: s, keeper } = stager(root, [store]);
  const staged = await s.stage(file);
  t.equal(staged.slot, 'b');
  t.equal(staged.version, '0.2.0');
  t.equal(JSON.parse(readFileSync(join(root, 'slots', 'b', 'package.json'), 'utf8')).version, '0.2.0', 'slot b holds the payload, top folder stripped');
  t.equal(readFileSync(join(root, 'slots', 'b', 'ui-static', 'index.html'), 'utf8'), '<p>0.2.0</p>');
  t.equal(readlinkSync(join(root, 'slots', 'b', 'node_modules', '.bin', 'laned')), '../../dist/daemon/main.js', 'links inside the slot are kept');
  t.notOk(existsSync(join(root, 'slots', 'b', 'dist', 'main.js')), 'nothing of the old content of slot b is left');
  t.equal(treeHash(join(root, 'slots', 'a')), activeBefore, 'slot a is unchanged');
  t.equal(readlinkSync(join(root, 'current')), 'slots/a', 'current still points to a');
  t.same(readdirSync(join(root, 'slots')).sort(), ['a', 'b'], 'no .new or .old left');
  const state = keeper.get();
  t.equal(state.state, 'staged');
  t.same(state.staged, { slot: 'b', version: '0.2.0', manifestSha256: staged.manifestSha256 });
  t.same(JSON.parse(readFileSync(join(root, 'updater.json'), 'utf8')), state, 'the state file says so');
});

interface Case {
  name: string;
  code: RefusalCode;
  message: RegExp;
  make(): Promise<string>;
  keys?: KeyPair[];
  revoked?: string[];
  now?: Date;
}

async function flipByte(file: string, at: (buf: Buffer) => number): Promise<string> {
  const buf = readFileSync(file);
  const i = at(buf);
  buf[i] = buf[i]! ^ 0x01;
  const out = join(tempDir(), 'tampered.bundle');
  writeFileSync(out, buf);
  return out;
}

const good = async (over: Partial<Parameters<typeof bundle>[0]> = {}): Promise<string> =>
  bundle({ key: store, version: '0.2.0', payloadFile: await payloadTarball('0.2.0'), ...over });

const cases: Case[] = [
  {
    name: 'a tampered payload byte',
    code: 'payload-hash',
    message: /payload's sha256 is [0-9a-f]{64}, the signed manifest says/,
    // a byte inside the payload's data: its tar header (the name field opens it) is 512 bytes before
    make: async () => flipByte(await good(), (b) => b.indexOf('payload.tar.gz\0') + 512 + 200),
  },
  {
    name: 'a tampered manifest byte',
    code: 'bad-signature',
    message: /signature of manifest\.json does not verify with key "store-2026"/,
    make: async () => flipByte(await good(), (b) => b.indexOf('"version": "0.2.0"') + 13),
  },
  {
    name: 'a signature by an unknown key',
    code: 'unknown-key',
    message: /key "stranger", which this lane does not trust \(updater\.keys: store-2026, store-2027\)/,
    make: () => good({ key: other }),
  },
  { name: 'a revoked key', code: 'revoked-key', message: /key "store-2026", which is revoked/, make: () => good(), revoked: ['store-2026'] },
  {
    name: 'an expired bundle',
    code: 'expired',
    message: /bundle 0\.2\.0 expired at 2026-01-31/,
    make: () => good({ created: new Date('2026-01-01T00:00:00Z'), expires: new Date('2026-01-31T00:00:00Z') }),
    now: new Date('2026-02-01T00:00:00Z'),
  },
  {
    name: 'the wrong compatible',
    code: 'incompatible',
    message: /for laned\/rpi-arm64; this lane is laned\/x64/,
    make: () => good({ compatible: 'laned/rpi-arm64' }),
  },
  {
    name: 'a lower version without allow_downgrade',
    code: 'not-newer',
    message: /bundle 0\.0\.5 is not newer than the running 0\.1\.0/,
    make: async () => bundle({ key: store, version: '0.0.5', payloadFile: await payloadTarball('0.0.5') }),
  },
  {
    name: 'below min_version',
    code: 'below-min-version',
    message: /needs at least 0\.1\.5 running; this lane runs 0\.1\.0/,
    make: () => good({ minVersion: '0.1.5' }),
  },
  {
    name: 'a truncated bundle',
    code: 'truncated',
    message: /truncated/,
    make: async () => {
      const buf = readFileSync(await good());
      const out = join(tempDir(), 'short.bundle');
      writeFileSync(out, buf.subarray(0, buf.length - 1536));
      return out;
    },
  },
  {
    name: 'a bundle cut inside its manifest',
    code: 'truncated',
    message: /truncated|ends after/,
    make: async () => {
      const out = join(tempDir(), 'short.bundle');
      writeFileSync(out, readFileSync(await good()).subarray(0, 700));
      return out;
    },
  },
  {
    name: 'a payload entry with ../',
    code: 'unsafe-entry',
    message: /outside its slot: laned-0\.2\.0\/\.\.\/\.\.\/escaped: a path with \.\./,
    make: () =>
      good({
        payloadFile: rawTarball([
          { path: 'laned-0.2.0/package.json', type: 'File', body: '{}' },
          { path: 'laned-0.2.0/../../escaped', type: 'File', body: 'x' },
        ]),
      }),
  },
  {
    name: 'a payload entry with an absolute path',
    code: 'unsafe-entry',
    message: /\/tmp\/escaped: an absolute path/,
    make: () => good({ payloadFile: rawTarball([{ path: '/tmp/escaped', type: 'File', body: 'x' }]) }),
  },
  {
    name: 'a symbolic link pointing outside (absolute)',
    code: 'unsafe-entry',
    message: /laned-0\.2\.0\/etc: a symbolic link to the absolute \/etc/,
    make: () => good({ payloadFile: rawTarball([{ path: 'laned-0.2.0/etc', type: 'SymbolicLink', linkpath: '/etc' }]) }),
  },
  {
    name: 'a symbolic link pointing outside (relative)',
    code: 'unsafe-entry',
    message: /laned-0\.2\.0\/dist\/up: a symbolic link to \.\.\/\.\.\/state, outside the slot/,
    make: () => good({ payloadFile: rawTarball([{ path: 'laned-0.2.0/dist/up', type: 'SymbolicLink', linkpath: '../../state' }]) }),
  },
  {
    name: 'a hard link pointing outside',
    code: 'unsafe-entry',
    message: /a hard link to \/etc\/passwd outside the slot/,
    make: () => good({ payloadFile: rawTarball([{ path: 'laned-0.2.0/passwd', type: 'Link', linkpath: '/etc/passwd' }]) }),
  },
  {
    name: 'a device node',
    code: 'unsafe-entry',
    message: /a CharacterDevice entry/,
    make: () => good({ payloadFile: rawTarball([{ path: 'laned-0.2.0/mem', type: 'CharacterDevice' }]) }),
  },
];

for (const c of cases) {
  t.test(`refused, nothing changed: ${c.name}`, async (t) => {
    const root = slotsRoot();
    const laneState = tempDir('laned-state-');
    writeFileSync(join(laneState, 'basket.db'), 'the lane’s data');
    const file = await c.make();
    const { stager: s, keeper } = stager(root, c.keys ?? [store, keyPair('store-2027')], {
      ...(c.revoked ? { revokedKeys: c.revoked } : {}),
      ...(c.now ? { now: () => c.now! } : {}),
    });
    keeper.set({ state: 'good', active: 'a', good: 'a', history: [{ at: '2026-12-01T00:00:00.000Z', to: 'a', version: '0.1.0', outcome: 'good' }] });
    const slots = treeHash(join(root, 'slots'));
    const current = readlinkSync(join(root, 'current'));
    const lane = treeHash(laneState);
    const err = await s.stage(file).catch((e: unknown) => e);
    t.type(err, UpdateRefused);
    t.equal((err as UpdateRefused).code, c.code, (err as Error).message);
    t.match((err as Error).message, c.message);
    t.equal(treeHash(join(root, 'slots')), slots, 'the slots are unchanged');
    t.equal(readlinkSync(join(root, 'current')), current, 'current is unchanged');
    t.equal(treeHash(laneState), lane, 'the lane’s state directory is unchanged');
    t.notOk(existsSync('/tmp/escaped'), 'nothing escaped');
    const state = keeper.get();
    t.equal(state.state, 'failed');
    t.match(state.reason, c.message, 'the state names the reason');
    t.same(
      { active: state.active, good: state.good, history: state.history, staged: state.staged },
      { active: 'a', good: 'a', history: [{ at: '2026-12-01T00:00:00.000Z', to: 'a', version: '0.1.0', outcome: 'good' }], staged: undefined },
      'the rest of the state is as it was',
    );
  });
}

t.test('allow_downgrade lets an older version in', async (t) => {
  const root = slotsRoot();
  const file = await bundle({ key: store, version: '0.0.5', allowDowngrade: true, payloadFile: await payloadTarball('0.0.5') });
  const { stager: s } = stager(root, [store]);
  t.equal((await s.stage(file)).version, '0.0.5');
});

t.test('not while a slot is on trial: the other slot is the way back', async (t) => {
  const root = slotsRoot();
  const { stager: s, keeper } = stager(root, [store]);
  keeper.set({ state: 'trial', active: 'a', good: 'b', trial: { slot: 'a', version: '0.1.0', tries: 1, startedAt: '2026-12-03T10:00:00.000Z' }, history: [] });
  const slots = treeHash(join(root, 'slots'));
  const err = await s.stage(await good()).catch((e: unknown) => e);
  t.equal((err as UpdateRefused).code, 'busy');
  t.equal(keeper.get().state, 'trial', 'the trial is not disturbed');
  t.equal(treeHash(join(root, 'slots')), slots);
});
