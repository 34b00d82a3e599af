import t from 'tap';
import { fakeNau7802Bus } from '../../../drivers/sim/fake-i2c.js';
import { CTRL2, NAU7802_ADDRESS, PU, REG, signExtend24 } from '../../../drivers/i2c/nau7802-regs.js';
import { VirtualClock } from '../../../drivers/sim/virtual-clock.js';

t.test("24-bit two's complement of ADCO_B2..B0 (datasheet register 0x12-0x14)", async (t) => {
  t.equal(signExtend24(0x7f, 0xff, 0xff), 8_388_607);
  t.equal(signExtend24(0x80, 0x00, 0x00), -8_388_608);
  t.equal(signExtend24(0xff, 0xff, 0xff), -1);
  t.equal(signExtend24(0x00, 0x01, 0x00), 256);
});

t.test('the fake chip follows the datasheet register semantics the driver relies on', async (t) => {
  const clock = new VirtualClock();
  const { bus, chip } = fakeNau7802Bus({ timers: clock, countsPerGram: 10, zeroCounts: -5000, uncalibratedOffset: 700, noiseCounts: 0 });
  const A = NAU7802_ADDRESS;
  t.equal((await bus.readByte(A, REG.REVISION_ID)) & 0x0f, 0x0f, 'REVISION_ID low nibble F');
  await t.rejects(bus.readByte(0x2b, REG.PU_CTRL), { code: 'EREMOTEIO' }, 'nothing answers at another address');
  await bus.writeByte(A, REG.CTRL1, 0x27);
  await bus.writeByte(A, REG.PU_CTRL, PU.RR);
  t.equal(await bus.readByte(A, REG.CTRL1), 0, 'RR resets the registers');
  await bus.writeByte(A, REG.PU_CTRL, PU.PUD);
  t.equal((await bus.readByte(A, REG.PU_CTRL)) & PU.PUR, 0, 'PUR not yet set right after PUD');
  t.equal((await bus.readByte(A, REG.PU_CTRL)) & PU.PUR, PU.PUR, 'PUR set a moment later');
  await bus.writeByte(A, REG.PU_CTRL, PU.PUD | PU.PUA | PU.AVDDS | PU.CS);
  await bus.writeByte(A, REG.CTRL1, 0x27); // gain 128
  await bus.writeByte(A, REG.CTRL2, (3 << 4) | CTRL2.CALS);
  t.equal((await bus.readByte(A, REG.CTRL2)) & CTRL2.CALS, CTRL2.CALS, 'CALS reads 1 while calibrating');
  await bus.readByte(A, REG.CTRL2);
  const done = await bus.readByte(A, REG.CTRL2);
  t.equal(done & (CTRL2.CALS | CTRL2.CAL_ERR), 0, 'then 0, without CAL_ERR');
  await clock.advance(20);
  t.equal((await bus.readByte(A, REG.PU_CTRL)) & PU.CR, PU.CR, 'CR: a conversion is ready');
  const buf = Buffer.alloc(3);
  await bus.readI2cBlock(A, REG.ADCO_B2, 3, buf);
  t.equal(signExtend24(buf[0], buf[1], buf[2]), -5000, 'negative zero counts, offset calibrated away');
  t.equal((await bus.readByte(A, REG.PU_CTRL)) & PU.CR, 0, 'CR clears once read until the next conversion');
  chip.setLoad(200, { bounce: false });
  await clock.advance(13); // 80 SPS
  await bus.readI2cBlock(A, REG.ADCO_B2, 3, buf);
  t.equal(signExtend24(buf[0], buf[1], buf[2]), -5000 + 2000);
  await bus.writeByte(A, REG.CTRL1, 0x26); // gain 64 halves the counts
  await clock.advance(13);
  await bus.readI2cBlock(A, REG.ADCO_B2, 3, buf);
  t.equal(signExtend24(buf[0], buf[1], buf[2]), (-5000 + 2000) / 2);
  bus.failNext(1);
  await t.rejects(bus.readByte(A, REG.PU_CTRL), { code: 'EREMOTEIO' });
  t.ok(await bus.readByte(A, REG.PU_CTRL));
  bus.unplug();
  await t.rejects(bus.readByte(A, REG.PU_CTRL), { code: 'EREMOTEIO' });
  bus.replug();
  t.equal(await bus.readByte(A, REG.PU_CTRL), 0, 'back from power loss: registers at reset');
});

t.test('CAL_ERR when calibration fails or the analog side is off', async (t) => {
  const clock = new VirtualClock();
  const { bus } = fakeNau7802Bus({ timers: clock, countsPerGram: 10, zeroCounts: 0, noiseCounts: 0 });
  await bus.writeByte(NAU7802_ADDRESS, REG.PU_CTRL, PU.PUD); // PUA off
  await bus.writeByte(NAU7802_ADDRESS, REG.CTRL2, CTRL2.CALS);
  let v = 0;
  for (let i = 0; i < 5; i++) v = await bus.readByte(NAU7802_ADDRESS, REG.CTRL2);
  t.equal(v & CTRL2.CAL_ERR, CTRL2.CAL_ERR);
});
