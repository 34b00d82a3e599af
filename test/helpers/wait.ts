/**
 * Bounded waits for a condition, polled: what a test uses where nothing emits an
 * event it could await (a row in another process's SQLite file, an HTTP answer).
 */

const POLL_MS = 20;

/** Resolves once `cond` holds; rejects naming `what` after `timeoutMs`. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  await eventually(async () => ((await cond()) ? true : undefined), what, timeoutMs);
}

/** Resolves with the first value `probe` gives that is not undefined; rejects naming `what` after `timeoutMs`. */
export async function eventually<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got !== undefined) return got;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
