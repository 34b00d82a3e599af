interface WarnLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

/** One line per kind of refusal in `everyMs`, with how many went unlogged since, for refusals a client can repeat at will. */
export class RefusalLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly log: WarnLogger,
    private readonly everyMs = 10_000,
    private readonly now: () => number = () => performance.now(),
  ) {}

  warn(kind: string, detail: Record<string, unknown>, message: string): void {
    const now = this.now();
    const seen = this.last.get(kind);
    if (seen && now - seen.at < this.everyMs) {
      seen.suppressed++;
      return;
    }
    if (this.last.size >= 256) this.last.clear();
    this.last.set(kind, { at: now, suppressed: 0 });
    const more = seen?.suppressed ? ` (and ${seen.suppressed} more like it in the last ${Math.round((now - seen.at) / 1000)} s)` : '';
    this.log.warn({ ...detail, ...(seen?.suppressed ? { suppressed: seen.suppressed } : {}) }, `${message}${more}`);
  }
}
