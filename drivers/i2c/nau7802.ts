/**
 * Bagging-area scale: load cells through a NAU7802 24-bit ADC on I2C (0x2A).
 * Datasheet power-up, gain/LDO/rate set-up and internal offset calibration;
 * conversion-ready polling; filtering, stability, zero-tracking in weighing.ts;
 * calibration (zero, span) by technician command, persisted. Publishes
 * WeightHasChanged for stable changes and ScaleStatus on state changes.
 * Why not an HX711: drivers/README.md.
 */
import { Type, type Static } from '@sinclair/typebox';
import type { DeviceStatus, Driver, DriverContext } from '../driver.js';
import type { DriverEnv } from '../env.js';
import { CommandError, numberArg, type CommandSpec, type Commandable } from '../command.js';
import { Publisher } from '../publish.js';
import { StatusKeeper } from '../status.js';
import { sleep, type TimerHandle } from '../timers.js';
import { isTransientI2cError, type I2cBus } from './bus.js';
import { calibrationPath, loadCalibration, saveCalibration, type CalibrationFile } from './calibration.js';
import { CTRL2, GAIN_BITS, LDO_BITS, NAU7802_ADDRESS, PU, RATE_BITS, REG, signExtend24 } from './nau7802-regs.js';
import { Weighing, type WeighOutput } from './weighing.js';
import { Calibration, ScaleState } from '../events.js';

/** The results of the scale's commands; `before` is null until a calibration was saved. */
const ReadResult = Type.Object(
  { state: ScaleState, grams: Type.Number(), counts: Type.Integer(), calibrated: Type.Boolean(), calibrationFile: Type.String(), up: Type.Boolean() },
  { additionalProperties: false },
);
const ZeroResult = Type.Object({ grams: Type.Number() }, { additionalProperties: false });
const CalibrateZeroResult = Type.Object(
  { zeroCounts: Type.Integer(), file: Type.String(), before: Type.Union([Calibration, Type.Null()]), after: Calibration },
  { additionalProperties: false },
);
const CalibrateSpanResult = Type.Object(
  { countsPerGram: Type.Number(), file: Type.String(), before: Type.Union([Calibration, Type.Null()]), after: Calibration },
  { additionalProperties: false },
);

const lit = <T extends number | string>(vals: T[], def: T) =>
  Type.Union(
    vals.map((v) => Type.Literal(v)),
    { default: def },
  );

/** A span more than this far (as a fraction) from the reference counts per gram is refused without force. */
const SPAN_PLAUSIBLE = 0.2;

export const Nau7802Schema = Type.Object(
  {
    kind: Type.Literal('nau7802'),
    simulate: Type.Boolean({ default: false }),
    /** /dev/i2c-<bus>; 1 on a Raspberry Pi's header pins 3/5. */
    bus: Type.Integer({ minimum: 0, maximum: 31, default: 1 }),
    address: Type.Integer({ minimum: 0x08, maximum: 0x77, default: NAU7802_ADDRESS }),
    gain: lit([1, 2, 4, 8, 16, 32, 64, 128], 128),
    /** Internal LDO voltage exciting the load cells. */
    ldoVolts: lit([2.4, 2.7, 3, 3.3, 3.6, 3.9, 4.2, 4.5], 3.3),
    sampleRate: lit([10, 20, 40, 80, 320], 80),
    /** Enable the channel-2 decoupling capacitor (datasheet PGA_PWR bit 7) when only channel 1 is used. */
    pgaCap: Type.Boolean({ default: true }),
    division: lit([1, 2, 5], 2),
    capacityG: Type.Integer({ minimum: 100, maximum: 300_000, default: 30_000 }),
    thresholdG: Type.Number({ minimum: 1, maximum: 1000, default: 5 }),
    medianWindow: lit([1, 3, 5, 7, 9, 11], 5),
    averageMs: Type.Integer({ minimum: 0, maximum: 2000, default: 100 }),
    stableWindowMs: Type.Integer({ minimum: 50, maximum: 3000, default: 250 }),
    stableBandD: Type.Number({ minimum: 0.5, maximum: 5, default: 1 }),
    autoZeroBandD: Type.Number({ minimum: 0, maximum: 2, default: 0.5 }),
    autoZeroLimitG: Type.Number({ minimum: 0, maximum: 10_000, default: 600 }),
    initialZeroG: Type.Number({ minimum: 0, maximum: 30_000, default: 600 }),
    /** Span used until a technician calibrates (from the load cell's rated output). */
    nominalCountsPerGram: Type.Number({ exclusiveMinimum: 0, maximum: 100_000, default: 100 }),
    /** Without a calibration file, report notReady instead of publishing weights. */
    requireCalibration: Type.Boolean({ default: true }),
    /** Calibration JSON; relative paths are in the state directory. Default <name>.calibration.json. */
    calibrationFile: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
    noDataTimeoutMs: Type.Integer({ minimum: 100, maximum: 10_000, default: 1000 }),
    i2cRetries: Type.Integer({ minimum: 0, maximum: 10, default: 3 }),
    reconnectMaxMs: Type.Integer({ minimum: 1000, maximum: 30_000, default: 30_000 }),
    /** lanectl selftest: a known test mass may read this many grams off and pass (default: 0.5 % of the mass, at least 5 g). */
    testToleranceG: Type.Optional(Type.Number({ minimum: 0, maximum: 10_000 })),
  },
  { additionalProperties: false },
);
export type Nau7802Config = Static<typeof Nau7802Schema>;

class ChipProblem extends Error {
  constructor(
    message: string,
    readonly state: 'degraded' | 'disconnected' | 'failed' = 'degraded',
  ) {
    super(message);
  }
}

const FIRST_RETRY_MS = 250;

export class Nau7802Scale implements Driver, Commandable {
  readonly kind = 'nau7802';
  readonly name: string;
  private readonly keeper: StatusKeeper;
  private readonly pub: Publisher;
  private readonly cfg: Nau7802Config;
  private bus?: I2cBus;
  private weighing!: Weighing;
  private cal?: CalibrationFile;
  private calProblem?: string;
  private readonly calPath: string;
  private running = false;
  private up = false;
  private flowing = false;
  private timer?: TimerHandle;
  private failures = 0;
  private lastDataAt = 0;
  /** When the next conversion is expected (driver clock, ms); see nextPollMs. */
  private due: number | undefined;
  private readonly block = Buffer.alloc(3);

  constructor(
    private readonly ctx: DriverContext<Nau7802Config>,
    private readonly env: DriverEnv,
  ) {
    this.name = ctx.name;
    this.cfg = ctx.config;
    this.keeper = new StatusKeeper(ctx, this.kind, env.simulated);
    this.pub = new Publisher(ctx, ctx.log);
    this.calPath = calibrationPath(env.stateDir, ctx.name, ctx.config.calibrationFile);
  }

  private get where(): string {
    return `I2C bus ${this.cfg.bus} address 0x${this.cfg.address.toString(16).toUpperCase()}`;
  }

  async start(): Promise<void> {
    this.keeper.set('starting');
    const loaded = await loadCalibration(this.calPath);
    if (loaded.kind === 'ok') this.cal = loaded.cal;
    if (loaded.kind === 'corrupt') {
      this.calProblem = `${loaded.problem}; recalibrate (lanectl calibrate ${this.name})`;
      this.ctx.log.error({ device: this.name, file: this.calPath }, this.calProblem);
    }
    this.weighing = new Weighing(
      {
        rate: this.cfg.sampleRate,
        division: this.cfg.division,
        capacityG: this.cfg.capacityG,
        thresholdG: this.cfg.thresholdG,
        medianWindow: this.cfg.medianWindow,
        averageMs: this.cfg.averageMs,
        stableWindowMs: this.cfg.stableWindowMs,
        stableBandD: this.cfg.stableBandD,
        autoZeroBandD: this.cfg.autoZeroBandD,
        autoZeroLimitG: this.cfg.autoZeroLimitG,
        initialZeroG: this.cal ? this.cfg.initialZeroG : this.cfg.capacityG,
      },
      { zeroCounts: this.cal?.zeroCounts ?? NaN, countsPerGram: this.cal?.countsPerGram ?? this.cfg.nominalCountsPerGram },
    );
    this.running = true;
    this.schedule(0, () => this.connect());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.env.timers.clearTimeout(this.timer);
    this.timer = undefined;
    const bus = this.bus;
    this.bus = undefined;
    if (bus) {
      // power the ADC down (PU_CTRL = 0) before letting go of the bus
      await bus.writeByte(this.cfg.address, REG.PU_CTRL, 0).catch(() => undefined);
      await bus.close().catch(() => undefined);
    }
    this.keeper.set('stopped');
    await this.pub.idle();
  }

  status(): DeviceStatus {
    return this.keeper.get();
  }

  /** Whether weights are published (calibrated, or calibration not required). */
  private get weighs(): boolean {
    return Boolean(this.cal) || !this.cfg.requireCalibration;
  }

  private schedule(ms: number, fn: () => Promise<void>): void {
    this.env.timers.clearTimeout(this.timer);
    this.timer = this.env.timers.setTimeout(() => {
      this.timer = undefined;
      if (this.running) void fn();
    }, ms);
  }

  /** One I2C transaction, retried on NAK/timeout within bounds. */
  private async io<T>(what: string, op: (bus: I2cBus) => Promise<T>): Promise<T> {
    const bus = this.bus;
    if (!bus) throw new ChipProblem(`${this.where}: bus not open`, 'disconnected');
    let last: unknown;
    for (let attempt = 0; attempt <= this.cfg.i2cRetries; attempt++) {
      try {
        return await op(bus);
      } catch (err) {
        last = err;
        if (!isTransientI2cError(err)) break;
        this.ctx.log.debug({ err, attempt, what }, 'I2C transaction failed, retrying');
      }
    }
    const code = (last as { code?: string })?.code;
    // i2c-bus opens /dev/i2c-N on the first transaction, so a missing or forbidden bus shows here
    if (code === 'ENOENT') throw new ChipProblem(`cannot open /dev/i2c-${this.cfg.bus}: no such device (I2C enabled? dtparam=i2c_arm=on)`, 'disconnected');
    if (code === 'EACCES') throw new ChipProblem(`cannot open /dev/i2c-${this.cfg.bus}: permission denied (laned user in group i2c?)`, 'disconnected');
    throw new ChipProblem(`${this.where}: ${what} failed (${code ?? (last as Error)?.message}); check wiring and power of the NAU7802`, 'disconnected');
  }

  private rd(reg: number): Promise<number> {
    return this.io(`read 0x${reg.toString(16)}`, (b) => b.readByte(this.cfg.address, reg));
  }

  private wr(reg: number, value: number): Promise<void> {
    return this.io(`write 0x${reg.toString(16)}`, (b) => b.writeByte(this.cfg.address, reg, value));
  }

  /** Datasheet power-on sequence, analog set-up and internal offset calibration. */
  private async init(): Promise<void> {
    const t = this.env.timers;
    await this.wr(REG.PU_CTRL, PU.RR); // reset all registers
    await this.wr(REG.PU_CTRL, PU.PUD); // RR = 0, power up digital
    let ready = false;
    for (let i = 0; i < 20 && !ready; i++) {
      await sleep(t, 1); // PUR follows PUD within about 200 µs
      ready = ((await this.rd(REG.PU_CTRL)) & PU.PUR) !== 0;
    }
    if (!ready) throw new ChipProblem(`${this.where}: NAU7802 did not power up (PU_CTRL PUR never set)`);
    const rev = await this.rd(REG.REVISION_ID);
    if ((rev & 0x0f) !== 0x0f) throw new ChipProblem(`${this.where}: not a NAU7802 (REVISION_ID 0x${rev.toString(16)}, low nibble should be F)`, 'failed');
    await this.wr(REG.PU_CTRL, PU.PUD | PU.PUA | PU.AVDDS); // analog on, AVDD from the internal LDO
    await this.wr(REG.CTRL1, (LDO_BITS[String(this.cfg.ldoVolts)] << 3) | GAIN_BITS[this.cfg.gain]);
    await this.wr(REG.CTRL2, RATE_BITS[this.cfg.sampleRate] << CTRL2.CRS_SHIFT);
    await this.wr(REG.ADC, (await this.rd(REG.ADC)) | 0x30); // REG_CHPS = 11: clock chopper off
    if (this.cfg.pgaCap) await this.wr(REG.PGA_PWR, (await this.rd(REG.PGA_PWR)) | 0x80);
    await this.wr(REG.PU_CTRL, PU.PUD | PU.PUA | PU.AVDDS | PU.CS); // start conversions
    // internal offset calibration: CALMOD = 00, CALS = 1, wait for CALS = 0, then CAL_ERR
    const ctrl2 = RATE_BITS[this.cfg.sampleRate] << CTRL2.CRS_SHIFT;
    await this.wr(REG.CTRL2, ctrl2 | CTRL2.CALS);
    let done = false;
    let v = 0;
    for (let i = 0; i < 100 && !done; i++) {
      await sleep(t, 5);
      v = await this.rd(REG.CTRL2);
      done = (v & CTRL2.CALS) === 0;
    }
    if (!done) throw new ChipProblem(`${this.where}: internal offset calibration did not finish (CTRL2 CALS stuck)`);
    if (v & CTRL2.CAL_ERR) throw new ChipProblem(`${this.where}: internal offset calibration failed (CTRL2 CAL_ERR); check the load-cell wiring`);
  }

  private async connect(): Promise<void> {
    try {
      if (!this.bus) {
        try {
          this.bus = await this.env.i2c.open(this.cfg.bus);
        } catch (err) {
          throw new ChipProblem(`cannot open /dev/i2c-${this.cfg.bus}: ${(err as Error).message} (I2C enabled? dtparam=i2c_arm=on)`, 'disconnected');
        }
      }
      await this.init();
    } catch (err) {
      return this.down(err);
    }
    if (!this.running) return;
    this.up = true;
    this.flowing = false;
    this.lastDataAt = this.env.timers.now();
    this.due = undefined;
    this.schedule(1, () => this.poll());
  }

  private reportUp(): void {
    const uncalibrated = `not calibrated: run lanectl calibrate ${this.name} (zero, then span with a known mass)`;
    if (this.calProblem) this.keeper.set('degraded', this.calProblem);
    else if (!this.weighs) this.keeper.set('degraded', uncalibrated);
    else this.keeper.set('ok');
    if (!this.weighs) this.scaleStatus('notReady', this.calProblem ?? uncalibrated);
  }

  /**
   * The chip converts on its own clock at the sample rate (CRS), so the next result is
   * due a period after the last one: ask PU_CTRL.CR then, on a grid kept by the driver,
   * not every millisecond. The grid runs 0.5 % fast, so the chip's oscillator drifting
   * either way shows up as a poll before the conversion (then polled again after 1 ms
   * and the grid set from there), never as conversions skipped. One bus read and one
   * wake-up per sample: the wake-ups are most of what the pipeline costs.
   */
  private nextPollMs(found: boolean, now: number): number {
    const period = (1000 / this.cfg.sampleRate) * 0.995;
    if (!found) {
      this.due = undefined;
      return 1;
    }
    this.due = this.due === undefined || this.due + period < now ? now + period : this.due + period;
    return Math.max(1, Math.ceil(this.due - now));
  }

  private async poll(): Promise<void> {
    let justRead: boolean | undefined;
    try {
      const pu = await this.rd(REG.PU_CTRL);
      const need = PU.PUR | PU.PUA | PU.CS;
      if ((pu & need) !== need) throw new ChipProblem(`${this.where}: NAU7802 lost its set-up (PU_CTRL 0x${pu.toString(16)}; power glitch?)`);
      const now = this.env.timers.now();
      justRead = Boolean(pu & PU.CR);
      if (pu & PU.CR) {
        await this.io('read ADCO', (b) => b.readI2cBlock(this.cfg.address, REG.ADCO_B2, 3, this.block));
        this.lastDataAt = now;
        if (!this.flowing) {
          // back only once conversions flow again, so a chip that initialises but never converts is not flapping ok/degraded
          this.flowing = true;
          this.failures = 0;
          this.reportUp();
        }
        this.sample(signExtend24(this.block[0], this.block[1], this.block[2]), now);
      } else if (now - this.lastDataAt > this.cfg.noDataTimeoutMs) {
        throw new ChipProblem(`${this.where}: no conversion for ${Math.round(now - this.lastDataAt)} ms (PU_CTRL CR never set)`);
      }
    } catch (err) {
      return this.down(err);
    }
    this.schedule(this.nextPollMs(justRead ?? false, this.env.timers.now()), () => this.poll());
  }

  private sample(counts: number, t: number): void {
    const out: WeighOutput = this.weighing.push(counts, t);
    if (!this.weighs) return;
    if (out.state) this.scaleStatus(out.state);
    if (out.changed) {
      const data = { grams: out.changed.grams, delta: out.changed.delta, stable: true, division: this.cfg.division };
      void this.pub.emit('WeightHasChanged', data);
      this.keeper.reading({ grams: data.grams, state: this.weighing.state });
    }
  }

  private scaleStatus(state: string, detail?: string): void {
    const grams = this.weighing.grams;
    const data: Record<string, unknown> = { state };
    if (Number.isFinite(grams) && state !== 'notReady') data.grams = grams;
    if (detail) data.detail = detail.slice(0, 300);
    void this.pub.emit('ScaleStatus', data);
  }

  private down(err: unknown): void {
    if (!this.running) return;
    const problem = err instanceof ChipProblem ? err : new ChipProblem(`${this.where}: ${(err as Error)?.message ?? String(err)}`);
    this.ctx.log.debug({ err, device: this.name }, 'NAU7802 down');
    this.failures++;
    const wasUp = this.up;
    this.up = false;
    this.keeper.set(problem.state, problem.message);
    const out = this.weighing.restart();
    if (out.state || wasUp) this.scaleStatus('notReady', problem.message);
    const delay = Math.min(this.cfg.reconnectMaxMs, FIRST_RETRY_MS * 2 ** (this.failures - 1));
    this.schedule(delay, () => this.connect());
  }

  commands(): CommandSpec[] {
    return [
      { name: 'zero', describe: 'set zero now (stable, within the zero-setting range)', result: ZeroResult },
      { name: 'calibrate-zero', describe: 'calibration step 1: empty, still platter becomes zero (saved)', result: CalibrateZeroResult },
      {
        name: 'calibrate-span',
        describe: 'calibration step 2: a known mass on the platter (saved)',
        args: { grams: 'the mass in grams' },
        result: CalibrateSpanResult,
      },
      { name: 'read', describe: 'current weight, state, raw counts and calibration', result: ReadResult },
    ];
  }

  async command(name: string, args: Record<string, unknown>): Promise<unknown> {
    const w = this.weighing;
    if (!w) throw new CommandError(`${this.name} is not started`);
    const needStable = () => {
      if (!this.up) throw new CommandError(`${this.name} is not running (${this.keeper.get().detail ?? this.keeper.state})`);
      if (!w.isStable) throw new CommandError(`${this.name}: scale not stable; keep the platter still and try again`);
    };
    switch (name) {
      case 'read':
        return { state: w.state, grams: w.grams, counts: Math.round(w.counts), calibrated: Boolean(this.cal), calibrationFile: this.calPath, up: this.up };
      case 'zero': {
        needStable();
        const r = w.zero();
        if (!r.ok) throw new CommandError(`${this.name}: ${r.reason}`);
        return { grams: w.grams };
      }
      case 'calibrate-zero': {
        needStable();
        const before = this.calSummary();
        const cal: CalibrationFile = {
          version: 1,
          device: this.name,
          zeroCounts: w.counts,
          countsPerGram: this.cal?.countsPerGram ?? this.cfg.nominalCountsPerGram,
          ...(this.cal?.spanGrams ? { spanGrams: this.cal.spanGrams, spanAt: this.cal.spanAt } : {}),
          zeroAt: new Date().toISOString(),
        };
        await this.saveAndApply(cal);
        return { zeroCounts: Math.round(cal.zeroCounts), file: this.calPath, before, after: this.calSummary() };
      }
      case 'calibrate-span': {
        const grams = numberArg(args, 'grams', this.name);
        if (grams <= 0 || grams > this.cfg.capacityG)
          throw new CommandError(`${this.name}: grams must be above 0 and at most the capacity ${this.cfg.capacityG}`);
        needStable();
        if (!this.cal) throw new CommandError(`${this.name}: calibrate zero first (empty platter: lanectl calibrate ${this.name} zero)`);
        const zero = w.zeroNow;
        const delta = w.counts - zero;
        if (Math.abs(delta) < 100)
          throw new CommandError(`${this.name}: the platter reads only ${Math.round(delta)} counts above zero; is the ${grams} g mass on it?`);
        const countsPerGram = delta / grams;
        // The load cell's output per gram does not change much: a span far from the last one (or, before the
        // first, from the rated output) means the mass on the platter is not the grams typed.
        const reference = this.cal.spanGrams
          ? { cpg: this.cal.countsPerGram, what: `the last calibration (${this.cal.spanAt ?? '?'})` }
          : { cpg: this.cfg.nominalCountsPerGram, what: 'the nominal counts per gram of the load cell (nominalCountsPerGram)' };
        const off = countsPerGram / reference.cpg - 1;
        if (Math.abs(off) > SPAN_PLAUSIBLE && args.force !== true) {
          const reads = Math.round(delta / reference.cpg);
          throw new CommandError(
            `${this.name}: refused: ${grams} g gives ${countsPerGram.toFixed(2)} counts per gram, ${(off * 100).toFixed(0)} % off ${reference.what} (${reference.cpg.toFixed(2)}); the platter weighs about ${reads} g by it. Put exactly ${grams} g on the empty platter, or pass --force if the load cell was replaced`,
          );
        }
        const before = this.calSummary();
        const cal: CalibrationFile = { ...this.cal, zeroCounts: zero, countsPerGram, spanGrams: grams, spanAt: new Date().toISOString() };
        await this.saveAndApply(cal);
        return { countsPerGram: cal.countsPerGram, file: this.calPath, before, after: this.calSummary() };
      }
      default:
        throw new CommandError(
          `${this.name}: unknown command "${name}"; known: ${this.commands()
            .map((c) => c.name)
            .join(', ')}`,
        );
    }
  }

  /** The calibration in use, for the ScaleCalibrated event (null: none saved yet). */
  private calSummary(): { zeroCounts: number; countsPerGram: number; spanGrams?: number } | null {
    if (!this.cal) return null;
    return {
      zeroCounts: Math.round(this.cal.zeroCounts),
      countsPerGram: this.cal.countsPerGram,
      ...(this.cal.spanGrams ? { spanGrams: this.cal.spanGrams } : {}),
    };
  }

  private async saveAndApply(cal: CalibrationFile): Promise<void> {
    try {
      await saveCalibration(this.calPath, cal);
    } catch (err) {
      throw new CommandError(`${this.name}: cannot write ${this.calPath}: ${(err as Error).message}`);
    }
    this.cal = cal;
    this.calProblem = undefined;
    this.weighing.setCalibration({ zeroCounts: cal.zeroCounts, countsPerGram: cal.countsPerGram });
    if (this.flowing) this.reportUp();
  }
}
