/**
 * The maintenance window (`updater.window`): `any`, or `HH:MM-HH:MM` in local
 * time (an en dash as in `02:00–05:00` too). A window whose end is before its
 * start wraps midnight (`22:00-02:00`).
 */
export const WINDOW_PATTERN = '^(any|([01][0-9]|2[0-3]):[0-5][0-9] ?[-\u2013] ?([01][0-9]|2[0-3]):[0-5][0-9])$';

export interface Window {
  text: string;
  /** Minutes after midnight; undefined for `any`. */
  from?: number;
  to?: number;
}

export function parseWindow(text: string): Window {
  if (text === 'any') return { text };
  const m = /^(\d\d):(\d\d) ?[-\u2013] ?(\d\d):(\d\d)$/.exec(text);
  if (!m || !new RegExp(WINDOW_PATTERN).test(text)) throw new Error(`updater.window ${JSON.stringify(text)}: use HH:MM-HH:MM (local time) or any`);
  return { text, from: Number(m[1]) * 60 + Number(m[2]), to: Number(m[3]) * 60 + Number(m[4]) };
}

/** Whether `at` (local time) is inside the window. */
export function inWindow(w: Window, at: Date): boolean {
  if (w.from === undefined || w.to === undefined) return true;
  const min = at.getHours() * 60 + at.getMinutes();
  return w.from <= w.to ? min >= w.from && min < w.to : min >= w.from || min < w.to;
}
