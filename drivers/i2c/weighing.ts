/**
 * From raw ADC counts to weighing decisions, sample by sample, with no I/O:
 * median filter (spikes) then moving average (noise); stability (every
 * reading within ±band of the window's mean for the whole window); rounding to
 * the division d; automatic zero-tracking and initial zero-setting within
 * limits (OIML R 76-1 §4.5: zero-tracking at most 0.5 d/s, total zero-setting
 * range 4 % of Max); capacity (blank above Max + 9 d) and under-zero (below
 * -20 d). Time is the sample time the caller passes, so tests measure in
 * device time.
 */

export type ScaleState = 'stable' | 'unstable' | 'zero' | 'underZero' | 'overweight' | 'notReady';

export interface WeighingConfig {
  /** Sample rate in samples/s (the ADC's conversion rate). */
  rate: number;
  /** Scale division d in grams. */
  division: number;
  capacityG: number;
  /** Smallest stable change published. */
  thresholdG: number;
  /** Median filter length in samples (odd; 1 disables). */
  medianWindow: number;
  /** Moving average length in ms (0 disables). */
  averageMs: number;
  /** Stable: every filtered reading within ±stableBandD·d of the mean for this long. */
  stableWindowMs: number;
  stableBandD: number;
  /** Zero-tracking acts on stable readings within ±autoZeroBandD·d of zero (0 disables). */
  autoZeroBandD: number;
  /** Largest total correction zero-tracking and zero() may make, in grams. */
  autoZeroLimitG: number;
  /** At start, a first stable reading within ±initialZeroG becomes zero (0 disables). */
  initialZeroG: number;
}

export interface Calibration {
  /** Filtered counts with an empty platter; NaN: take the first filtered reading as zero. */
  zeroCounts: number;
  countsPerGram: number;
}

export interface WeighOutput {
  /** A stable change >= threshold: publish WeightHasChanged. */
  changed?: { grams: number; delta: number };
  /** The state changed: publish ScaleStatus. */
  state?: ScaleState;
}

const round = (g: number, d: number): number => {
  const r = Math.round(g / d) * d;
  return Object.is(r, -0) ? 0 : Number(r.toFixed(6));
};

export class Weighing {
  private readonly med: number[] = [];
  private readonly avg: number[] = [];
  private avgSum = 0;
  private readonly avgN: number;
  /** Filtered grams with their sample times, covering the stability window. */
  private readonly recent: { t: number; g: number }[] = [];
  private zeroCounts: number;
  private countsPerGram: number;
  /** Total correction made by zero-tracking / zero(), in grams (bounded by autoZeroLimitG). */
  private zeroShiftG = 0;
  private initialZeroDone: boolean;
  private lastT: number | undefined;
  private published = 0;
  private current: ScaleState = 'notReady';
  private stable = false;
  private filteredCounts = NaN;
  private grossG = NaN;

  constructor(
    private readonly cfg: WeighingConfig,
    cal: Calibration,
  ) {
    this.zeroCounts = cal.zeroCounts;
    this.countsPerGram = cal.countsPerGram;
    this.avgN = Math.max(1, Math.round((cfg.averageMs * cfg.rate) / 1000));
    this.initialZeroDone = cfg.initialZeroG <= 0;
  }

  get state(): ScaleState {
    return this.current;
  }
  get isStable(): boolean {
    return this.stable;
  }
  /** Moving average of median-filtered counts (what calibration uses). */
  get counts(): number {
    return this.filteredCounts;
  }
  /** Current gross weight rounded to d (NaN before the filters are full). */
  get grams(): number {
    return Number.isNaN(this.grossG) ? NaN : round(this.grossG, this.cfg.division);
  }
  /** Where zero is now, in counts (calibrated zero plus tracking). */
  get zeroNow(): number {
    return this.zeroCounts;
  }
  get lastPublished(): number {
    return this.published;
  }

  setCalibration(cal: Calibration): void {
    this.zeroCounts = cal.zeroCounts;
    this.countsPerGram = cal.countsPerGram;
    this.zeroShiftG = 0;
    this.recent.length = 0;
  }

  /** Forget filter history (after a chip re-initialisation); zero and calibration stay. */
  restart(): WeighOutput {
    this.med.length = 0;
    this.avg.length = 0;
    this.avgSum = 0;
    this.recent.length = 0;
    this.stable = false;
    this.lastT = undefined;
    this.grossG = NaN;
    return this.setState('notReady');
  }

  /**
   * Set zero to the current reading (attendant/technician "zero" key). Refused
   * unless stable and within the zero-setting limit.
   */
  zero(): { ok: true } | { ok: false; reason: string } {
    if (!this.stable) return { ok: false, reason: 'scale not stable' };
    const shift = this.zeroShiftG + this.grossG;
    if (Math.abs(shift) > this.cfg.autoZeroLimitG) {
      return {
        ok: false,
        reason: `zeroing by ${Math.round(this.grossG)} g exceeds the zero-setting range of ±${this.cfg.autoZeroLimitG} g; calibrate zero instead`,
      };
    }
    this.shiftZero(this.grossG);
    return { ok: true };
  }

  push(rawCounts: number, t: number): WeighOutput {
    const dt = this.lastT === undefined ? 1000 / this.cfg.rate : Math.max(0, t - this.lastT);
    this.lastT = t;
    const counts = this.filter(rawCounts);
    if (counts === undefined) return {};
    this.filteredCounts = counts;
    if (Number.isNaN(this.zeroCounts)) this.zeroCounts = counts;
    let g = (counts - this.zeroCounts) / this.countsPerGram;
    this.grossG = g;

    this.recent.push({ t, g });
    while (this.recent.length > 1 && this.recent[1].t <= t - this.cfg.stableWindowMs) this.recent.shift();
    this.stable = this.isWindowStable(t);

    const d = this.cfg.division;
    if (this.stable && !this.initialZeroDone) {
      this.initialZeroDone = true;
      if (Math.abs(g) <= this.cfg.initialZeroG) {
        this.shiftZero(g, true);
        g = 0;
      }
    } else if (this.stable && this.cfg.autoZeroBandD > 0 && Math.abs(g) <= this.cfg.autoZeroBandD * d && g !== 0) {
      // zero-tracking, at most 0.5 d per second of samples
      const step = Math.sign(g) * Math.min(Math.abs(g), (0.5 * d * dt) / 1000);
      if (Math.abs(this.zeroShiftG + step) <= this.cfg.autoZeroLimitG) {
        this.shiftZero(step);
        g -= step;
      }
    }

    const shown = round(g, d);
    const out: WeighOutput = {};
    let state: ScaleState;
    if (g > this.cfg.capacityG + 9 * d) state = 'overweight';
    else if (g < -20 * d) state = 'underZero';
    else if (!this.stable) state = 'unstable';
    else state = shown === 0 ? 'zero' : 'stable';
    Object.assign(out, this.setState(state));

    if ((state === 'stable' || state === 'zero') && Math.abs(shown - this.published) >= this.cfg.thresholdG) {
      out.changed = { grams: shown, delta: round(shown - this.published, d) };
      this.published = shown;
    }
    return out;
  }

  private setState(s: ScaleState): WeighOutput {
    if (s === this.current) return {};
    this.current = s;
    return { state: s };
  }

  private shiftZero(g: number, initial = false): void {
    this.zeroCounts += g * this.countsPerGram;
    if (!initial) this.zeroShiftG += g;
    for (const r of this.recent) r.g -= g;
    this.grossG -= g;
  }

  private filter(raw: number): number | undefined {
    const m = this.cfg.medianWindow;
    let v = raw;
    if (m > 1) {
      this.med.push(raw);
      if (this.med.length > m) this.med.shift();
      if (this.med.length < m) return undefined;
      const sorted = [...this.med].sort((a, b) => a - b);
      v = sorted[(m - 1) >> 1];
    }
    this.avg.push(v);
    this.avgSum += v;
    if (this.avg.length > this.avgN) this.avgSum -= this.avg.shift()!;
    if (this.avg.length < this.avgN) return undefined;
    return this.avgSum / this.avgN;
  }

  private isWindowStable(t: number): boolean {
    if (this.recent.length < 2 || this.recent[0].t > t - this.cfg.stableWindowMs) return false;
    // Readings missed (a late host drops conversions: the chip keeps only the latest) leave
    // too few to judge by: two taken a ringing period apart look the same (aliasing). At
    // least a quarter of the window's conversions, or it is not known to be stable.
    if (this.recent.length < (this.cfg.stableWindowMs * this.cfg.rate) / 4000) return false;
    let sum = 0;
    for (const r of this.recent) sum += r.g;
    const mean = sum / this.recent.length;
    const band = this.cfg.stableBandD * this.cfg.division;
    return this.recent.every((r) => Math.abs(r.g - mean) <= band);
  }
}
