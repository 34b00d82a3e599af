/**
 * From key events to the text a keyboard-wedge scanner typed: shift state,
 * Ctrl+] as GS (ASCII 0x1D, how wedges type FNC1), Enter (or Tab) ends a code.
 * Key releases, autorepeat and SYN/MSC events carry no characters.
 */
import { EV_KEY, type InputEvent } from './input-event.js';
import {
  KEY_CAPSLOCK,
  KEY_ENTER,
  KEY_KPENTER,
  KEY_LEFTCTRL,
  KEY_LEFTSHIFT,
  KEY_RIGHTBRACE,
  KEY_RIGHTCTRL,
  KEY_RIGHTSHIFT,
  KEY_TAB,
  US_KEYMAP,
} from './keymap.js';

export type KeyFrame = { kind: 'text'; text: string } | { kind: 'reject'; text: string; reason: string };

export class KeyDecoder {
  private shift = 0;
  private ctrl = 0;
  private text = '';
  private bad?: string;

  constructor(private readonly opts: { terminator: 'enter' | 'tab'; maxLength: number }) {}

  push(events: InputEvent[]): KeyFrame[] {
    const out: KeyFrame[] = [];
    for (const e of events) {
      if (e.type !== EV_KEY) continue;
      const down = e.value === 1;
      const up = e.value === 0;
      if (e.code === KEY_LEFTSHIFT || e.code === KEY_RIGHTSHIFT) {
        if (down) this.shift++;
        else if (up) this.shift = Math.max(0, this.shift - 1);
        continue;
      }
      if (e.code === KEY_LEFTCTRL || e.code === KEY_RIGHTCTRL) {
        if (down) this.ctrl++;
        else if (up) this.ctrl = Math.max(0, this.ctrl - 1);
        continue;
      }
      if (!down) continue; // releases and autorepeat (2)
      const end = this.opts.terminator === 'tab' ? e.code === KEY_TAB : e.code === KEY_ENTER || e.code === KEY_KPENTER;
      if (end) {
        if (this.bad) out.push({ kind: 'reject', text: this.text, reason: this.bad });
        else if (this.text.length > 0) out.push({ kind: 'text', text: this.text });
        this.text = '';
        this.bad = undefined;
        continue;
      }
      if (e.code === KEY_CAPSLOCK) {
        this.bad ??= 'Caps Lock pressed inside a code (set the scanner to ignore Caps Lock)';
        continue;
      }
      let ch: string | undefined;
      if (this.ctrl > 0) ch = e.code === KEY_RIGHTBRACE ? '\u001d' : undefined;
      else ch = US_KEYMAP[e.code]?.[this.shift > 0 ? 1 : 0];
      if (ch === undefined) {
        this.bad ??= `key code ${e.code}${this.ctrl ? ' with Ctrl' : ''} is not a character of the US layout`;
        continue;
      }
      if (this.text.length >= this.opts.maxLength) {
        this.bad ??= `no Enter within ${this.opts.maxLength} characters`;
        continue;
      }
      this.text += ch;
    }
    return out;
  }

  /** Keys typed without their Enter when the device went away (a bad key alone counts too). */
  flush(): KeyFrame[] {
    const rest = this.text;
    const bad = this.bad;
    this.text = '';
    this.bad = undefined;
    this.shift = this.ctrl = 0;
    if (!rest && !bad) return [];
    return [{ kind: 'reject', text: rest, reason: `partial code (no Enter before the device closed)${bad ? `; ${bad}` : ''}` }];
  }
}
