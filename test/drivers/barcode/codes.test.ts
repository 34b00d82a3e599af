import t from 'tap';
import { gs1CheckDigit, hasValidCheckDigit, expandUpcE } from '../../../drivers/barcode/gtin.js';
import { splitAim, describeAim } from '../../../drivers/barcode/aim.js';
import { parseElementString, aiDecimal } from '../../../drivers/barcode/gs1.js';
import { decodeRcn, fourDigitPriceCheck, fiveDigitPriceCheck, RCN_LAYOUTS, ruleProblem } from '../../../drivers/barcode/rcn.js';
import { decodeBarcode } from '../../../drivers/barcode/barcode.js';
import { barcodeOptions } from '../../../drivers/barcode-publisher.js';
import { Framer, bytesFromConfig } from '../../../drivers/serial/framer.js';

t.test('GTIN check digit, GS1 General Specifications §7.9.1', async (t) => {
  t.equal(gs1CheckDigit('37610425002123456'), 9, 'the SSCC worked example of §7.9.1');
  t.equal(gs1CheckDigit('9501234'), 6, 'GTIN-8 95012346 of the GS1 examples');
  t.equal(gs1CheckDigit('950110153000'), 3, 'GTIN-13 9501101530003');
  t.ok(hasValidCheckDigit('09501101530003'));
  t.notOk(hasValidCheckDigit('09501101530004'));
  t.notOk(hasValidCheckDigit('12a4'));
  // Magellan 8500 Product Reference Guide UPC-E example 'E09988750' expands to UPC-A 099887000050
  t.equal(expandUpcE('09988750'), '099887000050');
  t.equal(expandUpcE('01234505'), '012000003455', 'last digit 0-2: manufacturer code ends in it');
  t.equal(expandUpcE('01234531'), '012300000451', 'last digit 3');
  t.equal(expandUpcE('01234543'), '012340000053', 'last digit 4');
  t.equal(expandUpcE('21234543'), undefined, 'number system 2 has no UPC-E');
});

t.test('AIM symbology identifiers, ISO/IEC 15424', async (t) => {
  t.same(splitAim(']E04006381333931'), { aim: { id: ']E0', code: 'E', modifier: '0' }, data: '4006381333931' });
  t.same(splitAim('4006381333931'), { data: '4006381333931' });
  const sym = (id: string) => describeAim(splitAim(`${id}x`).aim!);
  t.same(sym(']E0'), { symbology: 'ean13', gs1: false });
  t.same(sym(']E4'), { symbology: 'ean8', gs1: false });
  t.same(sym(']C1'), { symbology: 'gs1-128', gs1: true });
  t.same(sym(']C0'), { symbology: 'code128', gs1: false });
  t.same(sym(']e0'), { symbology: 'gs1-databar', gs1: true });
  t.same(sym(']d2'), { symbology: 'gs1-datamatrix', gs1: true });
  t.same(sym(']d1'), { symbology: 'datamatrix', gs1: false });
  t.same(sym(']Q3'), { symbology: 'gs1-qr', gs1: true });
  t.same(sym(']Q1'), { symbology: 'qr', gs1: false });
  t.same(sym(']A0'), { symbology: 'code39', gs1: false });
});

t.test('GS1 element strings, §3 and §7.8', async (t) => {
  // predefined-length AIs (01)(17) need no FNC1; (10) is last
  t.same(parseElementString('01095011015300031714070410AB-123'), { ok: true, ais: { '01': '09501101530003', '17': '140704', '10': 'AB-123' } });
  // variable-length (10) followed by FNC1 (GS) then (21)
  t.same(parseElementString('010950110153000310ABC\x1d21XYZ-1'), { ok: true, ais: { '01': '09501101530003', '10': 'ABC', '21': 'XYZ-1' } });
  // a leading FNC1 sent as GS is tolerated; a GS after a fixed-length element too
  t.same(parseElementString('\x1d0109501101530003\x1d3103000350'), { ok: true, ais: { '01': '09501101530003', '3103': '000350' } });
  // variable measure: (01)(3103) net weight 0.350 kg (§3.6.2), (3922) price 4.99 (§3.6.9)
  const v = parseElementString('0109501101530003310300035039224999');
  t.same(v, { ok: true, ais: { '01': '09501101530003', '3103': '000350', '3922': '4999' } });
  t.same(aiDecimal('3103', '000350'), { amount: 0.35, decimals: 3, currency: undefined });
  t.same(aiDecimal('3932', '978499'), { amount: 4.99, decimals: 2, currency: '978' });
  t.match(parseElementString('0109501101530004'), { ok: false, reason: /AI \(01\) 09501101530004 has a wrong check digit/ });
  t.match(parseElementString('0109501101530003171413'), { ok: false, reason: /AI \(17\) needs 6 characters/ });
  t.match(parseElementString('0109501101530003171313000'.slice(0, 24)), { ok: false, reason: /\(17\) 131300 is not a YYMMDD date/ });
  t.match(parseElementString('10' + 'A'.repeat(21)), { ok: false, reason: /longer than 20 characters \(FNC1 separator missing\?\)/ });
  t.match(parseElementString('23123'), { ok: false, reason: /unknown or malformed GS1 AI at position 0/ });
  t.match(parseElementString('10AB\x1d10CD'), { ok: false, reason: /appears twice with different values/ });
  t.match(parseElementString('10A#B'), { ok: false, reason: /character set 82/ });
  t.match(parseElementString('3103ABCDEF'), { ok: false, reason: /must be numeric/ });
  t.match(parseElementString(''), { ok: false, reason: /empty/ });
});

t.test('price/weight verifier digits, §7.9.3 and §7.9.4', async (t) => {
  t.equal(fourDigitPriceCheck('2875'), 9, 'the four-digit worked example');
  t.equal(fiveDigitPriceCheck('14685'), 6, 'the five-digit worked example');
  t.equal(fourDigitPriceCheck('0000'), 0);
  t.equal(fiveDigitPriceCheck('00000'), 0);
});

t.test('restricted-circulation numbers by national layout', async (t) => {
  // The fixtures are built by hand from each layout (sources cited in drivers/barcode/rcn.ts):
  // prefix, item, verifier K, value V, check digit C. The GS1 check digit is worked here by
  // §7.9.1 itself (weights 3 and 1 from the right, up to the next multiple of ten), not by
  // the code under test, so a fixture with a wrong check digit cannot slip in.
  const gs1Check = (twelve: string) => (10 - ([...twelve].reverse().reduce((a, c, i) => a + Number(c) * (i % 2 ? 1 : 3), 0) % 10)) % 10;
  const fixtures = ['2812347012503', '2256785012990', '2256781012994', '2012345102491', '2312345612342', '2412345612349', '2112345609959', '0212345602997'];
  for (const f of fixtures) t.equal(Number(f[12]), gs1Check(f.slice(0, 12)), `${f}: check digit per §7.9.1`);

  // de 28|1234|K|01250|C, weight 1.250 kg. K by §7.9.4 over 01250: 5+(0)=0, 2-(1)=2, 5-(2)=9,
  // 5+(5)=7, 2-(0)=0; sum 18; 10-8 = 2; the digit whose 5- product is 2 is 7. C: sum 67 -> 3.
  t.match(decodeRcn('2812347012503', RCN_LAYOUTS.de), {
    ok: true,
    rcn: { layout: 'de', measure: 'weight', item: '1234', grams: 1250, lookupGtin: '02812340000002' },
  });
  // de 22|5678|K|01299|C, price 12.99 EUR. K over 01299: 0+2+9+9+7 = 27; 10-7 = 3 = 5-(5): K = 5.
  t.match(decodeRcn('2256785012990', RCN_LAYOUTS.de), {
    ok: true,
    rcn: { measure: 'price', item: '5678', price: { minor: 1299, decimals: 2, currency: 'EUR' } },
  });
  // the same with K = 1 (and C made right again: sum 106 -> 4): the verifier catches it
  t.match(decodeRcn('2256781012994', RCN_LAYOUTS.de), { ok: false, reason: /price verifier digit of 2256781012994 is 1, expected 5/ });
  // gb 20|12345|K|0249|C, 2.49 GBP. K by §7.9.3 over 0249: 2-(0)=0, 2-(2)=4, 3(4)=2, 5-(9)=1;
  // sum 7, times 3 = 21: K = 1. C: sum 69 -> 1.
  t.match(decodeRcn('2012345102491', RCN_LAYOUTS.gb), { ok: true, rcn: { item: '12345', price: { minor: 249, currency: 'GBP' } } });
  // se 23|123456|1234|C, weight 1.234 kg (23: 3 decimals, no verifier). C: sum 78 -> 2.
  t.match(decodeRcn('2312345612342', RCN_LAYOUTS.se), { ok: true, rcn: { item: '123456', measure: 'weight', grams: 1234 } });
  // se 24|123456|1234|C, 12.34 kg (24: 2 decimals). C: sum 81 -> 9.
  t.match(decodeRcn('2412345612349', RCN_LAYOUTS.se), { ok: true, rcn: { measure: 'weight', decimals: 2, grams: 12340 } });
  // no 21|123456|0995|C, 99.5 NOK (21: 1 decimal). C: sum 101 -> 9.
  t.match(decodeRcn('2112345609959', RCN_LAYOUTS.no), { ok: true, rcn: { measure: 'price', price: { minor: 995, decimals: 1, currency: 'NOK' } } });
  // generic 02|12345|K|0299|C, 2.99. K by §7.9.3 over 0299: 0+4+7+1 = 12, times 3 = 36: K = 6. C: sum 93 -> 7.
  t.match(decodeRcn('0212345602997', RCN_LAYOUTS.generic), { ok: true, rcn: { prefix: '02', item: '12345', price: { minor: 299 } } });
  t.equal(decodeRcn('2012345102491', RCN_LAYOUTS.de), undefined, 'a prefix the layout leaves to the store: no decoding');
  t.equal(decodeRcn('4006381333931', RCN_LAYOUTS.de), undefined, 'not an RCN');
  t.equal(ruleProblem({ prefix: '21', pattern: 'PPIIIIIVVVVVC', measure: 'price', decimals: 2 }), undefined);
  t.match(ruleProblem({ prefix: '21', pattern: 'PPIIIKVVVVVVC', measure: 'price', decimals: 2 }), /4 or 5 V digits/);
  t.match(ruleProblem({ prefix: '31', pattern: 'PPIIIIIVVVVVC', measure: 'price', decimals: 2 }), /not an RCN prefix/);
});

t.test('decoding whole frames', async (t) => {
  const de = barcodeOptions({ aimIds: 'auto', eightDigits: 'ean8', rcnLayout: 'de', rejectLimit: 10 });
  t.match(decodeBarcode('2812347012503', de), { ok: true, reading: { symbology: 'ean13', gtin: '02812347012503', rcn: { grams: 1250 } } });
  t.match(decodeBarcode(']E02812347012503', de), { ok: true, reading: { aim: ']E0', rcn: { grams: 1250 } } });
  // UPC-A with number system 2 is the RCN-12 the generic layout reads as 02...
  t.match(decodeBarcode('212345602997', barcodeOptions({ aimIds: 'auto', eightDigits: 'ean8', rcnLayout: 'generic', rejectLimit: 10 })), {
    ok: true,
    reading: { symbology: 'upca', rcn: { prefix: '02', price: { minor: 299 } } },
  });
  const store = barcodeOptions({
    aimIds: 'auto',
    eightDigits: 'ean8',
    rcnLayout: 'de',
    rejectLimit: 10,
    rcnRules: [{ prefix: '21', pattern: 'PPIIIIIVVVVVC', measure: 'count', decimals: 0 }],
  });
  t.match(decodeBarcode('2112345000121', store), { ok: true, reading: { rcn: { layout: 'de+store', measure: 'count', count: 12 } } });
  t.match(decodeBarcode('09988750', { eightDigits: 'upce' }), { ok: true, reading: { symbology: 'upce', gtin: '00099887000050' } });
  t.match(decodeBarcode(']E3400638133393112345', { eightDigits: 'ean8' }), { ok: true, reading: { addOn: '12345', gtin: '04006381333931' } });
  t.match(decodeBarcode(']E22', { eightDigits: 'ean8' }), { ok: false, reason: /add-on of 1 digits/ });
  t.match(decodeBarcode(']E0ABC', { eightDigits: 'ean8' }), { ok: false, reason: /must be digits/ });
  t.match(decodeBarcode(']C1', { eightDigits: 'ean8' }), { ok: false, reason: /no data after AIM identifier/ });
  t.match(decodeBarcode('] x', { eightDigits: 'ean8' }), { ok: false, reason: /malformed AIM/ });
  t.match(decodeBarcode(']xyz', { eightDigits: 'ean8', aimIds: false }), { ok: true, reading: { raw: ']xyz', symbology: 'unknown' } });
  t.match(decodeBarcode('AB\x00C', { eightDigits: 'ean8' }), { ok: false, reason: /non-printable byte 0x00 at position 2/ });
  t.match(
    decodeBarcode('0109501101530003\x1d', { eightDigits: 'ean8' }),
    { ok: true, reading: { ais: { '01': '09501101530003' } } },
    'GS without AIM: GS1 data',
  );
  t.match(decodeBarcode('LOYALTY-0042', { eightDigits: 'ean8' }), { ok: true, reading: { symbology: 'unknown', raw: 'LOYALTY-0042' } });
});

t.test('framer edge cases', async (t) => {
  const f = new Framer({ suffix: bytesFromConfig('CR'), maxLength: 16 });
  t.same(
    f.push(Buffer.from('\r\n\r\nabc\r\n')).map((e) => e.kind === 'frame' && e.bytes.toString()),
    ['abc'],
    'CRLF into a CR-framed port: LF is not data',
  );
  const g = new Framer({ prefix: bytesFromConfig('STX'), suffix: bytesFromConfig('ETX'), maxLength: 8 });
  t.same(
    g.push(Buffer.from('\x02ab\x03\x02c')).map((e) => e.kind),
    ['frame'],
  );
  t.same(
    g.push(Buffer.from('d\x03')).map((e) => e.kind === 'frame' && e.bytes.toString()),
    ['cd'],
  );
  const long = g.push(Buffer.from('\x02' + 'x'.repeat(40) + '\x02ok\x03'));
  t.same(
    long.map((e) => e.kind),
    ['reject', 'frame'],
    'an overlong frame is dropped and the next prefix resynchronises',
  );
  const crlf = new Framer({ suffix: bytesFromConfig('CRLF'), maxLength: 8 });
  t.same(
    [...crlf.push(Buffer.from('abcdefgh\r')), ...crlf.push(Buffer.from('\n'))].map((e) => e.kind === 'frame' && e.bytes.toString()),
    ['abcdefgh'],
    'a frame of maxLength whose CRLF is split across reads is a frame, not an overlong run',
  );
  t.same(
    [...crlf.push(Buffer.from('abcdefghi\r')), ...crlf.push(Buffer.from('\nok\r\n'))].map((e) => e.kind),
    ['reject', 'frame'],
    'one byte more is still rejected',
  );
  t.same(bytesFromConfig('\\x1d\\x03'), Buffer.from([0x1d, 0x03]));
  t.throws(() => new Framer({ suffix: Buffer.alloc(0), maxLength: 8 }));
});
