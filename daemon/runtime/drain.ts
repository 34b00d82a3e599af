import type { Logger } from '../core/log.js';
import type { Store } from '../store/store.js';
import type { Outbox } from '../events/outbox.js';

/**
 * The stop's drain, before the flush: transactions a stopping service began without
 * awaiting them (a driver's last DeviceStatus; the store's single queue runs the no-op
 * after every transaction begun before it) and events still arriving, until the
 * inbound stream has been quiet for a moment (at most 5 s; what arrives later stays
 * with the broker's session for next start).
 */
export async function drain(s: {
  log: Logger;
  store: Store | undefined;
  outboxes: Iterable<Outbox>;
  /** Resolve when the queued work (executor, inbox) has settled. */
  idle(): Promise<void>;
  /** When the last message arrived. */
  lastDispatch(): number;
}): Promise<void> {
  const deadline = Date.now() + 5000;
  const outboxes = [...s.outboxes];
  for (;;) {
    await s.idle();
    await s.store?.get('SELECT 1');
    let left = 0;
    for (const o of outboxes) {
      const n = await o.flush(3000);
      left += n;
      if (n > 0) s.log.warn({ source: o.source, left: n }, `${n} events not yet acknowledged; they are sent at next start`);
    }
    if (left > 0) break;
    if (Date.now() - s.lastDispatch() >= 200 && outboxes.every((o) => o.backlog() === 0)) break;
    if (Date.now() > deadline) {
      s.log.warn('events still arriving 5 s into the stop; the rest is applied at next start');
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
