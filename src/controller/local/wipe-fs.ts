/**
 * Empties a filesystem volume: removes every child of its mount point, keeping the mount
 * point itself. Two rules make it safe against hostile volume content:
 *  - a symlink is unlinked as a link (lstat, never stat), so its target is never touched;
 *  - a directory that is another mount (a different st_dev, or listed in the mount table,
 *    which catches bind mounts of the same filesystem) is not entered and not removed.
 * The volume is Released, so no pod is writing to it while this runs.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { MountTable } from './mountinfo';

export interface FsWipeResult {
  /** Entries removed (files, links, directories). */
  readonly removed: number;
  /** Mounts found inside the volume, left untouched (the wipe is then incomplete). */
  readonly keptMounts: string[];
}

export async function wipeFilesystem(root: string, mounts: MountTable): Promise<FsWipeResult> {
  const rootStat = await fs.lstat(root, { bigint: true });
  if (!rootStat.isDirectory()) throw new Error(`${root} is not a directory`);
  const state = { removed: 0, keptMounts: [] as string[] };

  const remove = async (p: string): Promise<void> => {
    const st = await fs.lstat(p, { bigint: true });
    // Checked for files too: a file can be bind-mounted over another file.
    if (st.dev !== rootStat.dev || mounts.isMountPoint(p)) {
      state.keptMounts.push(p);
      return;
    }
    if (!st.isDirectory()) {
      await fs.unlink(p);
      state.removed++;
      return;
    }
    for (const child of await fs.readdir(p)) await remove(path.join(p, child));
    try {
      await fs.rmdir(p);
      state.removed++;
    } catch (err) {
      // Non-empty only because a kept mount lives below; anything else is a real failure.
      const below = state.keptMounts.some(m => m.startsWith(p + '/'));
      if ((err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' || !below) throw err;
    }
  };

  for (const child of await fs.readdir(root)) await remove(path.join(root, child));
  return state;
}
