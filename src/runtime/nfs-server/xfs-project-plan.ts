/**
 * The decisions of `--quota=xfs-project`, pure so they are tested without a quota-capable
 * kernel: which project id a new volume gets, the exact `xfs_quota` commands each change
 * runs, and whether the backing storage is an XFS mounted with project quota enforced.
 *
 * One project per volume: its data directory carries the project id with the inherit flag
 * (`project -s`), so everything made below it counts against that project, and the
 * project's hard block limit is the volume's size (`limit -p bhard=`). A grow sets a new
 * limit; a removal clears the limit, and for data that is kept (ARCHIVE, RETAIN) also the
 * directory tree's project id, so the id can serve a new volume without counting old data.
 */
import type { MountEntry } from '../local/mountinfo';

/** XFS project ids are 32-bit; 0 is the default project of every file, so it is never handed out. */
export const MAX_PROJECT_ID = 0xfffffffe;

/**
 * The project id for a new volume: one above the highest live one, so a just-freed id is
 * not handed out again at once; the lowest free one when that passes the maximum.
 *
 * @throws Error when every id is taken.
 */
export function nextProjectId(inUse: Iterable<number | undefined>): number {
  const taken = new Set([...inUse].filter((id): id is number => id !== undefined));
  const highest = Math.max(0, ...taken);
  if (highest < MAX_PROJECT_ID) return highest + 1;
  for (let id = 1; id <= MAX_PROJECT_ID; id++) {
    if (!taken.has(id)) return id;
  }
  throw new Error(`every XFS project id (1-${MAX_PROJECT_ID}) is in use`);
}

/** One `xfs_quota` run: its arguments, in expert mode (`-x`), on the backing filesystem. */
export type XfsQuotaArgs = readonly string[];

function xfsQuota(filesystem: string, command: string): XfsQuotaArgs {
  return ['-x', '-c', command, filesystem];
}

/** Marks `dir` (and what is below it) as project `id`, with the inherit flag for what is made later. */
export function setProject(filesystem: string, dir: string, id: number): XfsQuotaArgs {
  return xfsQuota(filesystem, `project -s -p ${dir} ${id}`);
}

/** Sets project `id`'s hard block limit; 0 clears it (no limit). */
export function setLimit(filesystem: string, id: number, bytes: number): XfsQuotaArgs {
  return xfsQuota(filesystem, `limit -p bhard=${bytes} ${id}`);
}

/** Takes project `id` (and its inherit flag) off `dir` and everything below it. */
export function clearProject(filesystem: string, dir: string, id: number): XfsQuotaArgs {
  return xfsQuota(filesystem, `project -C -p ${dir} ${id}`);
}

/** Create: the directory joins its project, then the project gets the volume's size as its limit. */
export function createCommands(filesystem: string, dir: string, id: number, sizeBytes: number): XfsQuotaArgs[] {
  return [setProject(filesystem, dir, id), setLimit(filesystem, id, sizeBytes)];
}

/** Grow (and re-applying a recorded size at start-up): the new limit. */
export function growCommands(filesystem: string, id: number, sizeBytes: number): XfsQuotaArgs[] {
  return [setLimit(filesystem, id, sizeBytes)];
}

/**
 * Removal, and the undoing of a create cut short at any step: the limit is cleared (a
 * command that repeats safely, whichever steps ran); data that is kept also leaves the
 * project, so the id's usage starts from nothing when it is handed out again. Data that is
 * deleted next needs no relabelling: its blocks leave the project as they are freed.
 */
export function releaseCommands(filesystem: string, dir: string | undefined, id: number, keep: boolean): XfsQuotaArgs[] {
  return keep && dir !== undefined ? [clearProject(filesystem, dir, id), setLimit(filesystem, id, 0)] : [setLimit(filesystem, id, 0)];
}

/** What the preflight found: the backing filesystem's mount point, where `xfs_quota` runs. */
export interface ProjectQuotaMount {
  readonly filesystem: string;
}

const FIX = 'mount the backing volume with prjquota (a StorageClass with mountOptions: [prjquota] whose volumes are XFS, or a hostPath on such a mount; the node\'s kernel needs XFS quota support), or use quota: NfsQuota.LOOP_IMAGE';

/**
 * Checks that `dataDir` (resolved) lies on XFS mounted with project quota enforced, as the
 * kernel reports the superblock's options in mountinfo (`prjquota`; `pqnoenforce` only
 * counts). `xfs_quota -c` splits its command on blanks, so the paths may not hold any.
 *
 * @throws Error naming what was found and the fix.
 */
export function checkProjectQuotaMount(dataDir: string, mount: MountEntry | undefined): ProjectQuotaMount {
  const what = `--quota=xfs-project (NfsQuota.XFS_PROJECT) needs --data-dir ${dataDir} on XFS mounted with prjquota`;
  if (/\s/.test(dataDir)) throw new Error(`${what}, at a path without blanks (xfs_quota commands cannot quote them); move --data-dir`);
  if (!mount) throw new Error(`${what}, but no mount holds it: ${FIX}`);
  const found = `it is on ${mount.fsType} ${mount.source} mounted at ${mount.mountPoint} with ${mount.superOptions || 'no options'}`;
  if (mount.fsType !== 'xfs') throw new Error(`${what}; ${found}: ${FIX}`);
  const options = mount.superOptions.split(',');
  if (options.includes('pqnoenforce')) throw new Error(`${what}; ${found} (project usage counted, limits not enforced): ${FIX}`);
  if (!options.includes('prjquota') && !options.includes('pquota')) throw new Error(`${what}; ${found}: ${FIX}`);
  if (/\s/.test(mount.mountPoint)) throw new Error(`${what}, mounted at a path without blanks (xfs_quota commands cannot quote them); mount it elsewhere`);
  return { filesystem: mount.mountPoint };
}
