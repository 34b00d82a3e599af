// Sound cues from the Web Audio API (no files): a short high tone when a scan
// is accepted, a falling two-tone when an alert covers the screen. Browsers
// start audio only after a touch; the kiosk's Chromium may allow it earlier.

const CUES = {
  scan: [{ hz: 1320, ms: 90 }],
  alert: [
    { hz: 880, ms: 180 },
    { hz: 587, ms: 260 },
  ],
};

let ctx;

function audio() {
  if (ctx === undefined) {
    const Ctx = globalThis.AudioContext ?? globalThis.webkitAudioContext;
    ctx = Ctx ? new Ctx() : null;
  }
  return ctx;
}

/** Play the cue `name` (scan, alert); silent where there is no audio. */
export function cue(name) {
  const steps = CUES[name];
  if (!steps) return;
  played[name] += 1;
  const a = audio();
  if (!a) return;
  if (a.state === 'suspended') a.resume().catch(() => undefined);
  let at = a.currentTime;
  for (const { hz, ms } of steps) {
    const osc = a.createOscillator();
    const gain = a.createGain();
    osc.type = 'sine';
    osc.frequency.value = hz;
    // a soft attack and release: no click
    gain.gain.setValueAtTime(0, at);
    gain.gain.linearRampToValueAtTime(0.25, at + 0.01);
    gain.gain.linearRampToValueAtTime(0, at + ms / 1000);
    osc.connect(gain).connect(a.destination);
    osc.start(at);
    osc.stop(at + ms / 1000 + 0.02);
    at += ms / 1000 + 0.03;
  }
}

/** The cues played so far, by name (tests read it through globalThis.laned). */
export const played = { scan: 0, alert: 0 };
