/**
 * Property test: >= 100,000 random byte strings into every frame parser
 * (seeded, so a failure repeats). No exception may escape, and every input
 * must end as a reading or a rejection with a reason; accepted readings must
 * match their event schema. Nothing may vanish: a stream parser (framer, key
 * decoder) given anything but line ends, suffixes or key releases must put out
 * at least one event by the time the stream ends.
 */
import t, { type Test } from 'tap';
import { decodeBarcode, printableRaw } from '../../drivers/barcode/barcode.js';
import { parseElementString } from '../../drivers/barcode/gs1.js';
import { RCN_LAYOUTS } from '../../drivers/barcode/rcn.js';
import { hasValidCheckDigit } from '../../drivers/barcode/gtin.js';
import { Framer, bytesFromConfig } from '../../drivers/serial/framer.js';
import { parseMagellanFrame, magellanAsText } from '../../drivers/serial/magellan-frame.js';
import { parseToledoFrame } from '../../drivers/serial/toledo-frame.js';
import { InputEventDecoder, encodeInputEvents, EV_KEY, type InputEvent } from '../../drivers/hid/input-event.js';
import { KEY_ENTER, KEY_KPENTER, KEY_LEFTCTRL, KEY_LEFTSHIFT, KEY_RIGHTCTRL, KEY_RIGHTSHIFT } from '../../drivers/hid/keymap.js';
import { KeyDecoder } from '../../drivers/hid/keys.js';
import { scannedData } from '../../drivers/barcode-publisher.js';
import { seeded, between } from '../../drivers/sim/random.js';
import { dataProblem } from '../../daemon/events/schema.js';
import '../../daemon/events/schemas/devices.js';

const N = 100_000;
const rand = seeded(0x1a2b3c);

const SEEDS = [
  ']E04006381333931',
  ']C101095011015300031714070410AB-123',
  ']e00109501101530003310300035039200499',
  ']d2010950110153000317140704\x1d10AB-123\x1d21XYZ',
  ']E3400638133393112',
  ']E400210126',
  '2812347012503',
  '4006381333931',
  '060992011187',
  '09988750',
  '0109501101530003\x1d',
  '14401250',
  '143',
  '08F1101234567891',
  '08E09988750',
  '08]e00109501101530003',
  '01.250N',
  '?A',
  '2011234512340',
  ']Q3011234567890123',
  ']A0CODE39',
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

/** What one input became: readings and rejections (a pure parser: exactly one of them). */
interface Outcome {
  readings: number;
  rejections: number;
}
const READING: Outcome = { readings: 1, rejections: 0 };
const REJECTION: Outcome = { readings: 0, rejections: 1 };
const one = (o: 'reading' | 'rejection'): Outcome => (o === 'reading' ? READING : REJECTION);

/**
 * `fn` for N random inputs. `blank(input)` says which inputs may yield nothing
 * (a stream of line ends only); without it every input must yield exactly one outcome.
 */
function run(t: Test, name: string, fn: (b: Buffer) => Outcome, blank?: (b: Buffer) => boolean): void {
  const seen = { readings: 0, rejections: 0, blank: 0 };
  let failure: string | undefined;
  for (let i = 0; i < N && !failure; i++) {
    const input = randomBytes();
    try {
      const o = fn(input);
      if (o.readings + o.rejections === 0) {
        if (!blank?.(input)) throw new Error('the input vanished: no reading and no rejection');
        seen.blank++;
      } else if (!blank && o.readings + o.rejections !== 1) throw new Error(`${o.readings} readings and ${o.rejections} rejections for one input`);
      seen.readings += o.readings;
      seen.rejections += o.rejections;
    } catch (err) {
      failure = `input ${input.toString('hex')}: ${(err as Error).stack ?? String(err)}`;
    }
  }
  t.equal(failure, undefined, `${name}: no exception escapes, and no input vanishes`);
  t.ok(seen.readings > 0 && seen.rejections > 0, `${name}: ${N} inputs: ${seen.readings} readings, ${seen.rejections} rejections, ${seen.blank} blank`);
}

t.test('decodeBarcode (AIM, GTIN, GS1, RCN)', async (t) => {
  const layouts = Object.values(RCN_LAYOUTS);
  run(t, 'barcode', (b) =>
    one(checkBarcode(b.toString('latin1'), { rcn: layouts[between(rand, 0, layouts.length - 1)], eightDigits: between(rand, 0, 1) ? 'ean8' : 'upce' })),
  );
});

t.test('GS1 element strings', async (t) => {
  run(t, 'gs1', (b) => {
    const r = parseElementString(b.toString('latin1'));
    if (r.ok) {
      for (const [k, v] of Object.entries(r.ais)) if (!/^[0-9]{2,4}$/.test(k) || typeof v !== 'string') throw new Error(`bad AI ${k}`);
      return READING;
    }
    if (!r.reason) throw new Error('no reason');
    return REJECTION;
  });
});

t.test("RCN layouts, through the scanner's decoder", async (t) => {
  // random bytes, as for every parser, with a prefix of restricted circulation (02, 20-29)
  // put in front of most, so that the national layouts are reached, not only "not an RCN"
  const layouts = Object.values(RCN_LAYOUTS);
  let decoded = 0;
  run(t, 'rcn', (b) => {
    const prefix = ['', '02', '20', '21', '22', '23', '24', '25', '26', '27', '28', '29'][between(rand, 0, 11)];
    // half the time the bytes become the 11 digits an EAN-13 has after its prefix (b[i] mod 10)
    const body = between(rand, 0, 1)
      ? [...b, ...Buffer.alloc(11)]
          .slice(0, 11)
          .map((x) => String(x % 10))
          .join('')
      : b.toString('latin1');
    const r = decodeBarcode(prefix + body, { rcn: layouts[between(rand, 0, layouts.length - 1)], eightDigits: 'ean8' });
    if (!r.ok) {
      if (!r.reason) throw new Error('rejection without reason');
      return REJECTION;
    }
    const rcn = r.reading.rcn;
    if (rcn) {
      decoded++;
      if (!/^[0-9]{14}$/.test(rcn.lookupGtin) || !hasValidCheckDigit(rcn.lookupGtin)) throw new Error(`bad lookup GTIN ${rcn.lookupGtin}`);
      const p = dataProblem('BarcodeScanned', 1, scannedData(r.reading));
      if (p) throw new Error(`RCN reading's event is invalid: ${p}`);
    }
    return READING;
  });
  t.ok(decoded > 100, `${decoded} inputs decoded as restricted-circulation numbers`);
});

const LINE_ENDS = new Set([0x0d, 0x0a]);

/**
 * Bytes through a framer in random chunks, then the port closes (flush); each frame
 * through `parse`. Only line ends and suffix bytes may vanish (blank lines).
 */
function framed(f: Framer, suffix: Buffer, parse: (frame: Buffer) => 'reading' | 'rejection'): [(b: Buffer) => Outcome, (b: Buffer) => boolean] {
  const fn = (input: Buffer): Outcome => {
    const out = [];
    for (let i = 0; i < input.length;) {
      const n = between(rand, 1, 8);
      out.push(...f.push(input.subarray(i, i + n)));
      i += n;
    }
    out.push(...f.flush());
    const o = { readings: 0, rejections: 0 };
    for (const ev of out) {
      if (ev.kind === 'reject') {
        if (!ev.reason) throw new Error('framer rejection without reason');
        o.rejections++;
      } else if (parse(ev.bytes) === 'reading') o.readings++;
      else o.rejections++;
    }
    return o;
  };
  return [fn, (b) => [...b].every((c) => LINE_ENDS.has(c) || suffix.includes(c))];
}

t.test('scanner framing + decoder, random chunking', async (t) => {
  for (const [prefix, suffix, max] of [
    [undefined, 'CR', 32],
    ['STX', 'CRLF', 32],
    [undefined, '\\x03', 64],
  ] as const) {
    const sfx = bytesFromConfig(suffix);
    const f = new Framer({ prefix: prefix ? bytesFromConfig(prefix) : undefined, suffix: sfx, maxLength: max });
    const pfx = prefix ? bytesFromConfig(prefix) : Buffer.alloc(0);
    const [fn, blank] = framed(f, sfx, (frame) => checkBarcode(frame.toString('latin1'), { eightDigits: 'ean8' }));
    // half the inputs framed as the scanner would send them, so that whole codes occur
    run(t, `framer ${prefix ?? ''}…${suffix}`, (b) => fn(between(rand, 0, 1) ? Buffer.concat([pfx, b, sfx]) : b), blank);
  }
});

t.test('Magellan stream: S…CR framing (prefix "S", as magellan.ts) + frame parser', async (t) => {
  const sfx = bytesFromConfig('CR');
  const [fn, blank] = framed(new Framer({ prefix: bytesFromConfig('S'), suffix: sfx, maxLength: 512 }), sfx, (frame) => {
    const f = parseMagellanFrame(frame.toString('latin1'));
    if (f.kind === 'reject') return 'rejection';
    if (f.kind === 'barcode') return checkBarcode(magellanAsText(f).text, { eightDigits: magellanAsText(f).eightDigits });
    return 'reading';
  });
  // half the inputs start as a frame would, so that whole frames occur
  run(t, 'magellan stream', (b) => fn(between(rand, 0, 1) ? Buffer.concat([Buffer.from('S'), b, Buffer.from('\r')]) : b), blank);
});

t.test('Toledo 8217 stream: STX…CR framing (as toledo8217.ts) + frame parser', async (t) => {
  const sfx = bytesFromConfig('CR');
  const [fn, blank] = framed(new Framer({ prefix: bytesFromConfig('STX'), suffix: sfx, maxLength: 32 }), sfx, (frame) => {
    const f = parseToledoFrame(frame);
    if (f.kind === 'reject') return 'rejection';
    if (f.kind === 'weight' && !Number.isFinite(f.value)) throw new Error('weight not finite');
    return 'reading';
  });
  run(t, 'toledo stream', (b) => fn(between(rand, 0, 1) ? Buffer.concat([Buffer.from([0x02]), b, Buffer.from('\r')]) : b), blank);
});

t.test('Magellan frames', async (t) => {
  run(t, 'magellan', (b) => {
    const f = parseMagellanFrame(b.toString('latin1'));
    if (f.kind === 'reject') {
      if (!f.reason) throw new Error('no reason');
      return REJECTION;
    }
    if (f.kind === 'barcode') {
      const { text, eightDigits } = magellanAsText(f);
      return one(checkBarcode(text, { eightDigits }));
    }
    if (f.kind === 'weight' && f.status === 4 && !/^[0-9]{4,5}$/.test(f.digits ?? '')) throw new Error('weight without digits');
    return READING;
  });
});

t.test('Toledo 8217 frames', async (t) => {
  run(t, 'toledo', (b) => {
    const f = parseToledoFrame(b.length && between(rand, 0, 3) === 0 ? Buffer.from([0x3f, b[0]]) : b);
    if (f.kind === 'reject') {
      if (!f.reason) throw new Error('no reason');
      return REJECTION;
    }
    if (f.kind === 'weight' && !Number.isFinite(f.value)) throw new Error('weight not finite');
    return READING;
  });
});

// keys that type nothing by themselves: modifiers, and Enter (an empty line)
const SILENT_KEYS = new Set([KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_LEFTCTRL, KEY_RIGHTCTRL, KEY_ENTER, KEY_KPENTER]);

t.test('evdev records and the US key decoder', async (t) => {
  // a key pressed (a down event of a key that types or is refused) must end as a reading or a rejection
  let typed = false;
  run(
    t,
    'input_event',
    (b) => {
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
      for (let i = 0; i < buf.length;) {
        const n = between(rand, 1, 40);
        frames.push(...keys.push(records.push(buf.subarray(i, i + n))));
        i += n;
      }
      frames.push(...keys.flush());
      typed = new InputEventDecoder(size).push(buf).some((e) => e.type === EV_KEY && e.value === 1 && !SILENT_KEYS.has(e.code));
      const o = { readings: 0, rejections: 0 };
      for (const f of frames) {
        if (f.kind === 'reject') {
          if (!f.reason) throw new Error('no reason');
          const p = dataProblem('BarcodeRejected', 1, { raw: printableRaw(f.text), reason: f.reason });
          if (p) throw new Error(`rejection event invalid: ${p}`);
          o.rejections++;
        } else if (checkBarcode(f.text, { eightDigits: 'ean8' }) === 'reading') o.readings++;
        else o.rejections++;
      }
      return o;
    },
    () => !typed,
  );
});
