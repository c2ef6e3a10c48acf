/**
 * Leader election on a `coordination.k8s.io/v1` Lease, following client-go's algorithm:
 * acquire when the Lease is free or its holder has not renewed for a whole lease duration
 * (measured on our clock, from when we last saw the record change, so clock skew between
 * nodes does not matter); renew every retry period; give up leadership when renewals have
 * failed for the renew deadline, which is shorter than the lease duration, so we stop
 * working before anyone else may start.
 *
 * Unlike the sig-storage library, losing the Lease does not exit the process: the
 * callbacks stop the work, and the elector campaigns again. On stop the Lease is
 * released so a standby takes over at once instead of after a lease duration.
 */
import { isConflict } from './errors';
import type { Logger } from '../ops/log';
import type { LeasePort, LeaseRecord } from '../ports/leases';

export interface ElectionTiming {
  /** @default 15000 */
  readonly leaseDurationMs?: number;
  /** @default 10000 */
  readonly renewDeadlineMs?: number;
  /** @default 2000 */
  readonly retryPeriodMs?: number;
}

export interface ElectionCallbacks {
  onStartedLeading(): void;
  /** Must stop all work; awaited before campaigning again, and before the Lease is released on stop. */
  onStoppedLeading(): Promise<void> | void;
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private observed?: LeaseRecord;
  private observedAt = 0;
  private lastContact = 0;
  /** Holder we last logged standing by for, so the log says it once per holder. */
  private standingByFor?: string;
  private wake?: () => void;
  private loopDone?: Promise<void>;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;

  constructor(
    readonly identity: string,
    private readonly port: LeasePort,
    private readonly callbacks: ElectionCallbacks,
    private readonly log: Logger,
    timing: ElectionTiming = {},
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {
    this.leaseDurationMs = timing.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = timing.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = timing.retryPeriodMs ?? 2_000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs && this.renewDeadlineMs > this.retryPeriodMs)) {
      throw new Error('leader election needs leaseDuration > renewDeadline > retryPeriod');
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** True while the Lease was read or written successfully within a lease duration. */
  get inContact(): boolean {
    return Date.now() - this.lastContact < this.leaseDurationMs;
  }

  /** Starts campaigning (and leading when elected) until {@link stop}. */
  start(): void {
    if (this.loopDone) return;
    this.loopDone = this.loop();
  }

  /** Stops, calls onStoppedLeading if leading, and releases the Lease. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loopDone;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      if (!(await this.tryAcquireOrRenew())) {
        await this.sleep(this.retryPeriodMs * (1 + Math.random() * 0.2));
        continue;
      }
      this.leading = true;
      this.standingByFor = undefined;
      this.log.info('became leader', { identity: this.identity });
      this.callbacks.onStartedLeading();
      let lastRenew = Date.now();
      while (!this.stopped) {
        await this.sleep(this.retryPeriodMs);
        if (this.stopped) break;
        const remaining = this.renewDeadlineMs - (Date.now() - lastRenew);
        if (await withTimeout(this.tryAcquireOrRenew(), remaining)) {
          lastRenew = Date.now();
        } else if (Date.now() - lastRenew >= this.renewDeadlineMs) {
          this.log.warn('lost leadership: could not renew the Lease in time', { identity: this.identity, renewDeadlineMs: this.renewDeadlineMs });
          break;
        }
      }
      this.leading = false;
      await this.callbacks.onStoppedLeading();
      if (this.stopped) await this.release();
    }
  }

  /** One election step; true when we hold the Lease afterwards. Never throws. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const durationSeconds = Math.ceil(this.leaseDurationMs / 1000);
    try {
      const current = await this.port.get();
      this.lastContact = Date.now();
      if (!current) {
        this.observe(await this.port.create({
          holderIdentity: this.identity,
          leaseDurationSeconds: durationSeconds,
          acquireTime: now,
          renewTime: now,
          leaseTransitions: 0,
        }));
        return true;
      }
      this.observe(current);
      const mine = current.holderIdentity === this.identity;
      const heldByOther = !!current.holderIdentity && !mine
        && this.observedAt + (current.leaseDurationSeconds ?? durationSeconds) * 1000 > Date.now();
      if (heldByOther) {
        if (this.standingByFor !== current.holderIdentity) {
          this.standingByFor = current.holderIdentity;
          this.log.info('standing by: another instance holds the Lease', { identity: this.identity, holder: current.holderIdentity });
        }
        return false;
      }
      this.observe(await this.port.update({
        holderIdentity: this.identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: mine ? current.acquireTime ?? now : now,
        renewTime: now,
        leaseTransitions: mine ? current.leaseTransitions ?? 0 : (current.leaseTransitions ?? 0) + 1,
        resourceVersion: current.resourceVersion,
      }));
      this.lastContact = Date.now();
      return true;
    } catch (error) {
      if (!isConflict(error)) {
        this.onError(error);
        this.log.warn('leader election request failed', { identity: this.identity, error });
      }
      return false;
    }
  }

  /** Gives the Lease up so a standby need not wait out the lease duration. */
  private async release(): Promise<void> {
    try {
      const current = await this.port.get();
      if (!current || current.holderIdentity !== this.identity) return;
      const now = new Date();
      await this.port.update({
        holderIdentity: undefined,
        leaseDurationSeconds: 1,
        acquireTime: now,
        renewTime: now,
        leaseTransitions: current.leaseTransitions,
        resourceVersion: current.resourceVersion,
      });
      this.log.info('released the Lease', { identity: this.identity });
    } catch (error) {
      this.log.warn('could not release the Lease; it expires on its own', { identity: this.identity, error });
    }
  }

  /** Remembers when the record last changed, by our clock. */
  private observe(record: LeaseRecord): void {
    const o = this.observed;
    const changed = !o || o.holderIdentity !== record.holderIdentity || o.resourceVersion !== record.resourceVersion
      || o.renewTime?.getTime() !== record.renewTime?.getTime();
    if (changed) {
      this.observed = record;
      this.observedAt = Date.now();
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** Lease times are MicroTime: RFC 3339 with exactly six fractional digits. */
export function formatMicroTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Reads a MicroTime/Time the client may hand back as a string or a Date. */
export function parseTime(value: unknown): Date | undefined {
  if (value instanceof Date) return value;
  if (typeof value !== 'string' || value === '') return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

async function withTimeout(promise: Promise<boolean>, ms: number): Promise<boolean> {
  if (ms <= 0) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
