/**
 * Empties a filesystem volume: removes every child of its mount point, keeping the mount
 * point itself. A Released PV does not prove that no pod still writes to the volume (a
 * claim's owner can drop the pvc-protection finalizer while a pod runs), so the walk is
 * the descriptor-relative one of ../fs/empty-tree.ts: no symlink is followed, a directory
 * swapped for a link mid-walk is never entered, and nothing on another device or another
 * mount is touched. The mount table is asked too, so a bind mount of the same filesystem
 * (a file over a file included) is kept even where the descriptor checks cannot see it.
 */
import * as path from 'path';
import { MountTable } from './mountinfo';
import { emptyTree } from '../fs/empty-tree';
import { PinnedDir } from '../fs/pinned-dir';
import { errorAt } from '../fs/show-path';

export interface FsWipeResult {
  /** Entries removed (files, links, directories). */
  readonly removed: number;
  /** Mounts found inside the volume, left untouched (the wipe is then incomplete). */
  readonly keptMounts: string[];
}

/**
 * Opens a volume's mount point once, without following a symlink. The checks of what is
 * mounted there and the wipe then go through this descriptor, so a mount swapped in at the
 * path in between is neither checked in its place nor wiped.
 */
export async function openVolumeRoot(mountPoint: string): Promise<PinnedDir> {
  // Normalised, so the paths built below it compare equal to the mount table's.
  const root = path.resolve(mountPoint);
  return PinnedDir.open(root).catch((error) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') throw new Error(`${root} is not a directory`);
    throw errorAt(error, root);
  });
}

/** Empties the volume held open as `top` (from {@link openVolumeRoot}); the caller closes it. */
export async function wipeFilesystem(top: PinnedDir, mounts: MountTable): Promise<FsWipeResult> {
  // The mount table is consulted only when it lists something inside the volume.
  const inside = new Set(mounts.mountsBelow(top.path.toString()));
  const result = await emptyTree(top, inside.size > 0 ? { isMountPoint: (p) => inside.has(p) } : {});
  return { removed: result.removed, keptMounts: result.kept };
}
