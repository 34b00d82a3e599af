/**
 * The simulated scanner-scale's firmware: answers S14/S11 from the platter
 * (in motion for a moment after every change, over capacity above Max, under
 * zero below it) and sends S08 frames for scans, all with the configured
 * prefix and terminator, through a SimSerialBus port.
 */
import type { MagellanConfig } from '../serial/magellan.js';
import { bytesFromConfig } from '../serial/framer.js';
import type { Timers } from '../timers.js';
import type { SimSerialBus, SimSerialDevice, SimSerialPort } from './serial.js';
import { unescapeCode } from './env.js';
import { PlatterTwin } from './platter-twin.js';

/** `mute` silences the scale board only: the scanner side still sends. */
export class MagellanTwin extends PlatterTwin implements SimSerialDevice {
  private rx = '';

  constructor(
    private readonly bus: SimSerialBus,
    readonly path: string,
    private readonly config: Pick<MagellanConfig, 'prefix' | 'terminator'>,
    timers: Timers,
  ) {
    super(timers);
  }

  private get prefix(): string {
    return bytesFromConfig(this.config.prefix).toString('latin1');
  }
  private get terminator(): string {
    return bytesFromConfig(this.config.terminator).toString('latin1');
  }

  /** A scan at the scanner window: S08, label id by the code's shape, the code. */
  scan(code: string): void {
    const c = unescapeCode(code);
    let id = 'B3';
    if (c.startsWith(']')) id = '';
    else if (/^[0-9]{13}$/.test(c)) id = 'F';
    else if (/^[0-9]{12}$/.test(c)) id = 'A';
    else if (/^[0-9]{8}$/.test(c)) id = 'FF';
    this.bus.send(this.path, `${this.prefix}08${id}${c}${this.terminator}`);
  }

  private answer(port: SimSerialPort, body: string): void {
    port.send(`${this.prefix}${body}${this.terminator}`);
  }

  private digits(): string {
    return this.unit === 'kg' ? String(Math.round(this.platter)).padStart(5, '0') : String(Math.round(this.platter / 4.5359237)).padStart(4, '0');
  }

  onWrite(bytes: Buffer, port: SimSerialPort): void {
    this.rx += bytes.toString('latin1');
    let end: number;
    while ((end = this.rx.indexOf(this.terminator)) >= 0) {
      const cmd = this.rx.slice(0, end);
      this.rx = this.rx.slice(end + this.terminator.length);
      if (this.mute || !cmd.startsWith(this.prefix)) continue;
      const body = cmd.slice(this.prefix.length);
      const moving = this.moving;
      if (body === '14') {
        if (moving) this.answer(port, '141');
        else if (this.platter > this.capacityG) this.answer(port, '142');
        else if (this.platter < 0) this.answer(port, '145');
        else if (Math.round(this.platter) === 0) this.answer(port, '143');
        else this.answer(port, `144${this.digits()}`);
      } else if (body === '11') {
        // S11 answers only a stable weight within range
        if (!moving && this.platter > 0 && this.platter <= this.capacityG) this.answer(port, `11${this.digits()}`);
      }
    }
  }
}
