/**
 * A fake I2C bus with a fake NAU7802 on it, emulating the datasheet register
 * map the driver uses: PU_CTRL power-up (RR, PUD -> PUR after a moment, PUA,
 * CS, CR), CTRL1 gain/LDO, CTRL2 conversion rate and internal offset
 * calibration (CALS busy, then CAL_ERR), ADCO_B2..B0 with a 24-bit two's
 * complement result made from a settable load in grams plus seeded noise.
 * Faults a real bus shows are injectable: NAKs (EREMOTEIO) and an unplugged
 * chip that comes back reset.
 */
import type { I2cBus } from '../i2c/bus.js';
import { CTRL2, GAIN_BITS, NAU7802_ADDRESS, PU, RATE_OF_BITS, REG } from '../i2c/nau7802-regs.js';
import type { Timers } from '../timers.js';
import { between, bounce, seeded } from './random.js';

/** CTRL1 gain field -> gain (GAIN_BITS the other way round). */
const GAIN_OF_FIELD = new Map(Object.entries(GAIN_BITS).map(([gain, field]) => [field, Number(gain)]));

export interface FakeI2cDevice {
  read(reg: number): number;
  write(reg: number, value: number): void;
  /** Power lost and back: registers to their defaults. */
  powerCycle(): void;
}

const remoteIoError = (address: number) =>
  Object.assign(new Error(`EREMOTEIO: remote I/O error, address 0x${address.toString(16)}`), { code: 'EREMOTEIO', errno: -121 });

export class FakeI2cBus implements I2cBus {
  private readonly devices = new Map<number, FakeI2cDevice>();
  private failures = 0;
  private unplugged = false;
  closed = false;
  /** Transactions done (for tests). */
  transactions = 0;

  attach(address: number, device: FakeI2cDevice): void {
    this.devices.set(address, device);
  }

  /** The next `n` transactions NAK. */
  failNext(n: number): void {
    this.failures += n;
  }

  /** Cable off: every transaction NAKs until replug; the chip then starts from reset. */
  unplug(): void {
    this.unplugged = true;
  }
  replug(): void {
    if (!this.unplugged) return;
    this.unplugged = false;
    for (const d of this.devices.values()) d.powerCycle();
  }
  get isUnplugged(): boolean {
    return this.unplugged;
  }

  private device(address: number): FakeI2cDevice {
    this.transactions++;
    if (this.closed) throw Object.assign(new Error('bus closed'), { code: 'EBADF' });
    if (this.failures > 0) {
      this.failures--;
      throw remoteIoError(address);
    }
    const d = this.devices.get(address);
    if (!d || this.unplugged) throw remoteIoError(address);
    return d;
  }

  async readByte(address: number, command: number): Promise<number> {
    await Promise.resolve();
    return this.device(address).read(command);
  }

  async writeByte(address: number, command: number, byte: number): Promise<void> {
    await Promise.resolve();
    this.device(address).write(command, byte & 0xff);
  }

  /** Register auto-increment, as the NAU7802 does for multi-byte reads. */
  async readI2cBlock(address: number, command: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }> {
    await Promise.resolve();
    const d = this.device(address);
    for (let i = 0; i < length; i++) buffer[i] = d.read(command + i);
    return { bytesRead: length, buffer };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export interface FakeNau7802Options {
  timers: Timers;
  /** Counts per gram at gain 128 (what the load cell and excitation give). */
  countsPerGram: number;
  /** Counts with nothing on the platter, after the internal offset calibration. */
  zeroCounts: number;
  /** Offset the chip shows until its internal offset calibration ran. */
  uncalibratedOffset?: number;
  /** Uniform noise ±counts. */
  noiseCounts: number;
  seed?: number;
  /** Make every internal calibration end with CAL_ERR. */
  calibrationFails?: boolean;
}

/** Register defaults after power-on or RR (GCAL1 = 0x00800000, gain 1.0). */
function defaults(): Uint8Array {
  const r = new Uint8Array(0x20);
  r[REG.GCAL1_B3 + 1] = 0x80;
  r[REG.REVISION_ID] = 0x0f;
  return r;
}

export class FakeNau7802 implements FakeI2cDevice {
  private regs = defaults();
  private readonly rand: () => number;
  private loadFrom = 0;
  private loadTo = 0;
  private loadSince = -Infinity;
  private purReadsLeft = 0;
  private calReadsLeft = 0;
  private offsetCalibrated = false;
  private nextSampleAt = 0;
  private latched = 0;
  /** Conversions the driver read (for tests). */
  samplesRead = 0;
  /** A chip that stops converting (CR never set) while still answering on the bus. */
  stalled = false;
  /** Every register write, in order: [register, value] (for tests of the set-up sequence). */
  readonly writes: Array<[number, number]> = [];

  constructor(private readonly o: FakeNau7802Options) {
    this.rand = seeded(o.seed ?? 1);
  }

  /** Put `grams` on the platter now; it bounces in over a few hundred ms. */
  setLoad(grams: number, opts: { bounce?: boolean } = {}): void {
    const now = this.o.timers.now();
    this.loadFrom = opts.bounce === false ? grams : this.loadOn(now);
    this.loadTo = grams;
    this.loadSince = now;
  }

  get load(): number {
    return this.loadTo;
  }

  /** Grams on the platter at time t, bounce included. */
  private loadOn(t: number): number {
    return bounce(this.loadFrom, this.loadTo, t - this.loadSince);
  }

  powerCycle(): void {
    this.regs = defaults();
    this.offsetCalibrated = false;
    this.purReadsLeft = 0;
    this.calReadsLeft = 0;
  }

  private converting(): boolean {
    const pu = this.regs[REG.PU_CTRL];
    const need = PU.PUD | PU.PUA | PU.CS | PU.PUR;
    return !this.stalled && (pu & need) === need;
  }

  private periodMs(): number {
    const crs = (this.regs[REG.CTRL2] & CTRL2.CRS_MASK) >> CTRL2.CRS_SHIFT;
    return 1000 / (RATE_OF_BITS[crs] ?? 10);
  }

  private sample(): number {
    const gainField = this.regs[REG.CTRL1] & 0b111;
    const scale = (GAIN_OF_FIELD.get(gainField) ?? 1) / 128;
    const offset = this.offsetCalibrated ? 0 : (this.o.uncalibratedOffset ?? 0);
    const grams = this.loadOn(this.o.timers.now());
    const v = Math.round((this.o.zeroCounts + offset + grams * this.o.countsPerGram) * scale) + between(this.rand, -this.o.noiseCounts, this.o.noiseCounts);
    return Math.max(-0x800000, Math.min(0x7fffff, v));
  }

  read(reg: number): number {
    const now = this.o.timers.now();
    if (reg === REG.PU_CTRL) {
      let v = this.regs[REG.PU_CTRL] & ~(PU.PUR | PU.CR);
      if (v & PU.PUD) {
        if (this.purReadsLeft > 0) this.purReadsLeft--;
        else v |= PU.PUR;
      }
      this.regs[REG.PU_CTRL] = (this.regs[REG.PU_CTRL] & ~PU.PUR) | (v & PU.PUR);
      if (this.converting() && now >= this.nextSampleAt) v |= PU.CR;
      return v;
    }
    if (reg === REG.CTRL2) {
      if (this.calReadsLeft > 0) {
        this.calReadsLeft--;
        if (this.calReadsLeft === 0) {
          this.regs[REG.CTRL2] &= ~CTRL2.CALS;
          if (this.o.calibrationFails || !(this.regs[REG.PU_CTRL] & PU.PUA)) this.regs[REG.CTRL2] |= CTRL2.CAL_ERR;
          else if ((this.regs[REG.CTRL2] & CTRL2.CALMOD_MASK) === 0) this.offsetCalibrated = true;
        }
      }
      return this.regs[REG.CTRL2];
    }
    if (reg === REG.ADCO_B2) {
      if (this.converting() && now >= this.nextSampleAt) {
        this.latched = this.sample() & 0xffffff;
        this.samplesRead++;
        // conversions run on the chip's own clock (CRS rate), not from the last read:
        // the next result is due at the next multiple of the period
        const period = this.periodMs();
        this.nextSampleAt += period * (Math.floor((now - this.nextSampleAt) / period) + 1);
      }
      return (this.latched >> 16) & 0xff;
    }
    if (reg === REG.ADCO_B1) return (this.latched >> 8) & 0xff;
    if (reg === REG.ADCO_B0) return this.latched & 0xff;
    return this.regs[reg & 0x1f] ?? 0;
  }

  write(reg: number, value: number): void {
    if (this.writes.length < 10_000) this.writes.push([reg, value]);
    if (reg === REG.PU_CTRL) {
      if (value & PU.RR) {
        this.powerCycle();
        this.regs[REG.PU_CTRL] = PU.RR;
        return;
      }
      const wasUp = this.regs[REG.PU_CTRL] & PU.PUD;
      // PUR and CR are read-only
      this.regs[REG.PU_CTRL] = (value & ~(PU.PUR | PU.CR)) | (this.regs[REG.PU_CTRL] & PU.PUR);
      if (value & PU.PUD && !wasUp) {
        this.purReadsLeft = 1;
        this.regs[REG.PU_CTRL] &= ~PU.PUR;
      }
      if (!(value & PU.PUD)) this.regs[REG.PU_CTRL] &= ~PU.PUR;
      return;
    }
    if (reg === REG.CTRL2) {
      this.regs[REG.CTRL2] = value & ~CTRL2.CAL_ERR;
      if (value & CTRL2.CALS) this.calReadsLeft = 3;
      return;
    }
    if (reg === REG.REVISION_ID || (reg >= REG.ADCO_B2 && reg <= REG.ADCO_B0)) return; // read only
    this.regs[reg & 0x1f] = value;
  }
}

/** A fake bus holding one fake NAU7802 at 0x2A. */
export function fakeNau7802Bus(o: FakeNau7802Options): { bus: FakeI2cBus; chip: FakeNau7802 } {
  const bus = new FakeI2cBus();
  const chip = new FakeNau7802(o);
  bus.attach(NAU7802_ADDRESS, chip);
  return { bus, chip };
}
