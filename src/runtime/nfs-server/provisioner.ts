/**
 * The in-cluster server's provisioner: claims of classes naming it become volumes of the
 * volume manager (one export each, kept as its `--quota` mode says), served at `<clusterIP>:/<pv>`.
 * The decisions are subdir mode's (nfs/provision.ts: which claims are ours and the PV's
 * shape; nfs/delete.ts: delete per the onDelete recorded on the PV); only what carries them
 * out differs. The class's pathPattern does not apply: every volume is its own export.
 *
 * Crash safety: the volume manager's create is idempotent, so a PV that was never created
 * is created by the next run; a volume whose claim went away before its PV existed is
 * removed by the sweep after the caches synced ({@link ServerProvisioner.sweepOrphans}).
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { pseudoPathOf } from './ganesha-config';
import type { NewVolume } from './volume-manager';
import { parseQuantity } from '../../contract/quantity';
import { errorMessage } from '../core/errors';
import { claimKey, claimRef, parseKey, ReportedError, volumeKey, volumeRef } from '../nfs/controller';
import { decideDelete, isOurVolume } from '../nfs/delete';
import { buildVolume, claimClassName, decideProvision, ProvisionerIdentity, requestedProvisioner, volumeNameFor } from '../nfs/provision';
import type { Logger } from '../ops/log';
import type { Metrics, OperationKind } from '../ops/metrics';
import type { EventSink, ObjectRef } from '../ports/events';
import type { Lookup, VolumeWriter } from '../ports/nfs-api';

/** What the provisioner needs of the volume manager (volume-manager.ts). */
export interface ServerVolumes {
  /** What a claim of `claimBytes` asks the store for (a loop image adds XFS's share). */
  requestForClaim(claimBytes: number): number;
  create(pv: string, spec: NewVolume): Promise<unknown>;
  remove(pv: string): Promise<'removed' | 'missing'>;
  list(): Promise<string[]>;
}

export const SERVER_REASONS = {
  provisioning: 'Provisioning',
  provisioningSucceeded: 'ProvisioningSucceeded',
  provisioningFailed: 'ProvisioningFailed',
  volumeFailedDelete: 'VolumeFailedDelete',
  volumeRemoved: 'VolumeRemoved',
} as const;

/** The export path every PV of the server is relative to: its pseudo root. */
export const PSEUDO_ROOT = '/';

/** The queue key of the sweep of volumes left without a claim or PV. */
export const SWEEP_ORPHANS_KEY = 'sweep-orphans';

export interface ServerProvisionerDeps {
  /** `server` is the Service's cluster IP; `exportPath` is {@link PSEUDO_ROOT}. */
  readonly identity: ProvisionerIdentity;
  readonly claims: Lookup<V1PersistentVolumeClaim>;
  readonly volumes: Lookup<V1PersistentVolume>;
  readonly classes: Lookup<V1StorageClass>;
  readonly api: VolumeWriter;
  readonly store: ServerVolumes;
  readonly events: EventSink;
  readonly metrics: Metrics;
  readonly log: Logger;
}

const ON_DELETE_DONE = {
  DELETE: 'its data was deleted',
  ARCHIVE: 'its data was archived on the server',
  RETAIN: 'its data and record were kept on the server',
} as const;

export class ServerProvisioner {
  /** PVs we created that the cache has not shown yet (a quick re-sync must not provision twice). */
  private readonly created = new Set<string>();

  constructor(private readonly deps: ServerProvisionerDeps) {}

  // ---- informer hooks ----

  claimChanged(claim: V1PersistentVolumeClaim): string | undefined {
    const { namespace, name } = claim.metadata ?? {};
    if (!namespace || !name || requestedProvisioner(claim) !== this.deps.identity.provisionerName) return undefined;
    return claimKey(namespace, name);
  }

  volumeChanged(pv: V1PersistentVolume): string | undefined {
    const name = pv.metadata?.name;
    if (!name || !isOurVolume(pv, this.deps.identity.provisionerName)) return undefined;
    this.created.delete(name);
    return volumeKey(name);
  }

  /** A StorageClass appeared or changed: the claims that may have been waiting for it. */
  classChanged(sc: V1StorageClass): string[] {
    if (sc.provisioner !== this.deps.identity.provisionerName) return [];
    return this.deps.claims.list()
      .filter((c) => claimClassName(c) === sc.metadata?.name && !c.spec?.volumeName)
      .map((c) => this.claimChanged(c))
      .filter((k): k is string => k !== undefined);
  }

  /** Every key, for the first run after the caches synced: the sweep, every PV, every claim. */
  allKeys(): string[] {
    const keys = [
      ...this.deps.volumes.list().map((pv) => this.volumeChanged(pv)),
      ...this.deps.claims.list().map((claim) => this.claimChanged(claim)),
    ];
    return [SWEEP_ORPHANS_KEY, ...keys.filter((k): k is string => k !== undefined)];
  }

  // ---- the queue handler ----

  async handle(key: string): Promise<void> {
    if (key === SWEEP_ORPHANS_KEY) return this.sweepOrphans();
    const target = parseKey(key);
    if (target?.kind === 'claim') return this.syncClaim(target.namespace, target.name);
    if (target?.kind === 'volume') return this.syncVolume(target.name);
  }

  async syncClaim(namespace: string, name: string): Promise<void> {
    const claim = this.deps.claims.get(name, namespace);
    if (!claim) return;
    const pvName = volumeNameFor(claim);
    const className = claimClassName(claim);
    const storageClass = className ? this.deps.classes.get(className) : undefined;
    const decision = decideProvision({
      claim,
      storageClass,
      existingVolume: this.deps.volumes.get(pvName) ?? (this.created.has(pvName) ? { metadata: { name: pvName } } : undefined),
      provisionerName: this.deps.identity.provisionerName,
    });
    const started = Date.now();
    if (decision.action === 'skip') return;
    const ref = claimRef(claim);
    if (decision.action === 'fail') this.fail('provision', started, ref, SERVER_REASONS.provisioningFailed, decision.message);

    // Every volume is its own export, at the pseudo path named after the PV.
    const plan = { ...decision.plan, relativePath: pseudoPathOf(pvName).slice(1) };
    this.deps.events.emit(ref, 'Normal', SERVER_REASONS.provisioning, `External provisioner is provisioning volume for claim "${namespace}/${name}"`);
    try {
      await this.deps.store.create(pvName, {
        requestBytes: this.deps.store.requestForClaim(Number(parseQuantity(plan.capacity))),
        onDelete: plan.onDelete,
        uid: 0,
        gid: 0,
        mode: plan.directoryMode,
      });
    } catch (error) {
      this.deps.metrics.error('filesystem');
      this.fail('provision', started, ref, SERVER_REASONS.provisioningFailed, `making the volume failed: ${errorMessage(error)}`, error);
    }
    try {
      await this.deps.api.createVolume(buildVolume(claim, storageClass!, plan, this.deps.identity));
    } catch (error) {
      this.deps.metrics.error('api');
      // The volume stays: the retry hands it to the PV it creates (or the sweep removes it).
      this.fail('provision', started, ref, SERVER_REASONS.provisioningFailed, `creating PersistentVolume ${pvName} failed: ${errorMessage(error)}`, error);
    }
    this.created.add(pvName);
    this.deps.events.emit(ref, 'Normal', SERVER_REASONS.provisioningSucceeded, `Successfully provisioned volume ${pvName}`);
    this.deps.metrics.operation('provision', 'succeeded', (Date.now() - started) / 1000);
    this.deps.log.info('provisioned', { claim: `${namespace}/${name}`, volume: pvName, capacity: plan.capacity });
  }

  async syncVolume(name: string): Promise<void> {
    const pv = this.deps.volumes.get(name);
    if (!pv) return;
    const decision = decideDelete(pv, this.deps.identity);
    if (decision.action === 'skip') return;
    const started = Date.now();
    const ref = volumeRef(pv);
    if (decision.action === 'fail') this.fail('delete', started, ref, SERVER_REASONS.volumeFailedDelete, decision.message);
    let outcome: 'removed' | 'missing';
    try {
      // The volume manager disposes of the data per the onDelete it recorded with this PV's plan.
      outcome = await this.deps.store.remove(name);
    } catch (error) {
      this.deps.metrics.error('filesystem');
      this.fail('delete', started, ref, SERVER_REASONS.volumeFailedDelete, `removing the volume failed: ${errorMessage(error)}`, error);
    }
    try {
      await this.deps.api.deleteVolume(name, pv.metadata?.uid);
    } catch (error) {
      this.deps.metrics.error('api');
      this.fail('delete', started, ref, SERVER_REASONS.volumeFailedDelete, `deleting PersistentVolume ${name} failed: ${errorMessage(error)}`, error);
    }
    const message = outcome === 'missing'
      ? `volume ${name} was not on the server (removed already)`
      : `removed the export of ${name} (and its mount or project limit); ${ON_DELETE_DONE[decision.onDelete]} (onDelete ${decision.onDelete})`;
    // As in subdir mode: a plain deletion is only logged and counted (an Event is a write
    // per volume, on a PV gone a moment later); where kept data is, or a missing volume, is sent.
    if (decision.onDelete !== 'DELETE' || outcome === 'missing') this.deps.events.emit(ref, 'Normal', SERVER_REASONS.volumeRemoved, message);
    this.deps.metrics.operation('delete', 'succeeded', (Date.now() - started) / 1000);
    this.deps.log.info('deleted', { volume: name, onDelete: decision.onDelete, outcome });
  }

  /**
   * Removes volumes that neither a PV nor a claim owns: made for a claim deleted before its
   * PV was created (a crash or a failed create in between). Runs once the caches synced.
   */
  async sweepOrphans(): Promise<void> {
    const volumes = await this.deps.store.list();
    // Read after the volumes are listed: a volume is made only for a claim already in the
    // cache, so every listed volume whose claim lives is owned here (read before, a claim
    // that arrived in between, its create already started, would be swept).
    const owned = new Set(this.deps.claims.list().map(volumeNameFor));
    for (const pv of volumes) {
      if (this.deps.volumes.get(pv) || this.created.has(pv) || owned.has(pv)) continue;
      await this.deps.store.remove(pv);
      this.deps.log.info('removed a volume whose claim was deleted before its PV was created', { volume: pv });
    }
  }

  private fail(kind: OperationKind, started: number, ref: ObjectRef, reason: string, message: string, cause?: unknown): never {
    this.deps.metrics.operation(kind, 'failed', (Date.now() - started) / 1000);
    this.deps.events.emit(ref, 'Warning', reason, message);
    this.deps.log.warn(`${kind} failed`, { object: `${ref.kind}/${ref.namespace ? ref.namespace + '/' : ''}${ref.name}`, reason, message });
    throw new ReportedError(message, cause);
  }
}
