/**
 * The chain's one writer: every state change runs after every earlier one, so
 * blocks are processed one at a time whatever order callers arrive in.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private isClosed = false;

  get closed(): boolean {
    return this.isClosed;
  }

  /** Runs `fn` after every earlier state change; fails if the chain closed in the meantime. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(() => {
      if (this.isClosed) throw new Error('chain is closed');
      return fn();
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Refuses new work and waits for the work already queued. */
  async close(): Promise<void> {
    this.isClosed = true;
    await this.tail.catch(() => undefined);
  }
}
