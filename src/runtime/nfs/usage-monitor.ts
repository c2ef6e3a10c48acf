/**
 * The usage pass, every `intervalMs` while leading: measure each of our bound volumes
 * (usage.ts), publish the numbers (a gauge per volume, annotations on the claim when they
 * moved: usage-report.ts), and act on autoGrow policies (auto-grow.ts). A raised request
 * is an ordinary claim update: the resize reconciler takes it from there.
 *
 * Passes never overlap; the next starts `intervalMs` after the last one ended. Only claims
 * bound to our PVs (claimRef uid match) are measured or written.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { AUTO_GROW_REASONS, decideAutoGrow } from './auto-grow';
import { claimRef } from './controller';
import { isOurVolume, recordedDirectory } from './delete';
import { capacityBytes, classMaximum } from './resize';
import type { Measurement, PassResult, VolumeDirectory } from './usage';
import { usageAnnotationPatch, UsageReportOptions } from './usage-report';
import { errorMessage, isConflict, statusCode } from '../core/errors';
import type { Logger } from '../ops/log';
import type { Metrics } from '../ops/metrics';
import type { EventSink } from '../ports/events';
import type { ClaimPatcher, Lookup } from '../ports/nfs-api';

/** Measures volumes (usage.ts walks directories; the in-cluster server asks statvfs). */
export interface VolumeMeter {
  /** Measures the volumes, as far as the pass's time allows. */
  pass(volumes: readonly VolumeDirectory[]): Promise<PassResult>;
  /** The last measurement of a volume. */
  get(name: string): Measurement | undefined;
}

export interface UsageMonitorDeps {
  readonly provisionerName: string;
  readonly claims: Lookup<V1PersistentVolumeClaim>;
  readonly volumes: Lookup<V1PersistentVolume>;
  readonly classes: Lookup<V1StorageClass>;
  readonly meter: VolumeMeter;
  readonly api: ClaimPatcher;
  readonly events: EventSink;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Time between the end of one pass and the start of the next. */
  readonly intervalMs: number;
  readonly report?: UsageReportOptions;
}

interface Target extends VolumeDirectory {
  readonly namespace: string;
  readonly claimName: string;
  readonly claimUid: string;
  readonly className?: string;
}

export class UsageMonitor {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private active = false;
  /** Set by stop(): a pass in progress writes nothing more (we may no longer be the leader). */
  private stopping = false;
  /** Invalid policies reported (claim uid + message): said once per process, not every pass. */
  private readonly invalidReported = new Set<string>();

  constructor(private readonly deps: UsageMonitorDeps) {}

  /** Starts passing: the first pass at once. */
  start(): void {
    if (this.active) return;
    this.active = true;
    this.stopping = false;
    this.schedule(0);
  }

  /** Stops passing; resolves when a running pass has ended. */
  async stop(): Promise<void> {
    this.active = false;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Our bound volumes and their claims, from the caches. */
  targets(): Target[] {
    const targets: Target[] = [];
    for (const pv of this.deps.volumes.list()) {
      if (!isOurVolume(pv, this.deps.provisionerName) || !pv.spec?.nfs || pv.status?.phase !== 'Bound') continue;
      const ref = pv.spec.claimRef;
      const relativePath = recordedDirectory(pv);
      if (!ref?.name || !ref.namespace || !ref.uid || !relativePath) continue;
      const claim = this.deps.claims.get(ref.name, ref.namespace);
      if (claim?.metadata?.uid !== ref.uid) continue;
      targets.push({
        name: pv.metadata!.name!,
        relativePath,
        namespace: ref.namespace,
        claimName: ref.name,
        claimUid: ref.uid,
        className: pv.spec.storageClassName,
      });
    }
    return targets;
  }

  /** One pass: measure, publish, grow. */
  async runPass(): Promise<void> {
    const targets = this.targets();
    const result = await this.deps.meter.pass(targets);
    this.deps.metrics.usagePass(result.seconds, result.partial.length + result.notReached.length);
    const present = new Set(targets.map((t) => t.name));
    for (const volume of this.deps.metrics.measuredVolumes) if (!present.has(volume)) this.deps.metrics.forgetVolumeUsage(volume);
    for (const failure of result.failed) {
      this.deps.metrics.error('filesystem');
      this.deps.log.warn('cannot measure a volume', { volume: failure.name, error: failure.error });
    }
    if (result.partial.length + result.notReached.length > 0) {
      this.deps.log.warn('usage pass ran out of time; some values are lower bounds or older', {
        partial: result.partial.length, notReached: result.notReached.length, seconds: result.seconds,
      });
    }
    for (const target of targets) {
      if (this.stopping) break;
      await this.publish(target);
    }
  }

  private async publish(target: Target): Promise<void> {
    const measurement = this.deps.meter.get(target.name);
    if (!measurement) return;
    this.deps.metrics.volumeUsage(target.name, target.namespace, target.claimName, measurement.bytes);
    // The claim as it is now (the pass took a while).
    let claim = this.deps.claims.get(target.claimName, target.namespace);
    if (claim?.metadata?.uid !== target.claimUid) return;
    const where = { claim: `${target.namespace}/${target.claimName}`, volume: target.name };

    if (measurement.complete) {
      const patch = usageAnnotationPatch(claim, measurement.bytes, measurement.measuredAt, capacityBytes(claim), this.deps.report);
      if (patch) {
        try {
          // The result carries the new resourceVersion that a growth patch must name.
          const updated = await this.deps.api.patchClaim(target.namespace, target.claimName, patch);
          if (updated?.metadata?.uid === target.claimUid) claim = updated;
        } catch (error) {
          this.deps.metrics.error('api');
          this.deps.log.warn('cannot write the usage annotations', { ...where, error: errorMessage(error), status: statusCode(error) });
        }
      }
    }

    const sc = target.className ? this.deps.classes.get(target.className) : undefined;
    const max = classMaximum(sc, this.deps.provisionerName);
    const decision = decideAutoGrow({ claim, used: measurement.bytes, classMax: max.ok ? max.bytes : undefined });
    const ref = claimRef(claim);
    try {
      switch (decision.action) {
        case 'none':
          return;
        case 'invalid': {
          const id = `${target.claimUid}\u0000${decision.message}`;
          if (this.invalidReported.has(id)) return;
          this.invalidReported.add(id);
          this.deps.events.emit(ref, 'Warning', AUTO_GROW_REASONS.invalid, decision.message);
          return;
        }
        case 'grow':
          // With the claim's resourceVersion: a user's edit made meanwhile wins, the next pass decides again.
          await this.deps.api.patchClaim(target.namespace, target.claimName, decision.patch, claim.metadata?.resourceVersion);
          this.deps.events.emit(ref, 'Normal', AUTO_GROW_REASONS.growing, decision.message);
          this.deps.log.info('autoGrow raised a request', { ...where, message: decision.message });
          return;
        case 'at-max':
          // The marker first: if it cannot be written, no Warning, and the next pass tries again.
          await this.deps.api.patchClaim(target.namespace, target.claimName, decision.patch);
          this.deps.events.emit(ref, 'Warning', AUTO_GROW_REASONS.atMax, decision.message);
          this.deps.log.warn('autoGrow reached its max', { ...where, message: decision.message });
          return;
      }
    } catch (error) {
      if (isConflict(error)) return;
      this.deps.metrics.error('api');
      this.deps.log.warn('autoGrow could not update the claim', { ...where, error: errorMessage(error), status: statusCode(error) });
    }
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.runPass()
        .catch((error) => this.deps.log.warn('usage pass failed', { error: errorMessage(error) }))
        .finally(() => {
          this.running = undefined;
          if (this.active) this.schedule(this.deps.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }
}
