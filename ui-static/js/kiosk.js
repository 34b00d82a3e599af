// What the board's kiosk (image/kiosk/laned-kiosk) needs from the page.
// - A sign of life for the kiosk's watchdog (daemon/http/ui-heartbeat.ts): one GET /ui/beat
//   every BEAT_MS from this page's event loop. A crashed or hung page, or a browser
//   error page, stops beating, and the kiosk unit restarts the browser.
// - With `?kiosk` in the URL, no mouse cursor on the touch screen.

export const BEAT_MS = 5_000;

export function startKiosk({ url = '/ui/beat', params = new URLSearchParams(location.search) } = {}) {
  if (params.has('kiosk')) document.documentElement.classList.add('kiosk');
  const beat = () => fetch(url, { cache: 'no-store' }).catch(() => undefined);
  void beat();
  return setInterval(beat, BEAT_MS);
}
