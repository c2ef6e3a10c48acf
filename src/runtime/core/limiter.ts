/**
 * Runs at most `size` async calls at once; the others wait in arrival order.
 *
 * The one concurrency bound of the runtime: the work queue's workers, the event sender, the
 * usage walk's file system calls and the local agent's PV creates all go through one of these.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly idleWaiters: Array<() => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`limiter size must be a positive integer, got ${size}`);
  }

  /** Calls running now. */
  get running(): number {
    return this.active;
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `fn` when a slot is free (at once, synchronously, when one is free now). */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    // A finished call hands its slot straight to the oldest waiter: were the slot freed
    // instead, a newcomer could take it before the woken waiter runs, and both would run.
    if (this.active >= this.size) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.release();
    }
  }

  /** Resolves once nothing runs or waits. */
  idle(): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private release(): void {
    this.active--;
    if (this.active === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

/** Runs `fn` over `items`, at most `limit` at once; rejects with the first failure once all have settled. */
export async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  const limiter = new Limiter(limit);
  const errors: unknown[] = [];
  await Promise.all(items.map((item) => limiter.run(() => fn(item)).catch((error) => { errors.push(error); })));
  if (errors.length > 0) throw errors[0];
}
