/** What the kiosk's watchdog reads at `GET /ui/heartbeat`. */
export interface HeartbeatStatus {
  /** Beats since laned started. */
  beats: number;
  /** Since the last beat; null before the first. */
  ageMs: number | null;
  /** Since laned started counting (its HTTP server came up). */
  uptimeMs: number;
}

/**
 * The touch page's sign of life: the page asks `GET /ui/beat` every few seconds from
 * its own event loop (ui-static/js/heartbeat.js), so a crashed, hung or error page
 * stops beating. The kiosk unit's watchdog (image/kiosk/laned-kiosk) reads the age
 * and restarts the browser. Monotonic time: a Pi has no RTC, wall time jumps.
 */
export class UiHeartbeat {
  private beats = 0;
  private last: number | undefined;
  private readonly since: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.since = now();
  }

  beat(): { beats: number } {
    this.beats += 1;
    this.last = this.now();
    return { beats: this.beats };
  }

  status(): HeartbeatStatus {
    const now = this.now();
    return { beats: this.beats, ageMs: this.last === undefined ? null : Math.round(now - this.last), uptimeMs: Math.round(now - this.since) };
  }
}
