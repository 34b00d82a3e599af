/**
 * The simulated keyboard-wedge scanner: its evdev node is a stream the twin
 * writes input_event records into, typing each code on the US layout with
 * shift presses, Ctrl+] for GS and Enter at the end, as a wedge does.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { HidEnv } from '../env.js';
import { EV_KEY, EV_MSC, EV_SYN, encodeInputEvents, type InputEvent } from '../hid/input-event.js';
import { KEY_ENTER, KEY_LEFTCTRL, KEY_LEFTSHIFT, KEY_RIGHTBRACE, keyFor } from '../hid/keymap.js';
import { unescapeCode } from './env.js';

export function typeCode(code: string): InputEvent[] {
  const ev: InputEvent[] = [];
  const press = (c: number) => {
    ev.push({ type: EV_MSC, code: 4, value: 0x70000 + c }); // MSC_SCAN, as real keyboards send
    ev.push({ type: EV_KEY, code: c, value: 1 }, { type: EV_SYN, code: 0, value: 0 });
    ev.push({ type: EV_KEY, code: c, value: 0 }, { type: EV_SYN, code: 0, value: 0 });
  };
  const hold = (mod: number, c: number) => {
    ev.push({ type: EV_KEY, code: mod, value: 1 }, { type: EV_SYN, code: 0, value: 0 });
    press(c);
    ev.push({ type: EV_KEY, code: mod, value: 0 }, { type: EV_SYN, code: 0, value: 0 });
  };
  for (const ch of code) {
    if (ch === '\u001d') {
      hold(KEY_LEFTCTRL, KEY_RIGHTBRACE);
      continue;
    }
    const k = keyFor(ch);
    if (!k) throw new Error(`character ${JSON.stringify(ch)} cannot be typed on the US layout`);
    if (k[1]) hold(KEY_LEFTSHIFT, k[0]);
    else press(k[0]);
  }
  press(KEY_ENTER);
  return ev;
}

export class HidTwin {
  private stream?: PassThrough;
  present = true;

  constructor(
    readonly path: string,
    readonly recordSize: 16 | 24,
  ) {}

  readonly env: HidEnv = {
    exists: async (p) => p === this.path && this.present,
    open: async (p): Promise<Readable> => {
      if (p !== this.path || !this.present) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: 'ENOENT' });
      this.stream = new PassThrough();
      return this.stream;
    },
  };

  get isOpen(): boolean {
    return Boolean(this.stream && !this.stream.destroyed);
  }

  /** Raw bytes into the open node (tests split records across reads with this). */
  write(bytes: Buffer): void {
    if (!this.stream || this.stream.destroyed) throw new Error(`${this.path} is not open`);
    this.stream.write(bytes);
  }

  scan(code: string): void {
    this.write(encodeInputEvents(typeCode(unescapeCode(code)), this.recordSize));
  }

  unplug(): void {
    this.present = false;
    this.stream?.destroy(Object.assign(new Error('ENODEV: no such device, read'), { code: 'ENODEV' }));
    this.stream = undefined;
  }

  replug(): void {
    this.present = true;
  }
}
