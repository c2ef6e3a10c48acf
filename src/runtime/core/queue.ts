/**
 * The work queue between the informers and the reconcilers.
 *
 * - Keys, not objects: a worker reads the current object from the cache (level-triggered),
 *   so an event that arrives ten times is one unit of work.
 * - One key is never processed twice at once; a key added while it runs is run again
 *   right after (its object changed while we looked at it).
 * - At most `concurrency` keys run at once: a burst of claims is processed in parallel,
 *   without opening thousands of API requests and file operations together.
 * - A failed key is retried after an exponential delay (base * 2^(failures-1), capped). A
 *   fresh add (an update event, a relist) runs it at once but keeps its failure count.
 * - A key can be added after a delay (a slow recheck); of a delayed add and a retry the one
 *   due sooner wins, and a key already waiting to run is not delayed. Timers die with stop().
 */
import { Limiter } from './limiter';

export interface QueueOptions {
  readonly concurrency: number;
  /** Runs one key; throwing (or rejecting) schedules a retry. */
  readonly handler: (key: string) => Promise<void>;
  /** First retry delay in ms. @default 500 */
  readonly baseDelayMs?: number;
  /** Longest retry delay in ms. @default 300000 (5 minutes) */
  readonly maxDelayMs?: number;
  /** Called for every failure, with the delay before the retry. */
  readonly onFailure?: (key: string, error: unknown, failures: number, retryInMs: number) => void;
}

export class WorkQueue {
  /** Keys waiting for a worker; each has one call waiting in the limiter. */
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** Keys added after a delay (retries and {@link addAfter}): their timer and when it fires. */
  private readonly timers = new Map<string, { readonly timer: NodeJS.Timeout; readonly dueAt: number }>();
  private readonly workers: Limiter;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private accepting = true;

  constructor(private readonly options: QueueOptions) {
    if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
      throw new Error(`concurrency must be a positive integer, got ${options.concurrency}`);
    }
    this.workers = new Limiter(options.concurrency);
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 300_000;
  }

  /** Keys waiting to run (not counting running ones or ones waiting for a retry). */
  get depth(): number {
    return this.queued.size;
  }

  /** Keys running now. */
  get inFlight(): number {
    return this.active.size;
  }

  /** Keys waiting for a timer (a retry or a delayed add). */
  get retrying(): number {
    return this.timers.size;
  }

  /** Schedules a key to run as soon as a worker is free. No-op after {@link stop}. */
  add(key: string): void {
    if (!this.accepting) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.cancelTimer(key);
    this.queued.add(key);
    void this.workers.run(() => this.run(key));
  }

  /**
   * Adds a key once `ms` have passed. No-op when the key is waiting to run already or its
   * timer fires sooner; a later timer is replaced. No-op after {@link stop}.
   */
  addAfter(key: string, ms: number): void {
    if (!this.accepting || this.queued.has(key)) return;
    if (ms <= 0) return this.add(key);
    const dueAt = Date.now() + ms;
    const current = this.timers.get(key);
    if (current && current.dueAt <= dueAt) return;
    this.cancelTimer(key);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { timer, dueAt });
  }

  /** Failures recorded for a key since it last succeeded. */
  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Drops everything not yet running (used when leadership is lost). Keeps accepting. */
  clear(): void {
    for (const key of [...this.timers.keys()]) this.cancelTimer(key);
    // Their calls still wait in the limiter; they find their key gone and return at once.
    this.queued.clear();
    this.dirty.clear();
    this.failures.clear();
  }

  /** Stops taking work, drops what has not started, and resolves when running keys are done. */
  async stop(): Promise<void> {
    this.accepting = false;
    this.clear();
    await this.idle();
  }

  /** Takes work again after {@link stop}. */
  start(): void {
    this.accepting = true;
  }

  /** Resolves once nothing is queued or running (retry timers may still be waiting). */
  idle(): Promise<void> {
    return this.workers.idle();
  }

  private async run(key: string): Promise<void> {
    // Dropped by clear(), or already run by an earlier call for the same key.
    if (!this.queued.delete(key)) return;
    this.active.add(key);
    try {
      await this.options.handler(key);
      this.failures.delete(key);
    } catch (error) {
      const failures = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, failures);
      const delay = this.delayFor(failures);
      this.options.onFailure?.(key, error, failures, delay);
      this.addAfter(key, delay);
    } finally {
      this.active.delete(key);
      // Changed while it ran: look again now (this also replaces a pending retry).
      if (this.dirty.delete(key)) this.add(key);
    }
  }

  private delayFor(failures: number): number {
    const exponential = this.baseDelayMs * 2 ** Math.min(failures - 1, 30);
    return Math.min(this.maxDelayMs, exponential);
  }

  private cancelTimer(key: string): void {
    const current = this.timers.get(key);
    if (current) {
      clearTimeout(current.timer);
      this.timers.delete(key);
    }
  }
}
