/**
 * Discovery decisions, pure: what a class's discovery directory holds versus the PVs this
 * node already published for it -> create, withdraw, report or skip. No I/O here; scan.ts
 * looks at the disk and agent.ts carries the actions out.
 */
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { identityMismatch } from './device';
import { matchesGlob } from './glob';
import { buildLocalPv, entryOfPv, isSafeEntryName, LocalNode, mountRootMismatch, PublishedRecord, readRecord } from './pv';
import { LOCAL_REASONS } from './reasons';
import type { Scan, ScannedEntry } from './scan';
import type { LocalClassConfig } from '../../contract/controller-config';

export interface DiscoveryInput {
  readonly cls: LocalClassConfig;
  readonly node: LocalNode;
  /** The agent's LocalStaticProvisioner (`<namespace>/<name>`), written into new PVs' identity. */
  readonly provisioner?: string;
  readonly scan: Scan;
  readonly mounts: { isMountPoint(p: string): boolean };
  /** PVs this node's agent published (any class; the others are ignored here). */
  readonly existing: readonly V1PersistentVolume[];
  /** Every local PV path already in use on this node, by PV name (to refuse publishing one path twice). */
  readonly pathsInUse?: ReadonlyMap<string, string>;
}

export type DiscoveryAction =
  /** Publish a new PV. */
  | { readonly type: 'create'; readonly entry: string; readonly pv: V1PersistentVolume }
  /** Delete an Available PV (with resourceVersion precondition) and tell the node's events. */
  | { readonly type: 'withdraw'; readonly pv: V1PersistentVolume; readonly reason: string; readonly message: string }
  /** A Warning event on the PV; nothing else. */
  | { readonly type: 'report'; readonly pv: V1PersistentVolume; readonly reason: string; readonly message: string }
  /** An entry that is not published: a Warning event on the node. */
  | { readonly type: 'skip'; readonly entry: string; readonly reason: string; readonly message: string };

type Usable = { readonly ok: true; readonly entry: ScannedEntry } | { readonly ok: false; readonly reason: string; readonly message: string };

/** Plans one class's discovery pass. */
export function planDiscovery(input: DiscoveryInput): DiscoveryAction[] {
  const { cls, scan } = input;
  const actions: DiscoveryAction[] = [];
  const verdicts = new Map<string, Usable>();
  for (const entry of scan.entries) {
    if (!matchesGlob(cls.namePattern, entry.name)) continue;
    verdicts.set(entry.name, judge(entry, input));
  }

  const mine = input.existing.filter(pv => pv.spec?.storageClassName === cls.storageClassName);
  const published = new Set<string>();
  for (const pv of mine) {
    const action = reconcileExisting(pv, verdicts, input);
    if (action) actions.push(action);
    const entry = readRecord(pv)?.entry;
    if (entry !== undefined) published.add(entry);
  }

  for (const [name, verdict] of verdicts) {
    if (published.has(name)) continue;
    if (!verdict.ok) {
      actions.push({ type: 'skip', entry: name, reason: verdict.reason, message: verdict.message });
      continue;
    }
    const pv = buildLocalPv(cls, input.node, verdict.entry, input.provisioner);
    const holder = input.pathsInUse?.get(pv.spec!.local!.path);
    if (holder !== undefined && holder !== pv.metadata!.name) {
      actions.push({
        type: 'skip',
        entry: name,
        reason: LOCAL_REASONS.duplicatePath,
        message: `${pv.spec!.local!.path} is already the path of PV ${holder}; not publishing it twice (check that no two classes share a directory)`,
      });
      continue;
    }
    actions.push({ type: 'create', entry: name, pv });
  }
  return actions;
}

/** Whether an entry can be published now, and if not why. */
function judge(entry: ScannedEntry, input: DiscoveryInput): Usable {
  const { cls, scan } = input;
  const where = `${cls.hostDir}/${entry.name}`;
  if (!isSafeEntryName(entry.name)) {
    return { ok: false, reason: LOCAL_REASONS.unsafeEntryName, message: `entry ${JSON.stringify(entry.name)} in ${cls.hostDir} has control characters in its name; rename it` };
  }
  if (entry.kind === 'other') {
    return { ok: false, reason: LOCAL_REASONS.unsupportedEntry, message: `${where} is ${entry.detail ?? 'neither a directory nor a block device'}; class ${cls.storageClassName} publishes ${cls.volumeMode === 'Block' ? 'block devices' : 'mount points'} only` };
  }
  if (entry.kind === 'dir') {
    if (cls.volumeMode === 'Block') {
      return { ok: false, reason: LOCAL_REASONS.volumeModeMismatch, message: `${where} is a directory but class ${cls.storageClassName} is a Block class; link a block device there (ln -s /dev/disk/by-id/...)` };
    }
    if (!input.mounts.isMountPoint(`${scan.dir}/${entry.name}`)) {
      return { ok: false, reason: LOCAL_REASONS.notAMountPoint, message: `${where} is not a mount point; mount a disk there, or bind-mount the directory onto itself (mount --bind ${where} ${where})` };
    }
  }
  if (entry.identity === undefined || entry.capacityBytes === undefined || entry.capacityBytes <= 0n) {
    return { ok: false, reason: LOCAL_REASONS.unknownCapacity, message: `the size of ${where} could not be read; it is not published` };
  }
  return { ok: true, entry };
}

function isAvailable(pv: V1PersistentVolume): boolean {
  const phase = pv.status?.phase;
  return !pv.spec?.claimRef && (phase === undefined || phase === 'Available' || phase === 'Pending');
}

/** An existing PV against the directory: keep, withdraw (only if unused) or report. */
function reconcileExisting(pv: V1PersistentVolume, verdicts: ReadonlyMap<string, Usable>, input: DiscoveryInput): DiscoveryAction | undefined {
  if (pv.metadata?.deletionTimestamp) return undefined;
  const { cls } = input;
  const record = readRecord(pv);
  const entry = entryOfPv(pv, cls);
  const name = pv.metadata?.name ?? '';
  if (!record || entry === undefined) {
    return {
      type: 'report',
      pv,
      reason: LOCAL_REASONS.recordInvalid,
      message: `PV ${name} does not match class ${cls.storageClassName} (path ${pv.spec?.local?.path ?? 'none'} is not ${cls.hostDir}/<entry> or its publication annotations were changed); the agent leaves it alone`,
    };
  }
  const where = `${cls.hostDir}/${entry}`;
  const verdict = verdicts.get(entry);
  // Released volumes are cleanup's: it verifies the entry itself and reports what it finds.
  if (pv.status?.phase === 'Released') return undefined;

  if (!verdict?.ok) {
    const why = verdict === undefined ? 'is gone' : `is no longer usable (${verdict.message})`;
    if (isAvailable(pv)) {
      return { type: 'withdraw', pv, reason: LOCAL_REASONS.withdrawn, message: `${where} ${why}; withdrew the unused PV ${name}` };
    }
    return {
      type: 'report',
      pv,
      reason: LOCAL_REASONS.entryMissing,
      message: `${where} ${why}, but PV ${name} is ${pv.status?.phase ?? 'in use'}; it is kept. Restore the volume at ${where}, or release the claim and delete the PV by hand once its data is no longer needed`,
    };
  }

  const mismatch = identityChange(record, verdict.entry);
  if (mismatch === undefined) {
    // Published before mount roots were recorded: two bind mounts of one disk could be
    // swapped unnoticed. An unused PV is republished with its root; one in use keeps its
    // record, and its wipe is decided by cleanup.ts.
    if (record.kind === 'filesystem' && record.mountRoot === undefined && isAvailable(pv)) {
      return { type: 'withdraw', pv, reason: LOCAL_REASONS.withdrawn, message: `PV ${name} of ${where} was published without its mount root (an earlier agent version); withdrew the unused PV, it is republished with it` };
    }
    return undefined;
  }
  if (isAvailable(pv)) {
    return { type: 'withdraw', pv, reason: LOCAL_REASONS.identityChanged, message: `${where} is a different volume than PV ${name} was published for (${mismatch}); withdrew it, it is republished for the new volume` };
  }
  return {
    type: 'report',
    pv,
    reason: LOCAL_REASONS.identityChanged,
    message: `${where} is a different volume than PV ${name} was published for (${mismatch}); the PV is ${pv.status?.phase ?? 'in use'} and kept. Put the original device (or bind mount) back, or release the claim`,
  };
}

/** How the entry found now differs from the one `record` was published for, if it does. */
function identityChange(record: PublishedRecord, current: ScannedEntry): string | undefined {
  const kindNow = current.kind === 'block' ? 'block' : 'filesystem';
  if (kindNow !== record.kind) return `published as a ${record.kind} volume, now a ${kindNow}`;
  return identityMismatch(record.identity, current.identity!) ?? mountRootMismatch(record, current.mountRoot);
}
