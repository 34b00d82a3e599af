interface Batch {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // every caller gets the same promise; one that drops it must not crash the process
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * Group commit: every write requested before the next flush starts shares one
 * transaction and one promise, settled after COMMIT. Flushes never overlap,
 * so transactions commit in request order.
 */
export class GroupCommit {
  private next: Batch | undefined;
  private running: Promise<void> | undefined;

  /** `commit` writes everything dirty at the moment it is called, in one transaction. */
  constructor(private readonly commit: () => Promise<void>) {}

  /** Resolves once the writes made before this call are committed. */
  request(): Promise<void> {
    if (!this.next) {
      this.next = newBatch();
      if (!this.running) setImmediate(() => this.run());
    }
    return this.next.promise;
  }

  /** Resolves when nothing is pending or running. */
  async drain(): Promise<void> {
    while (this.next || this.running) {
      await (this.running ?? this.next?.promise)?.catch(() => undefined);
    }
  }

  private run(): void {
    const batch = this.next;
    if (!batch || this.running) return;
    this.next = undefined;
    this.running = this.commit().then(
      () => batch.resolve(),
      (err: Error) => batch.reject(err),
    );
    void this.running.then(() => {
      this.running = undefined;
      if (this.next) setImmediate(() => this.run());
    });
  }
}
