/**
 * The resize reconciler: its own queue keys (`resize/<namespace>/<name>`), fed by the claim
 * informer through {@link NfsResizer.claimChanged}, carrying out the decisions of resize.ts
 * through the patch port. Like the provisioner it holds no client and no informer.
 *
 * Failures:
 * - 409 Conflict (the claim changed under us, e.g. the user edited it again): retried
 *   quietly through the queue's backoff ({@link QuietRetry}); the retry reads the new object;
 * - other API errors and a class that cannot be read: a `VolumeResizeFailed` Warning, then
 *   exponential backoff (0.5 s doubling to 5 minutes);
 * - a grow that fails after the claim was marked (the backend, or the API refusing the PV):
 *   the same, and a `ControllerResizeError` condition on the claim saying why (written once
 *   per distinct message; the event of that write does not cut the backoff short);
 * - a target above the class maximum: `ControllerResizeInfeasible` on the claim, a Warning
 *   naming the maximum and the fix, and a slow retry (every `slowRetryMs`); lowering the
 *   request or raising the maximum retries at once.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { claimRef, ReportedError } from './controller';
import {
  claimNeedsResizeWork,
  decideResize,
  failedPatch,
  finishPatch,
  notOurs,
  RESIZE_REASONS,
  ResizePlan,
} from './resize';
import { formatQuantity } from '../../contract/quantity';
import { errorMessage, isConflict, isNotFound, statusCode } from '../core/errors';
import type { Logger } from '../ops/log';
import type { Metrics } from '../ops/metrics';
import type { EventSink } from '../ports/events';
import type { ClaimPatcher, Lookup, MergePatch } from '../ports/nfs-api';

/** A retry without a report: a conflict, settled by reading the claim again. */
export class QuietRetry extends Error {
  constructor(message: string, readonly cause?: unknown) {
    super(message);
    this.name = 'QuietRetry';
  }
}

export interface NfsResizerDeps {
  readonly provisionerName: string;
  readonly claims: Lookup<V1PersistentVolumeClaim>;
  readonly volumes: Lookup<V1PersistentVolume>;
  readonly classes: Lookup<V1StorageClass>;
  readonly api: ClaimPatcher;
  readonly events: EventSink;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Queues a key again after a delay (the slow retry of an infeasible resize). */
  readonly requeueAfter: (key: string, ms: number) => void;
  /** Retry interval of an infeasible resize, and how often its Warning repeats. @default 300000 (5 minutes) */
  readonly slowRetryMs?: number;
  readonly now?: () => Date;
  /**
   * Where the size is enforced, grown before the PV and the claim say so (the in-cluster
   * server's loop images). Subdir mode has none: there the record on the PV is the backend.
   */
  readonly backend?: ResizeBackend;
}

/** A volume store that enforces sizes: grows a volume to hold at least `bytes` (idempotent). */
export interface ResizeBackend {
  grow(pvName: string, bytes: bigint): Promise<void>;
}

const RESIZE = 'resize/';

export function resizeKey(namespace: string, name: string): string {
  return `${RESIZE}${namespace}/${name}`;
}

/** What the informer filter remembers of a claim. */
export interface ClaimSnapshot {
  readonly resourceVersion?: string;
  readonly request?: string;
  readonly capacity?: string;
  readonly resizeStatus: string;
}

export function snapshotOf(claim: V1PersistentVolumeClaim): ClaimSnapshot {
  return {
    resourceVersion: claim.metadata?.resourceVersion,
    request: claim.spec?.resources?.requests?.storage,
    capacity: claim.status?.capacity?.storage,
    resizeStatus: JSON.stringify([
      claim.status?.allocatedResources ?? null,
      claim.status?.allocatedResourceStatuses ?? null,
      (claim.status?.conditions ?? []).map((c) => [c.type, c.status, c.message ?? '']),
    ]),
  };
}

/**
 * The informer filter: queue a claim that needs resize work when it is new to us, when its
 * request or resize status changed, or when a relist shows it again unchanged (the periodic
 * resync). Metadata-only updates (our usage annotations) do not queue it.
 */
export function shouldQueue(previous: ClaimSnapshot | undefined, claim: V1PersistentVolumeClaim): boolean {
  if (!claimNeedsResizeWork(claim)) return false;
  if (!previous) return true;
  const now = snapshotOf(claim);
  return now.resourceVersion === previous.resourceVersion
    || now.request !== previous.request
    || now.capacity !== previous.capacity
    || now.resizeStatus !== previous.resizeStatus;
}

export class NfsResizer {
  private readonly seen = new Map<string, ClaimSnapshot>();
  /** resourceVersions we have patched past: the cache still showing one means a newer event is on its way. */
  private readonly superseded = new Map<string, string[]>();
  /** Infeasible resizes reported: message and when (the Warning repeats at the slow retry). */
  private readonly reported = new Map<string, { message: string; at: number }>();
  /**
   * The resourceVersion our last failure condition produced, per key: the informer event it
   * causes is ours, not news, and must not run the key before its backoff is due.
   */
  private readonly failureWrites = new Map<string, string>();
  private readonly slowRetryMs: number;
  private readonly now: () => Date;

  constructor(private readonly deps: NfsResizerDeps) {
    this.slowRetryMs = deps.slowRetryMs ?? 300_000;
    this.now = deps.now ?? (() => new Date());
  }

  // ---- informer hooks ----

  /** A claim was added or changed (or relisted): its key when it needs resize work. */
  claimChanged(claim: V1PersistentVolumeClaim): string | undefined {
    const { namespace, name } = claim.metadata ?? {};
    if (!namespace || !name) return undefined;
    const key = resizeKey(namespace, name);
    const previous = this.seen.get(key);
    this.seen.set(key, snapshotOf(claim));
    const ours = this.failureWrites.get(key);
    if (ours !== undefined && ours === claim.metadata?.resourceVersion) {
      // Once only: the same version relisted later is the periodic resync, queued as usual.
      this.failureWrites.delete(key);
      return undefined;
    }
    if (!shouldQueue(previous, claim)) return undefined;
    // Claims of other provisioners are dropped here already when their PV is known.
    const pv = this.deps.volumes.get(claim.spec!.volumeName!);
    if (pv && notOurs(claim, pv, this.deps.provisionerName)) return undefined;
    return key;
  }

  claimRemoved(claim: V1PersistentVolumeClaim): void {
    const key = resizeKey(claim.metadata?.namespace ?? '', claim.metadata?.name ?? '');
    this.seen.delete(key);
    this.superseded.delete(key);
    this.reported.delete(key);
    this.failureWrites.delete(key);
    // A slow retry still due finds no claim and does nothing.
  }

  /** A StorageClass changed (a new maximum): its claims that wait for a resize. */
  classChanged(sc: V1StorageClass): string[] {
    if (sc.provisioner !== this.deps.provisionerName) return [];
    return this.deps.claims.list()
      .filter((c) => claimNeedsResizeWork(c) && this.deps.volumes.get(c.spec!.volumeName!)?.spec?.storageClassName === sc.metadata?.name)
      .map((c) => resizeKey(c.metadata!.namespace!, c.metadata!.name!));
  }

  /** Every claim that needs resize work, for the first run after the caches synced. */
  allKeys(): string[] {
    return this.deps.claims.list().map((c) => this.claimChanged(c)).filter((k): k is string => k !== undefined);
  }

  /** Forgets the reported Warnings (leadership lost, shutdown); stopping the queue drops the slow retries. */
  stop(): void {
    this.reported.clear();
    this.failureWrites.clear();
  }

  // ---- the queue handler ----

  async handle(key: string): Promise<void> {
    const rest = key.slice(RESIZE.length);
    const slash = rest.indexOf('/');
    return this.sync(rest.slice(0, slash), rest.slice(slash + 1));
  }

  async sync(namespace: string, name: string): Promise<void> {
    const key = resizeKey(namespace, name);
    const claim = this.deps.claims.get(name, namespace);
    if (!claim) return;
    if (this.superseded.get(key)?.includes(claim.metadata?.resourceVersion ?? '')) return;
    const volume = claim.spec?.volumeName ? this.deps.volumes.get(claim.spec.volumeName) : undefined;
    const className = volume?.spec?.storageClassName;
    const decision = decideResize({
      claim,
      volume,
      storageClass: className ? this.deps.classes.get(className) : undefined,
      provisionerName: this.deps.provisionerName,
      now: this.now(),
    });

    switch (decision.action) {
      case 'skip':
        return;
      case 'fail':
        return this.fail(claim, Date.now(), decision.message);
      case 'clear':
        await this.patchStatus(claim, decision.patch);
        this.forgetInfeasible(key);
        this.deps.log.info('resize state cleared', { claim: `${namespace}/${name}` });
        return;
      case 'infeasible':
        return this.infeasible(key, claim, decision.message, decision.patch);
      case 'resize':
        this.forgetInfeasible(key);
        return this.resize(claim, volume!, decision.plan);
    }
  }

  private async resize(claim: V1PersistentVolumeClaim, volume: V1PersistentVolume, plan: ResizePlan): Promise<void> {
    const started = Date.now();
    const pvName = volume.metadata!.name!;
    const target = formatQuantity(plan.target);
    const fields = { claim: `${claim.metadata!.namespace}/${claim.metadata!.name}`, volume: pvName, from: formatQuantity(plan.from), to: target };

    // 1. Mark the claim. Without this step (an earlier run marked it) the Resizing event was sent then.
    let current = claim;
    if (plan.mark) {
      current = await this.patchStatus(current, plan.mark);
      this.deps.events.emit(claimRef(current), 'Normal', RESIZE_REASONS.resizing,
        `External resizer is resizing volume ${pvName} from ${fields.from} to ${target}`);
    }

    // 2. The backend first (a grow that fails leaves PV and claim at the old size, the claim saying why),
    // then the PV (in subdir mode the record on the PV is the only backend).
    if (this.deps.backend) {
      try {
        await this.deps.backend.grow(pvName, plan.target);
      } catch (error) {
        this.deps.metrics.error('filesystem');
        return this.failGrow(current, started, `resize volume "${pvName}" failed: cannot grow it on the server: ${errorMessage(error)}`, error);
      }
    }
    if (plan.volume) {
      try {
        await this.deps.api.patchVolume(pvName, plan.volume);
      } catch (error) {
        this.deps.metrics.error('api');
        return this.failGrow(current, started, `resize volume "${pvName}" failed: cannot set its capacity: ${errorMessage(error)}`, error);
      }
    }

    // 3. Finish on the claim.
    await this.patchStatus(current, finishPatch(current, plan.target));
    this.deps.events.emit(claimRef(current), 'Normal', RESIZE_REASONS.succeeded, `Resize volume succeeded: ${pvName} is now ${target}`);
    this.deps.metrics.operation('resize', 'succeeded', (Date.now() - started) / 1000);
    this.deps.log.info('resize succeeded', fields);
  }

  private async infeasible(key: string, claim: V1PersistentVolumeClaim, message: string, patch: MergePatch | undefined): Promise<void> {
    if (patch) await this.patchStatus(claim, patch);
    const last = this.reported.get(key);
    const due = !last || last.message !== message || Date.now() - last.at >= this.slowRetryMs;
    if (due) {
      this.reported.set(key, { message, at: Date.now() });
      this.deps.events.emit(claimRef(claim), 'Warning', RESIZE_REASONS.failed, message);
      this.deps.metrics.operation('resize', 'failed', 0);
      this.deps.log.warn('resize infeasible', { claim: `${claim.metadata?.namespace}/${claim.metadata?.name}`, message });
    }
    this.deps.requeueAfter(key, this.slowRetryMs);
  }

  /** Merge-patches the claim's status from the object the patch was computed on; returns the result. */
  private async patchStatus(claim: V1PersistentVolumeClaim, patch: MergePatch): Promise<V1PersistentVolumeClaim> {
    const { namespace, name, resourceVersion } = claim.metadata!;
    const key = resizeKey(namespace!, name!);
    try {
      const updated = await this.deps.api.patchClaimStatus(namespace!, name!, patch, resourceVersion);
      this.supersede(key, resourceVersion);
      return updated;
    } catch (error) {
      if (isConflict(error)) throw new QuietRetry(`claim ${namespace}/${name} changed while being resized; reading it again`, error);
      if (isNotFound(error)) throw new QuietRetry(`claim ${namespace}/${name} is gone`, error);
      this.deps.metrics.error('api');
      return this.fail(claim, Date.now(), `resize of claim ${namespace}/${name} failed: cannot update its status: ${errorMessage(error)}`, error);
    }
  }

  private supersede(key: string, resourceVersion: string | undefined): void {
    if (!resourceVersion) return;
    const list = this.superseded.get(key) ?? [];
    list.push(resourceVersion);
    // Only the last few matter: the cache moves forward.
    this.superseded.set(key, list.slice(-4));
  }

  private forgetInfeasible(key: string): void {
    // No slow retry is pending: this run came from the queue, which dropped it (or it fired).
    this.reported.delete(key);
  }

  /**
   * A grow that failed after the mark: the claim's status says why (ControllerResizeError), then
   * the Warning and the backoff of {@link fail}. Recording it is best effort: the claim may have
   * changed meanwhile (the retry computes the condition again from the new object) or the API
   * may be down (the Warning and the log still say why).
   */
  private async failGrow(claim: V1PersistentVolumeClaim, started: number, message: string, cause: unknown): Promise<never> {
    const patch = failedPatch(claim, message, this.now());
    if (patch) {
      const { namespace, name, resourceVersion } = claim.metadata!;
      try {
        const updated = await this.deps.api.patchClaimStatus(namespace!, name!, patch, resourceVersion);
        if (updated.metadata?.resourceVersion) this.failureWrites.set(resizeKey(namespace!, name!), updated.metadata.resourceVersion);
      } catch (error) {
        this.deps.log.warn('cannot record the failed resize on the claim', {
          claim: `${namespace}/${name}`, error: errorMessage(error), status: statusCode(error),
        });
      }
    }
    return this.fail(claim, started, message, cause);
  }

  private fail(claim: V1PersistentVolumeClaim, started: number, message: string, cause?: unknown): never {
    this.deps.metrics.operation('resize', 'failed', (Date.now() - started) / 1000);
    this.deps.events.emit(claimRef(claim), 'Warning', RESIZE_REASONS.failed, message);
    this.deps.log.warn('resize failed', { claim: `${claim.metadata?.namespace}/${claim.metadata?.name}`, message, status: statusCode(cause) });
    throw new ReportedError(message, cause);
  }
}
