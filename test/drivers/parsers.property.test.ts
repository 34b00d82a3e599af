/**
 * Property test: >= 100,000 random byte strings into every frame parser
 * (seeded, so a failure repeats). No exception may escape, and every input
 * must end as a reading or a rejection with a reason; accepted readings must
 * match their event schema.
 */
import t, { type Test } from 'tap';
import { decodeBarcode, printableRaw } from '../../drivers/serial/barcode.js';
import { parseElementString } from '../../drivers/serial/gs1.js';
import { decodeRcn, RCN_LAYOUTS } from '../../drivers/serial/rcn.js';
import { hasValidCheckDigit } from '../../drivers/serial/gtin.js';
import { Framer, bytesFromConfig } from '../../drivers/serial/framer.js';
import { parseMagellanFrame, magellanAsText } from '../../drivers/serial/magellan-frame.js';
import { parseToledoFrame } from '../../drivers/serial/toledo-frame.js';
import { InputEventDecoder, encodeInputEvents, type InputEvent } from '../../drivers/hid/input-event.js';
import { KeyDecoder } from '../../drivers/hid/keys.js';
import { scannedData } from '../../drivers/barcode-publisher.js';
import { seeded, between } from '../../drivers/sim/random.js';
import { dataProblem } from '../../daemon/events/schema.js';
import '../../daemon/events/schemas/devices.js';

const N = 100_000;
const rand = seeded(0x1a2b3c);

const SEEDS = [
  ']E04006381333931', ']C101095011015300031714070410AB-123', ']e00109501101530003310300035039200499',
  ']d2010950110153000317140704\x1d10AB-123\x1d21XYZ', ']E3400638133393112', ']E400210126', '2812347012503',
  '4006381333931', '060992011187', '09988750', '0109501101530003\x1d', '14401250', '143', '08F1101234567891', '08E09988750',
  '08]e00109501101530003', '01.250N', '?A', '2011234512340', ']Q3011234567890123', ']A0CODE39',
];
const ALPHABETS = ['0123456789', '0123456789]\x1dCEeQdA0123N.?', ' !"%&\'()*+,-./:;<=>?ABCXYZ_abcxyz0123456789', ''];

/** A random byte string: fully random, from a biased alphabet, or a mutated fixture. */
function randomBytes(): Buffer {
  const mode = between(rand, 0, 3);
  const len = between(rand, 0, 40);
  if (mode === 0) return Buffer.from(Array.from({ length: len }, () => between(rand, 0, 255)));
  if (mode === 3) {
    const s = Buffer.from(SEEDS[between(rand, 0, SEEDS.length - 1)], 'latin1');
    const out = [...s];
    for (let k = between(rand, 1, 3); k > 0; k--) {
      const at = between(rand, 0, out.length);
      const op = between(rand, 0, 2);
      if (op === 0) out.splice(at, 0, between(rand, 0, 255));
      else if (op === 1) out.splice(at, 1);
      else if (at < out.length) out[at] = 0x30 + between(rand, 0, 9);
    }
    return Buffer.from(out);
  }
  const a = ALPHABETS[mode === 1 ? between(rand, 0, 1) : 2];
  return Buffer.from(Array.from({ length: len }, () => a[between(rand, 0, a.length - 1)]).join(''), 'latin1');
}

function checkBarcode(text: string, opts: Parameters<typeof decodeBarcode>[1]): 'reading' | 'rejection' {
  const r = decodeBarcode(text, opts);
  if (r.ok) {
    const p = dataProblem('BarcodeScanned', 1, scannedData(r.reading));
    if (p) throw new Error(`accepted ${JSON.stringify(text)} but its event is invalid: ${p}`);
    if (r.reading.gtin && !hasValidCheckDigit(r.reading.gtin)) throw new Error(`accepted a GTIN with a bad check digit: ${text}`);
    return 'reading';
  }
  if (typeof r.reason !== 'string' || r.reason.length === 0) throw new Error(`rejection without reason: ${JSON.stringify(text)}`);
  const p = dataProblem('BarcodeRejected', 1, { raw: printableRaw(text), reason: r.reason });
  if (p) throw new Error(`rejection event invalid: ${p}`);
  return 'rejection';
}

function run(t: Test, name: string, fn: (b: Buffer) => 'reading' | 'rejection'): void {
  const seen = { reading: 0, rejection: 0 };
  let failure: string | undefined;
  for (let i = 0; i < N && !failure; i++) {
    const input = randomBytes();
    try {
      seen[fn(input)]++;
    } catch (err) {
      failure = `input ${input.toString('hex')}: ${(err as Error).stack ?? err}`;
    }
  }
  t.equal(failure, undefined, `${name}: no exception escapes`);
  t.equal(seen.reading + seen.rejection, N, `${name}: ${N} inputs, each a reading or a rejection (${seen.reading} readings)`);
  t.ok(seen.reading > 0 && seen.rejection > 0, `${name}: both outcomes occur`);
}

t.test('decodeBarcode (AIM, GTIN, GS1, RCN)', async (t) => {
  run(t, 'barcode', (b) => checkBarcode(b.toString('latin1'), { rcn: RCN_LAYOUTS.de, eightDigits: between(rand, 0, 1) ? 'ean8' : 'upce' }));
});

t.test('GS1 element strings', async (t) => {
  run(t, 'gs1', (b) => {
    const r = parseElementString(b.toString('latin1'));
    if (r.ok) {
      for (const [k, v] of Object.entries(r.ais)) if (!/^[0-9]{2,4}$/.test(k) || typeof v !== 'string') throw new Error(`bad AI ${k}`);
      return 'reading';
    }
    if (!r.reason) throw new Error('no reason');
    return 'rejection';
  });
});

t.test('RCN layouts', async (t) => {
  const layouts = Object.values(RCN_LAYOUTS);
  run(t, 'rcn', (b) => {
    const digits = b.toString('hex').replace(/[^0-9]/g, '').padEnd(13, '0');
    const g = `2${digits.slice(0, 12)}`;
    const r = decodeRcn(g, layouts[between(rand, 0, layouts.length - 1)]);
    if (r === undefined || !r.ok) return 'rejection';
    if (!/^[0-9]{14}$/.test(r.rcn.lookupGtin) || !hasValidCheckDigit(r.rcn.lookupGtin)) throw new Error(`bad lookup GTIN for ${g}`);
    return 'reading';
  });
});

t.test('serial framer + decoder, random chunking', async (t) => {
  const framers = [
    new Framer({ suffix: bytesFromConfig('CR'), maxLength: 32 }),
    new Framer({ prefix: bytesFromConfig('STX'), suffix: bytesFromConfig('CRLF'), maxLength: 32 }),
    new Framer({ suffix: bytesFromConfig('\\x03'), maxLength: 64 }),
  ];
  run(t, 'framer', (b) => {
    const f = framers[between(rand, 0, framers.length - 1)];
    const input = Buffer.concat([b, between(rand, 0, 1) ? Buffer.from('\r') : Buffer.alloc(0)]);
    const out = [];
    for (let i = 0; i < input.length; ) {
      const n = between(rand, 1, 8);
      out.push(...f.push(input.subarray(i, i + n)));
      i += n;
    }
    out.push(...f.flush());
    let readings = 0;
    for (const ev of out) {
      if (ev.kind === 'reject') {
        if (!ev.reason) throw new Error('framer rejection without reason');
      } else if (checkBarcode(ev.bytes.toString('latin1'), { eightDigits: 'ean8' }) === 'reading') readings++;
    }
    return readings > 0 ? 'reading' : 'rejection';
  });
});

t.test('Magellan frames', async (t) => {
  run(t, 'magellan', (b) => {
    const f = parseMagellanFrame(b.toString('latin1'));
    if (f.kind === 'reject') {
      if (!f.reason) throw new Error('no reason');
      return 'rejection';
    }
    if (f.kind === 'barcode') {
      const { text, eightDigits } = magellanAsText(f);
      return checkBarcode(text, { eightDigits });
    }
    if (f.kind === 'weight' && f.status === 4 && !/^[0-9]{4,5}$/.test(f.digits ?? '')) throw new Error('weight without digits');
    return 'reading';
  });
});

t.test('Toledo 8217 frames', async (t) => {
  run(t, 'toledo', (b) => {
    const f = parseToledoFrame(b.length && between(rand, 0, 3) === 0 ? Buffer.from([0x3f, b[0]]) : b);
    if (f.kind === 'reject') {
      if (!f.reason) throw new Error('no reason');
      return 'rejection';
    }
    if (f.kind === 'weight' && !Number.isFinite(f.value)) throw new Error('weight not finite');
    return 'reading';
  });
});

t.test('evdev records and the US key decoder', async (t) => {
  run(t, 'input_event', (b) => {
    const size = between(rand, 0, 1) ? 24 : 16;
    const records = new InputEventDecoder(size);
    const keys = new KeyDecoder({ terminator: 'enter', maxLength: 64 });
    // half the time the bytes are records as they come; half the time each byte picks a key event
    // (code, press/release, an Enter now and then) so that whole codes get typed
    let buf: Buffer = b;
    if (between(rand, 0, 1)) {
      const ev: InputEvent[] = [...b].map((x) => ({ type: x % 17 === 0 ? 0 : 1, code: x % 13 === 0 ? 28 : x % 100, value: x & 0x80 ? 0 : 1 }));
      buf = encodeInputEvents(ev, size);
    }
    const frames = [];
    for (let i = 0; i < buf.length; ) {
      const n = between(rand, 1, 40);
      frames.push(...keys.push(records.push(buf.subarray(i, i + n))));
      i += n;
    }
    frames.push(...keys.flush());
    if (frames.length === 0) return 'rejection';
    let readings = 0;
    for (const f of frames) {
      if (f.kind === 'reject') {
        if (!f.reason) throw new Error('no reason');
      } else if (checkBarcode(f.text, { eightDigits: 'ean8' }) === 'reading') readings++;
    }
    return readings ? 'reading' : 'rejection';
  });
});
