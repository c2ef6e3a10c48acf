/**
 * Cleanup of Released volumes: which PVs to wipe (pure), and the wipe itself with every
 * check before it. Delete never trusts the live class alone: the PV's path must be exactly
 * hostDir/<recorded entry>, and what is found there must be the device (and, for a
 * filesystem, the directory of it mounted there) recorded at publication. Anything else
 * leaves the PV Released with a message saying what to do.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { devnoOf, identityMismatch, readDeviceIdentity, SYSFS } from './device';
import { MountTable } from './mountinfo';
import { entryOfPv, mountRootMismatch, readRecord, PublishedRecord } from './pv';
import { LOCAL_REASONS } from './reasons';
import { describeCleaner, guardBlockDevice, runBlockCleaner } from './wipe-block';
import { openVolumeRoot, wipeFilesystem } from './wipe-fs';
import type { LocalAgentConfig, LocalClassConfig } from '../../contract/controller-config';
import { CommandRunner, runCommand } from '../core/command';
import type { PinnedDir } from '../fs/pinned-dir';

export type CleanupDecision =
  | { readonly type: 'clean'; readonly pv: V1PersistentVolume; readonly cls: LocalClassConfig; readonly entry: string; readonly record: PublishedRecord }
  | { readonly type: 'report'; readonly pv: V1PersistentVolume; readonly reason: string; readonly message: string };

/** Decides what to do with this node's PVs that are Released. */
export function planCleanup(pvs: readonly V1PersistentVolume[], config: LocalAgentConfig): CleanupDecision[] {
  const decisions: CleanupDecision[] = [];
  for (const pv of pvs) {
    if (pv.status?.phase !== 'Released' || pv.metadata?.deletionTimestamp) continue;
    const name = pv.metadata?.name ?? '';
    const policy = pv.spec?.persistentVolumeReclaimPolicy;
    if (policy === 'Retain') continue;
    if (policy !== 'Delete') {
      decisions.push({
        type: 'report',
        pv,
        reason: LOCAL_REASONS.unsupportedReclaimPolicy,
        message: `PV ${name} has reclaim policy ${policy ?? 'unset'}; the local agent only deletes (Delete) or keeps (Retain) volumes. Set persistentVolumeReclaimPolicy to Delete or Retain`,
      });
      continue;
    }
    const cls = config.classes.find(c => c.storageClassName === pv.spec?.storageClassName);
    if (!cls) {
      decisions.push({
        type: 'report',
        pv,
        reason: LOCAL_REASONS.classNotConfigured,
        message: `PV ${name} belongs to class ${pv.spec?.storageClassName ?? 'none'}, which is no longer configured on this node; it stays Released. Add the class back, or wipe the volume by hand and delete the PV`,
      });
      continue;
    }
    const entry = entryOfPv(pv, cls);
    const record = readRecord(pv);
    if (entry === undefined || record === undefined) {
      decisions.push({
        type: 'report',
        pv,
        reason: LOCAL_REASONS.recordInvalid,
        message: `PV ${name}: path ${pv.spec?.local?.path ?? 'none'} is not ${cls.hostDir}/<entry> or its publication annotations were changed; it is never wiped. Check the volume and delete the PV by hand`,
      });
      continue;
    }
    decisions.push({ type: 'clean', pv, cls, entry, record });
  }
  return decisions;
}

export type CleanupResult = { readonly ok: true; readonly message: string } | { readonly ok: false; readonly message: string };

export interface CleanupContext {
  readonly mounts: () => Promise<MountTable>;
  readonly sysRoot?: string;
  readonly run?: CommandRunner;
  /** Told before a block cleaner starts (it can take hours on big disks). */
  readonly onStart?: (message: string) => void;
}

/** Verifies and wipes one volume. Never throws: a failure is a result with a message. */
export async function cleanVolume(decision: Extract<CleanupDecision, { type: 'clean' }>, ctx: CleanupContext): Promise<CleanupResult> {
  try {
    return await clean(decision, ctx);
  } catch (err) {
    return { ok: false, message: `cleanup of ${decision.cls.hostDir}/${decision.entry} failed: ${(err as Error).message}; the PV stays Released and is retried` };
  }
}

async function clean({ pv, cls, entry, record }: Extract<CleanupDecision, { type: 'clean' }>, ctx: CleanupContext): Promise<CleanupResult> {
  const sysRoot = ctx.sysRoot ?? SYSFS;
  const name = pv.metadata?.name ?? '';
  const where = `${cls.hostDir}/${entry}`;
  const p = path.join(await fs.realpath(cls.mountDir), entry);
  const missing = {
    ok: false as const,
    message: `${where} is gone, so PV ${name} cannot be wiped and is not republished. If the volume is lost for good, delete the PV (kubectl delete pv ${name}); if it comes back, the agent wipes it then`,
  };
  const l = await fs.lstat(p, { bigint: true }).catch(() => undefined);
  if (!l) return missing;

  if (record.kind === 'filesystem') {
    if (!l.isDirectory()) return notMounted(where, name);
    // Opened before the mount table is read; see openVolumeRoot.
    const top = await openVolumeRoot(p);
    try {
      return await cleanFilesystem(top, { name, where, record, sysRoot }, ctx);
    } finally {
      await top.close();
    }
  }

  const mounts = await ctx.mounts();
  const cleaner = cls.blockCleaner;
  if (!cleaner) {
    return { ok: false, message: `class ${cls.storageClassName} has no blockCleaner, so block PV ${name} is not wiped. Configure one, or wipe ${where} by hand and delete the PV` };
  }
  const guard = await guardBlockDevice(p, record.identity, mounts, sysRoot);
  if (!guard.ok) return { ok: false, message: `${guard.message}; PV ${name} is not wiped and stays Released` };
  ctx.onStart?.(`wiping ${where} with ${describeCleaner(cleaner.kind, cleaner.passes)}; this can take a while`);
  const output = await runBlockCleaner(guard.device, cleaner.kind, cleaner.passes, ctx.run ?? runCommand);
  return { ok: true, message: `wiped ${where} with ${cleaner.kind}${output ? `: ${output.split('\n').slice(-1)[0]}` : ''}` };
}

/** A filesystem PV and where its volume is, for {@link cleanFilesystem}. */
interface FilesystemVolume {
  readonly name: string;
  readonly where: string;
  readonly record: PublishedRecord;
  readonly sysRoot: string;
}

/**
 * Checks that the directory held open as `top` is the root of the mount at its path and
 * holds the volume the PV was published for (device, mount root), then empties it through
 * that same descriptor.
 */
async function cleanFilesystem(top: PinnedDir, { name, where, record, sysRoot }: FilesystemVolume, ctx: CleanupContext): Promise<CleanupResult> {
  const p = top.path.toString();
  const mounts = await ctx.mounts();
  const mount = mounts.mountAt(p);
  if (!mount) return notMounted(where, name);
  // The descriptor's mount id ties it to one mountinfo entry, whose root is then this directory's.
  const heldMount = await top.mountId();
  if (heldMount !== undefined && heldMount !== String(mount.mountId)) {
    return { ok: false, message: `${where} was mounted over while it was checked; PV ${name} is not wiped. The agent retries` };
  }
  const devno = devnoOf(top.stat.dev);
  const mismatch = identityMismatch(record.identity, await readDeviceIdentity(devno, sysRoot));
  if (mismatch !== undefined) {
    return { ok: false, message: `${where} holds a different filesystem than PV ${name} was published for (${mismatch}); not wiped. Mount the original volume there, or wipe it by hand and delete the PV` };
  }
  const rootMismatch = mountRootMismatch(record, mount.root);
  if (rootMismatch !== undefined) {
    return { ok: false, message: `${where} is another directory of its filesystem than PV ${name} was published for (${rootMismatch}); not wiped. Mount the volume's own directory there again, or wipe it by hand and delete the PV` };
  }
  const doubt = record.mountRoot === undefined ? unrecordedRootDoubt(p, mount.root, mounts.mountsOf(devno)) : undefined;
  if (doubt !== undefined) {
    return { ok: false, message: `PV ${name} was published by an earlier agent version that did not record which directory of its filesystem is mounted at ${where}, and ${doubt}, so nothing proves it holds this volume; not wiped. Check that ${where} holds this volume's data, empty it by hand, then delete the PV (kubectl delete pv ${name})` };
  }
  const result = await wipeFilesystem(top, mounts);
  if (result.keptMounts.length > 0) {
    return { ok: false, message: `${where} has other mounts inside (${result.keptMounts.join(', ')}); they were not entered and the volume is not clean. Unmount them; the agent retries` };
  }
  return { ok: true, message: `emptied ${where} (${result.removed} entries removed)` };
}

function notMounted(where: string, name: string): CleanupResult {
  return { ok: false, message: `${where} is no longer a mount point; PV ${name} is not wiped (that would empty the directory underneath). Mount the volume again, or delete the PV by hand if it is lost` };
}

/**
 * For a filesystem PV without a recorded mount root: why the mount at its entry could be
 * another volume's directory of the same disk, or undefined when it cannot be (a whole
 * filesystem, mounted nowhere else the agent sees). Those are wiped on the device check
 * alone, as before; the others wait for an administrator.
 */
function unrecordedRootDoubt(p: string, root: string | undefined, mountsOfDevice: readonly string[]): string | undefined {
  if (root !== '/') return `it is a bind mount of ${root ?? 'an unknown directory'} of its filesystem`;
  const elsewhere = mountsOfDevice.filter(m => m !== p);
  if (elsewhere.length > 0) return `its filesystem is also mounted at ${elsewhere.slice(0, 3).join(', ')}${elsewhere.length > 3 ? ' ...' : ''}`;
  return undefined;
}
