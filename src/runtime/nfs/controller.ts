/**
 * The NFS subdir reconciler: turns queue keys into decisions (provision.ts, delete.ts) and
 * carries them out through ports (file system, API writes, events). It holds no client and
 * no informer, so tests drive it with in-memory caches and a real temporary directory.
 *
 * Every step is idempotent, so a crash anywhere is finished by the next run:
 * - directory made, no PV yet     -> the directory is reused, the PV created (or, if the
 *                                    claim went away, removed: see unfinished.ts);
 * - PV created, claim not bound   -> the PV exists, nothing more to do (Kubernetes binds);
 * - PV Released, directory gone   -> reported on the PV, and the PV is deleted.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { decideDelete, isOurVolume, recordedDirectory } from './delete';
import { DirectoryIndex } from './directory-index';
import { FsError } from './fs';
import { buildVolume, claimClassName, decideProvision, ProvisionerIdentity, ProvisionPlan, requestedProvisioner, volumeNameFor } from './provision';
import { decideUnfinished } from './unfinished';
import { errorMessage } from '../core/errors';
import type { Logger } from '../ops/log';
import type { Metrics, OperationKind } from '../ops/metrics';
import type { EventSink, EventType, ObjectRef } from '../ports/events';
import type { Lookup, VolumeWriter } from '../ports/nfs-api';
import type { RetainedDirectory, UnfinishedVolume, VolumeFs } from '../ports/volume-fs';

/** Event reasons. The first four are the ones every external provisioner uses. */
const REASONS = {
  provisioning: 'Provisioning',
  provisioningSucceeded: 'ProvisioningSucceeded',
  provisioningFailed: 'ProvisioningFailed',
  volumeFailedDelete: 'VolumeFailedDelete',
  directoryDeleted: 'DirectoryDeleted',
  directoryArchived: 'DirectoryArchived',
  directoryRetained: 'DirectoryRetained',
  directoryMissing: 'DirectoryMissing',
} as const;

export interface NfsControllerDeps {
  readonly identity: ProvisionerIdentity;
  /** Shown in messages: where the export is mounted. */
  readonly root: string;
  readonly claims: Lookup<V1PersistentVolumeClaim>;
  readonly volumes: Lookup<V1PersistentVolume>;
  readonly classes: Lookup<V1StorageClass>;
  readonly api: VolumeWriter;
  readonly fs: VolumeFs;
  readonly events: EventSink;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** `Provisioning` is sent only for an attempt still running after this long. @default 5000 */
  readonly announceAfterMs?: number;
}

/**
 * A quick attempt ends in `ProvisioningSucceeded` or `ProvisioningFailed`, which say all a
 * user acts on; `Provisioning` before them would only cost an Event write per claim.
 */
const ANNOUNCE_AFTER_MS = 5_000;

/** Thrown after a failure has been reported on the object; the queue retries with backoff. */
export class ReportedError extends Error {
  constructor(message: string, readonly cause?: unknown) {
    super(message);
    this.name = 'ReportedError';
  }
}

/** Why an existing directory may be handed to a claim (see {@link NfsController.reuseOf}). */
type Reuse = { readonly kind: 'earlier' } | { readonly kind: 'kept'; readonly records: readonly RetainedDirectory[] };

const CLAIM = 'claim/';
const VOLUME = 'volume/';
/** The key of the sweep of provisioning notes an earlier run left (see {@link NfsController.sweepUnfinished}). */
export const SWEEP_KEY = 'sweep-unfinished';

export function claimKey(namespace: string, name: string): string {
  return `${CLAIM}${namespace}/${name}`;
}

export function volumeKey(name: string): string {
  return `${VOLUME}${name}`;
}

/** What a {@link claimKey} or {@link volumeKey} names; undefined for any other key. */
export function parseKey(key: string):
  | { readonly kind: 'claim'; readonly namespace: string; readonly name: string }
  | { readonly kind: 'volume'; readonly name: string }
  | undefined {
  if (key.startsWith(CLAIM)) {
    const rest = key.slice(CLAIM.length);
    const slash = rest.indexOf('/');
    return { kind: 'claim', namespace: rest.slice(0, slash), name: rest.slice(slash + 1) };
  }
  if (key.startsWith(VOLUME)) return { kind: 'volume', name: key.slice(VOLUME.length) };
  return undefined;
}

export class NfsController {
  /** Directories of all our volumes, plus reservations for ones being provisioned. */
  readonly index = new DirectoryIndex();
  /** PVs we created that the cache has not shown yet (so a quick re-sync does not provision twice). */
  private readonly created = new Set<string>();
  /** Directories made for claims whose PV is not created yet: cleaned if the claim goes away. */
  private readonly unfinished = new Map<string, { relativePath: string; pvName: string }>();
  /** Volumes being provisioned at this moment: the sweep leaves their notes to that run. */
  private readonly provisioning = new Set<string>();

  constructor(private readonly deps: NfsControllerDeps) {}

  // ---- informer hooks: keep the index current and say which key to queue ----

  /** A claim changed: its key, if it may concern us. */
  claimChanged(claim: V1PersistentVolumeClaim): string | undefined {
    const { namespace, name } = claim.metadata ?? {};
    if (!namespace || !name) return undefined;
    if (requestedProvisioner(claim) !== this.deps.identity.provisionerName && !this.unfinished.has(claimKey(namespace, name))) return undefined;
    return claimKey(namespace, name);
  }

  /** A claim was deleted: its key if we may have to clean up after it. */
  claimRemoved(claim: V1PersistentVolumeClaim): string | undefined {
    const key = claimKey(claim.metadata?.namespace ?? '', claim.metadata?.name ?? '');
    return this.unfinished.has(key) ? key : undefined;
  }

  /** A PV changed: index its directory; its key when it is ours. */
  volumeChanged(pv: V1PersistentVolume): string | undefined {
    const name = pv.metadata?.name;
    if (!name || !isOurVolume(pv, this.deps.identity.provisionerName)) return undefined;
    this.created.delete(name);
    const dir = recordedDirectory(pv);
    if (dir) this.index.set(name, dir);
    return volumeKey(name);
  }

  volumeRemoved(pv: V1PersistentVolume): void {
    const name = pv.metadata?.name;
    if (name && isOurVolume(pv, this.deps.identity.provisionerName)) this.index.remove(name);
  }

  /** A StorageClass appeared or changed: claims that may have been waiting for it. */
  classChanged(sc: V1StorageClass): string[] {
    if (sc.provisioner !== this.deps.identity.provisionerName) return [];
    return this.deps.claims.list()
      .filter((c) => !c.spec?.volumeName && claimClassName(c) === sc.metadata?.name)
      .map((c) => this.claimChanged(c))
      .filter((k): k is string => k !== undefined);
  }

  /** Every key the caches hold, and the sweep of notes, for the first run after the caches synced. */
  allKeys(): string[] {
    const keys: string[] = [SWEEP_KEY];
    for (const pv of this.deps.volumes.list()) {
      const key = this.volumeChanged(pv);
      if (key) keys.push(key);
    }
    for (const claim of this.deps.claims.list()) {
      const key = this.claimChanged(claim);
      if (key) keys.push(key);
    }
    return keys;
  }

  // ---- the queue handler ----

  async handle(key: string): Promise<void> {
    if (key === SWEEP_KEY) return this.sweepUnfinished();
    const target = parseKey(key);
    if (target?.kind === 'claim') return this.syncClaim(target.namespace, target.name);
    if (target?.kind === 'volume') return this.syncVolume(target.name);
  }

  async syncClaim(namespace: string, name: string): Promise<void> {
    const key = claimKey(namespace, name);
    const claim = this.deps.claims.get(name, namespace);
    if (!claim) return this.cleanUnfinished(key);

    const className = claimClassName(claim);
    const pvName = volumeNameFor(claim);
    const decision = decideProvision({
      claim,
      storageClass: className ? this.deps.classes.get(className) : undefined,
      existingVolume: this.deps.volumes.get(pvName) ?? (this.created.has(pvName) ? { metadata: { name: pvName } } : undefined),
      provisionerName: this.deps.identity.provisionerName,
    });
    if (decision.action === 'skip') return;
    const started = Date.now();
    if (decision.action === 'fail') {
      this.fail('provision', started, claimRef(claim), REASONS.provisioningFailed, decision.message);
    }
    return this.provision(claim, decision.plan, started);
  }

  async syncVolume(name: string): Promise<void> {
    const pv = this.deps.volumes.get(name);
    if (!pv) return;
    const decision = decideDelete(pv, this.deps.identity);
    if (decision.action === 'skip') return;
    const started = Date.now();
    const ref = volumeRef(pv);
    if (decision.action === 'fail') this.fail('delete', started, ref, REASONS.volumeFailedDelete, decision.message);

    const { relativePath, onDelete } = decision;
    const where = `${this.deps.root}/${relativePath}`;
    const overlap = this.index.conflict(relativePath, name);
    if (overlap && onDelete !== 'RETAIN') {
      this.fail('delete', started, ref, REASONS.volumeFailedDelete,
        `directory ${where} overlaps ${overlap.relativePath} of PersistentVolume ${overlap.pvName}; refusing to ${onDelete.toLowerCase()} it: resolve by hand`);
    }

    let outcome: { reason: string; type: EventType; message: string };
    try {
      const missing = { reason: REASONS.directoryMissing, type: 'Warning' as const, message: `directory ${where} was already gone; deleting the PersistentVolume anyway` };
      if (onDelete === 'RETAIN') {
        await this.noteKept(pv, relativePath);
        outcome = { reason: REASONS.directoryRetained, type: 'Normal', message: `onDelete is RETAIN: kept ${where}` };
      } else if (onDelete === 'DELETE') {
        const result = await this.deps.fs.removeDirectory(relativePath);
        outcome = result === 'missing' ? missing : { reason: REASONS.directoryDeleted, type: 'Normal', message: `deleted ${where}` };
      } else {
        const result = await this.deps.fs.archiveDirectory(relativePath, name, (candidate) => this.index.conflict(candidate, name) !== undefined);
        outcome = result.outcome === 'missing' ? missing
          : { reason: REASONS.directoryArchived, type: 'Normal', message: `archived ${where} as ${this.deps.root}/${result.archivedAs}` };
      }
      if (onDelete !== 'RETAIN' && outcome !== missing) await this.deps.fs.removeEmptyParents(relativePath);
      await this.deps.api.deleteVolume(name, pv.metadata?.uid);
    } catch (error) {
      this.deps.metrics.error(error instanceof FsError ? 'filesystem' : 'api');
      const detail = error instanceof FsError ? error.message : `the API refused to delete the PersistentVolume: ${errorMessage(error)}`;
      this.fail('delete', started, ref, REASONS.volumeFailedDelete, detail, error);
    }
    this.index.remove(name);
    // A plain deletion is logged and counted, not sent as an Event: the PV is gone a moment
    // later, nobody acts on it, and an Event is an API write per volume. Where kept data is
    // (archived, retained), or that it was gone already, is sent.
    if (outcome.reason !== REASONS.directoryDeleted) this.deps.events.emit(ref, outcome.type, outcome.reason, outcome.message);
    this.succeed('delete', started, { volume: name, onDelete, outcome: outcome.reason, directory: where });
  }

  private async provision(claim: V1PersistentVolumeClaim, plan: ProvisionPlan, started: number): Promise<void> {
    const ref = claimRef(claim);
    const conflict = this.index.reserve(plan.relativePath, plan.pvName);
    if (conflict) {
      const relation = conflict.relativePath === plan.relativePath ? 'is' : 'overlaps';
      this.fail('provision', started, ref, REASONS.provisioningFailed,
        `directory ${plan.relativePath} ${relation} ${relation === 'is' ? 'the directory' : conflict.relativePath} of PersistentVolume ${conflict.pvName}; `
        + 'each claim needs its own directory: use a pathPattern that includes ${.PVC.namespace} and ${.PVC.name} or ${.PV.name}, or change the values it uses');
    }
    this.provisioning.add(plan.pvName);
    const announce = setTimeout(() => this.deps.events.emit(ref, 'Normal', REASONS.provisioning,
      `External provisioner is provisioning volume for claim "${ref.namespace}/${ref.name}"`), this.deps.announceAfterMs ?? ANNOUNCE_AFTER_MS);
    try {
      await this.provisionReserved(claim, plan, started);
    } finally {
      clearTimeout(announce);
      this.provisioning.delete(plan.pvName);
    }
  }

  /** The part of {@link provision} after the directory was reserved in the index. */
  private async provisionReserved(claim: V1PersistentVolumeClaim, plan: ProvisionPlan, started: number): Promise<void> {
    const ref = claimRef(claim);
    const key = claimKey(ref.namespace!, ref.name);

    // Before the note: a note on the export then always means the directory may be this claim's.
    const reuse = await this.reuseOf(claim, plan, started);
    let reused = false;
    try {
      // Noted on the export first, so a crash before the PV exists does not orphan the directory.
      await this.deps.fs.recordUnfinished(plan.pvName, plan.relativePath);
      reused = !(await this.deps.fs.ensureDirectory(plan.relativePath, plan.directoryMode)).created;
    } catch (error) {
      await this.keepOrForgetAfterFailure(key, plan, reuse);
      this.deps.metrics.error('filesystem');
      this.fail('provision', started, ref, REASONS.provisioningFailed, `cannot create the volume directory: ${errorMessage(error)}`, error);
    }
    if (reused && !reuse) {
      // Not there when checked, yet not made now: someone else made it in between.
      if (this.unfinished.get(key)?.pvName !== plan.pvName) {
        this.index.remove(plan.pvName);
        await this.forgetUnfinished(plan.pvName);
      }
      this.fail('provision', started, ref, REASONS.provisioningFailed,
        `directory ${this.deps.root}/${plan.relativePath} appeared while it was being made for this claim; it is not handed out: move or remove it on the server`);
    }
    // Remembered until the PV exists, so a claim deleted meanwhile does not leave an empty directory.
    this.unfinished.set(key, { relativePath: plan.relativePath, pvName: plan.pvName });

    const storageClass = this.deps.classes.get(plan.className)!;
    try {
      await this.deps.api.createVolume(buildVolume(claim, storageClass, plan, this.deps.identity));
    } catch (error) {
      this.deps.metrics.error('api');
      this.fail('provision', started, ref, REASONS.provisioningFailed, `cannot create PersistentVolume ${plan.pvName}: ${errorMessage(error)}`, error);
    }
    this.unfinished.delete(key);
    this.created.add(plan.pvName);
    await this.forgetUnfinished(plan.pvName);
    if (reuse?.kind === 'kept') await this.forgetKept(reuse.records);
    const how = !reused ? '' : reuse?.kind === 'kept'
      ? ` (reusing the directory kept by onDelete RETAIN for claim ${ref.namespace}/${reuse.records[0].claim})`
      : ' (reusing the directory an earlier attempt created)';
    this.deps.events.emit(ref, 'Normal', REASONS.provisioningSucceeded, `Successfully provisioned volume ${plan.pvName}${how}`);
    this.succeed('provision', started, { claim: `${ref.namespace}/${ref.name}`, volume: plan.pvName, directory: plan.relativePath, reused });
  }

  /**
   * After making the directory failed. If the directory is there now and was not kept by
   * RETAIN, it was made for this claim (its note was written first), just as after a crash
   * between mkdir and the PV, even when the failure came after mkdir (chmod refused): the
   * note stays and this run remembers it, so the retry reuses the directory and a claim
   * deleted meanwhile has it removed. Refused or failed before the directory existed (a
   * link, a reserved name, no permission): nothing to clean up, so the note goes.
   */
  private async keepOrForgetAfterFailure(key: string, plan: ProvisionPlan, reuse: Reuse | undefined): Promise<void> {
    if (this.unfinished.get(key)?.pvName === plan.pvName) return;
    // A failure to look (a link on the way) counts as nothing made: the note is not kept for a path that cannot be checked.
    if (reuse?.kind !== 'kept' && await this.deps.fs.exists(plan.relativePath).catch(() => false)) {
      this.unfinished.set(key, { relativePath: plan.relativePath, pvName: plan.pvName });
      return;
    }
    this.index.remove(plan.pvName);
    await this.forgetUnfinished(plan.pvName);
  }

  /**
   * Whether the directory a plan names may be handed to its claim if it exists already. A
   * directory holds someone's data, so it goes only to a claim of the namespace it was made
   * for: the same claim (an earlier attempt made it: remembered by this run, or noted on the
   * export by an earlier one), or a claim of the namespace that kept it with onDelete RETAIN.
   * Anything else (another namespace's kept data, another claim's provisioning, a directory
   * nothing records, made by hand or kept before such records existed) is refused with an
   * event and nothing is written. Undefined: nothing is there.
   */
  private async reuseOf(claim: V1PersistentVolumeClaim, plan: ProvisionPlan, started: number): Promise<Reuse | undefined> {
    const ref = claimRef(claim);
    const namespace = ref.namespace!;
    const where = `${this.deps.root}/${plan.relativePath}`;
    let refusal: string;
    try {
      // A failure to look (a link on the way) is reported by ensureDirectory, which refuses the same way.
      if (!(await this.deps.fs.exists(plan.relativePath).catch(() => false))) return undefined;
      if (this.unfinished.get(claimKey(namespace, ref.name))?.pvName === plan.pvName) return { kind: 'earlier' };
      const notes = await this.deps.fs.listUnfinished();
      if (notes.some((n) => n.pvName === plan.pvName && n.relativePath === plan.relativePath)) return { kind: 'earlier' };
      const kept = (await this.deps.fs.listRetained()).filter((r) => r.relativePath === plan.relativePath);
      if (kept.length > 0 && kept.every((r) => r.namespace === namespace)) return { kind: 'kept', records: kept };

      const keptForOther = kept.find((r) => r.namespace !== namespace);
      const provisioning = notes.find((n) => n.relativePath === plan.relativePath);
      refusal = keptForOther ? `was kept by onDelete RETAIN for claim ${keptForOther.namespace}/${keptForOther.claim}, of another namespace`
        : provisioning ? `is being provisioned for PersistentVolume ${provisioning.pvName}`
          : 'nothing records which namespace it was made for (made by hand, kept before this controller recorded owners, or its PersistentVolume was deleted by hand)';
    } catch (error) {
      this.index.remove(plan.pvName);
      this.deps.metrics.error('filesystem');
      this.fail('provision', started, ref, REASONS.provisioningFailed, `cannot check who ${where} belongs to: ${errorMessage(error)}`, error);
    }
    this.index.remove(plan.pvName);
    this.fail('provision', started, ref, REASONS.provisioningFailed,
      `directory ${where} already exists and ${refusal}; an existing directory is handed only to a claim of the namespace it was made for: `
      + 'move or remove it on the server, or give its data to this claim with a PersistentVolume made by hand');
  }

  /** Notes whom a directory kept by RETAIN belongs to (its PV, which says so, is deleted next). */
  private async noteKept(pv: V1PersistentVolume, relativePath: string): Promise<void> {
    const owner = pv.spec?.claimRef;
    // Without a claim on record no namespace can prove the directory is its: it is never handed out.
    if (!owner?.namespace || !owner.name) return;
    await this.deps.fs.recordRetained({ pvName: pv.metadata!.name!, relativePath, namespace: owner.namespace, claim: owner.name });
  }

  /** Drops the notes of a kept directory now handed to a claim; a failure leaves notes naming the same namespace. */
  private async forgetKept(records: readonly RetainedDirectory[]): Promise<void> {
    for (const record of records) {
      try {
        await this.deps.fs.clearRetained(record.pvName);
      } catch (error) {
        this.deps.metrics.error('filesystem');
        this.deps.log.warn('could not clear the note of a kept directory', { volume: record.pvName, error: errorMessage(error) });
      }
    }
  }

  /**
   * The claim went away before its PV was made: remove the directory if nothing was written.
   * The directory stays reserved in the index until it is gone (no other claim may reuse it
   * halfway), and stays remembered until then (a failure here is retried by the queue).
   */
  private async cleanUnfinished(key: string): Promise<void> {
    const left = this.unfinished.get(key);
    if (!left) return;
    if (!this.deps.volumes.get(left.pvName) && !this.created.has(left.pvName)) {
      await this.removeUnclaimed(left.pvName, left.relativePath);
      this.index.remove(left.pvName);
      await this.forgetUnfinished(left.pvName);
    }
    this.unfinished.delete(key);
  }

  /**
   * Finishes what an earlier run left between making a directory and creating its PV (the
   * notes on the export; what happens to each is decided in unfinished.ts). Queued with
   * every key once the caches have synced. Each note is handled on its own; if listing
   * the notes or any note fails, this throws and the queue runs the sweep again later.
   */
  async sweepUnfinished(): Promise<void> {
    const failed: string[] = [];
    for (const note of await this.deps.fs.listUnfinished()) {
      try {
        await this.finishUnfinished(note);
      } catch (error) {
        failed.push(note.pvName);
        this.deps.metrics.error('filesystem');
        this.deps.log.warn('could not finish a provisioning an earlier run left unfinished', {
          volume: note.pvName, directory: note.relativePath, error: errorMessage(error),
        });
      }
    }
    if (failed.length > 0) throw new ReportedError(`could not finish the provisioning of ${failed.join(', ')}; retrying`);
  }

  private async finishUnfinished(note: UnfinishedVolume): Promise<void> {
    const { pvName } = note;
    // Read from the caches now, not once for the whole sweep: a claim deleted while
    // earlier notes were handled must count as deleted.
    const decision = decideUnfinished({
      note,
      claim: this.deps.claims.list().find((c) => volumeNameFor(c) === pvName),
      volumeExists: this.deps.volumes.get(pvName) !== undefined || this.created.has(pvName),
      inFlight: this.provisioning.has(pvName),
      owner: note.relativePath === undefined ? undefined : this.index.conflict(note.relativePath, pvName),
      provisionerName: this.deps.identity.provisionerName,
    });
    switch (decision.action) {
      case 'skip':
        return;
      case 'forget':
        return this.deps.fs.clearUnfinished(pvName);
      case 'track': {
        // Taken over as if this run had made the directory: held in the index while the claim
        // waits, and removed by cleanUnfinished if the claim goes away before its PV exists.
        const key = claimKey(decision.namespace, decision.name);
        if (this.unfinished.get(key)?.pvName !== pvName) {
          this.index.set(pvName, decision.relativePath);
          this.unfinished.set(key, { relativePath: decision.relativePath, pvName });
        }
        return;
      }
      case 'remove':
        // Held in the index while it is removed, so no claim provisioned meanwhile reuses it halfway.
        this.index.set(pvName, decision.relativePath);
        try {
          await this.removeUnclaimed(pvName, decision.relativePath);
          await this.deps.fs.clearUnfinished(pvName);
        } finally {
          this.index.remove(pvName);
        }
    }
  }

  /** Removes the directory of a volume whose claim went away before its PV was made, unless something was written to it. */
  private async removeUnclaimed(pvName: string, relativePath: string): Promise<void> {
    if (await this.deps.fs.removeIfEmpty(relativePath)) {
      await this.deps.fs.removeEmptyParents(relativePath);
      this.deps.log.info('removed the directory of a claim deleted before its volume was created', { directory: relativePath, volume: pvName });
    } else {
      this.deps.log.info('kept the directory of a claim deleted before its volume was created: it is not empty (or already gone)', { directory: relativePath, volume: pvName });
    }
  }

  /** Drops the note of a volume; a failure only leaves a note the next sweep clears. */
  private async forgetUnfinished(pvName: string): Promise<void> {
    try {
      await this.deps.fs.clearUnfinished(pvName);
    } catch (error) {
      this.deps.metrics.error('filesystem');
      this.deps.log.warn('could not clear the provisioning note', { volume: pvName, error: errorMessage(error) });
    }
  }

  private succeed(kind: OperationKind, started: number, fields: Record<string, unknown>): void {
    this.deps.metrics.operation(kind, 'succeeded', (Date.now() - started) / 1000);
    this.deps.log.info(`${kind} succeeded`, fields);
  }

  /** Reports a failure on the object, counts it, and throws so the queue retries later. */
  private fail(kind: OperationKind, started: number, ref: ObjectRef, reason: string, message: string, cause?: unknown): never {
    this.deps.metrics.operation(kind, 'failed', (Date.now() - started) / 1000);
    this.deps.events.emit(ref, 'Warning', reason, message);
    this.deps.log.warn(`${kind} failed`, { object: `${ref.kind}/${ref.namespace ? ref.namespace + '/' : ''}${ref.name}`, reason, message });
    throw new ReportedError(message, cause);
  }
}

export function claimRef(claim: V1PersistentVolumeClaim): ObjectRef {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    name: claim.metadata?.name ?? '',
    namespace: claim.metadata?.namespace,
    uid: claim.metadata?.uid,
    resourceVersion: claim.metadata?.resourceVersion,
  };
}

export function volumeRef(pv: V1PersistentVolume): ObjectRef {
  return { apiVersion: 'v1', kind: 'PersistentVolume', name: pv.metadata?.name ?? '', uid: pv.metadata?.uid, resourceVersion: pv.metadata?.resourceVersion };
}
