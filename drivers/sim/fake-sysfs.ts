/**
 * A fake /sys/class/gpio in a temp folder: gpiochipN/{label,base,ngpio} as a
 * given board's kernel shows them, export/unexport files, and gpioN/{direction,
 * edge,value,active_low} once a line is exported. SysfsFileLine is the
 * simulated GpioLine: the same file operations onoff does under
 * /sys/class/gpio, here under the temp root, with the edge interrupt
 * (poll(2) on the value file) replaced by polling the value file on the
 * driver's clock.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GpioEnv, GpioLine, GpioLineRequest } from '../gpio/line.js';
import type { TimerHandle, Timers } from '../timers.js';

export interface FakeChip {
  chip: string;
  label: string;
  base: number;
  ngpio: number;
}

/**
 * gpiochip layouts of real boards, as `grep . /sys/class/gpio/gpiochip*\/{label,base,ngpio}`
 * prints them on Raspberry Pi OS. Kernel 6.1 numbered the first chip from 0 and the
 * firmware expander from the top of the old 512 range down; since 6.6 the sysfs
 * numbers are dynamic from 512 up (GPIO_DYNAMIC_BASE, drivers/gpio/gpiolib.c). The
 * Pi 5's 40-pin header is on the RP1 south bridge (`pinctrl-rp1`), after the SoC's
 * own brcmstb chips, so BCM 17 is 571 + 17 = 588 there and 512 + 17 = 529 on a Pi 4.
 */
export const BOARDS: Record<string, FakeChip[]> = {
  'pi4-6.6': [
    { chip: 'gpiochip512', label: 'pinctrl-bcm2711', base: 512, ngpio: 58 },
    { chip: 'gpiochip570', label: 'raspberrypi-exp-gpio', base: 570, ngpio: 8 },
  ],
  'pi4-6.1': [
    { chip: 'gpiochip0', label: 'pinctrl-bcm2711', base: 0, ngpio: 58 },
    { chip: 'gpiochip504', label: 'raspberrypi-exp-gpio', base: 504, ngpio: 8 },
  ],
  'pi5-6.6': [
    { chip: 'gpiochip512', label: 'gpio-brcmstb@107d508500', base: 512, ngpio: 32 },
    { chip: 'gpiochip544', label: 'gpio-brcmstb@107d508520', base: 544, ngpio: 4 },
    { chip: 'gpiochip548', label: 'gpio-brcmstb@107d517c00', base: 548, ngpio: 17 },
    { chip: 'gpiochip565', label: 'gpio-brcmstb@107d517c20', base: 565, ngpio: 6 },
    { chip: 'gpiochip571', label: 'pinctrl-rp1', base: 571, ngpio: 54 },
  ],
};

export class FakeSysfs {
  readonly root: string;
  private readonly owned: boolean;

  constructor(opts: { root?: string; chips?: FakeChip[] } = {}) {
    this.owned = !opts.root;
    this.root = opts.root ?? mkdtempSync(join(tmpdir(), 'laned-sysfs-gpio-'));
    mkdirSync(this.root, { recursive: true });
    for (const f of ['export', 'unexport']) writeFileSync(join(this.root, f), '');
    for (const c of opts.chips ?? BOARDS['pi4-6.6']) {
      const dir = join(this.root, c.chip);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'label'), `${c.label}\n`);
      writeFileSync(join(dir, 'base'), `${c.base}\n`);
      writeFileSync(join(dir, 'ngpio'), `${c.ngpio}\n`);
    }
  }

  lineDir(sysfs: number): string {
    return join(this.root, `gpio${sysfs}`);
  }

  isExported(sysfs: number): boolean {
    return existsSync(this.lineDir(sysfs));
  }

  /** What the kernel does when a number is written to export. */
  export(sysfs: number): void {
    const dir = this.lineDir(sysfs);
    if (existsSync(dir)) return;
    mkdirSync(dir);
    writeFileSync(join(dir, 'direction'), 'in\n');
    writeFileSync(join(dir, 'edge'), 'none\n');
    writeFileSync(join(dir, 'active_low'), '0\n');
    writeFileSync(join(dir, 'value'), '0\n');
  }

  unexport(sysfs: number): void {
    rmSync(this.lineDir(sysfs), { recursive: true, force: true });
  }

  /**
   * Stand in for the kernel while another process does the sysfs file operations
   * itself (onoff writing `export` and `unexport`): a line appears when its number
   * is written to `export` and goes when it is written to `unexport`. Returns stop.
   */
  serveExports(): () => void {
    const handle = (file: 'export' | 'unexport'): void => {
      const path = join(this.root, file);
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch {
        return;
      }
      const numbers = text.match(/\d+/g)?.map(Number) ?? [];
      if (numbers.length === 0) return;
      writeFileSync(path, ''); // taken: the kernel keeps nothing in these files
      for (const n of numbers) {
        if (file === 'export') this.export(n);
        else rmSync(this.lineDir(n), { recursive: true, force: true });
      }
    };
    const watcher = watch(this.root, (_event, name) => {
      if (name === 'export' || name === 'unexport') handle(name);
    });
    return () => watcher.close();
  }

  /** The level on a pin, as an outside circuit drives it (inputs) or the driver wrote it (outputs). */
  level(sysfs: number): 0 | 1 {
    return readFileSync(join(this.lineDir(sysfs), 'value'), 'utf8').trim() === '1' ? 1 : 0;
  }

  /** Drive an input pin from outside (a key switch, a light barrier). */
  setLevel(sysfs: number, level: 0 | 1): void {
    if (!this.isExported(sysfs)) throw new Error(`gpio${sysfs} is not exported (driver not started?)`);
    writeFileSync(join(this.lineDir(sysfs), 'value'), `${level}\n`);
  }

  direction(sysfs: number): string {
    return readFileSync(join(this.lineDir(sysfs), 'direction'), 'utf8').trim();
  }

  close(): void {
    if (this.owned) rmSync(this.root, { recursive: true, force: true });
  }

  /** The GpioEnv a simulated GPIO device gets. */
  env(timers: Timers, pollMs = 5): GpioEnv {
    return { sysfsRoot: this.root, open: async (req) => new SysfsFileLine(this, req, timers, pollMs) };
  }
}

export class SysfsFileLine implements GpioLine {
  private timer?: TimerHandle;
  private last: 0 | 1;
  private readonly dir: string;
  private readonly valuePath: string;

  constructor(
    private readonly fs: FakeSysfs,
    private readonly req: GpioLineRequest,
    private readonly timers: Timers,
    private readonly pollMs: number,
  ) {
    fs.export(req.sysfs);
    this.dir = fs.lineDir(req.sysfs);
    this.valuePath = join(this.dir, 'value');
    writeFileSync(join(this.dir, 'direction'), `${req.direction}\n`);
    if (req.direction === 'in') writeFileSync(join(this.dir, 'edge'), `${req.edge}\n`);
    this.last = this.readSync();
  }

  private readSync(): 0 | 1 {
    // polled every few ms while watched: the path joined once, not per read
    return readFileSync(this.valuePath, 'utf8').trim() === '1' ? 1 : 0;
  }

  async read(): Promise<0 | 1> {
    return this.readSync();
  }

  async write(value: 0 | 1): Promise<void> {
    writeFileSync(this.valuePath, `${value}\n`);
  }

  watch(onChange: (err: Error | null | undefined, value: 0 | 1) => void): void {
    const tick = () => {
      let v: 0 | 1;
      try {
        v = this.readSync();
      } catch (err) {
        onChange(err as Error, this.last);
        return;
      }
      if (v !== this.last) {
        const rising = v === 1;
        this.last = v;
        const e = this.req.edge;
        if (e === 'both' || (e === 'rising' && rising) || (e === 'falling' && !rising)) onChange(null, v);
      }
      this.timer = this.timers.setTimeout(tick, this.pollMs);
    };
    this.timer = this.timers.setTimeout(tick, this.pollMs);
  }

  close(): void {
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.fs.unexport(this.req.sysfs);
  }
}
