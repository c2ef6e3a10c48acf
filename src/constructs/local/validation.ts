/**
 * Checks of the local-storage props that are plain data (paths and patterns). Each error
 * names the prop, the value and the fix.
 */
import { PATHS } from '../../contract/controller-config';
import { isSameOrInside, pathsOverlap } from '../../contract/path-containment';
import { normalizeAbsolutePath } from '../common/absolute-path';
import { propError, quote } from '../common/errors';

/**
 * Host or container directories that are never a discovery directory: the agent would
 * publish (and, once released, wipe) whatever mount points it finds below them, and
 * mounting one over the container's own would break the container.
 */
const SYSTEM_DIRS = new Set([
  '/', '/bin', '/boot', '/dev', '/etc', '/lib', '/lib64', '/proc', '/root', '/run', '/sbin', '/sys',
  '/tmp', '/usr', '/var', '/var/lib', '/var/lib/kubelet', '/var/run',
]);

/**
 * Host trees a discovery directory may not be in, at any depth: kernel and device files,
 * runtime state (the kubelet's own volume mounts under /var/lib/kubelet among them),
 * configuration, boot files and users' homes. The agent publishes the mount points it
 * finds there and wipes them when released, so `/var/lib/kubelet/pods` would hand out
 * (and empty) other pods' volumes. A prefix rule on whole path components:
 * `/home/disks` is refused, `/homestead` is not.
 */
const SYSTEM_TREES = ['/sys', '/proc', '/dev', '/run', '/var/run', '/etc', '/boot', '/var/lib/kubelet', '/home'];

/**
 * An absolute directory path, trailing slashes dropped (the rule of every path prop, see
 * normalizeAbsolutePath), that is not a system directory. Returns the normalized path.
 */
export function checkDirectory(prop: string, value: string, where: string): string {
  const dir = normalizeAbsolutePath(where, prop, value, '/mnt/disks/ssd');
  if (SYSTEM_DIRS.has(dir)) {
    throw propError(where, prop, value, 'is a system directory', 'use a directory that holds only the volumes, e.g. "/mnt/disks/ssd"');
  }
  return dir;
}

/** A discovery directory on the host: {@link checkDirectory}, and not inside a system tree. Returns the normalized path. */
export function checkHostDir(value: string, where: string): string {
  const dir = checkDirectory('hostDir', value, where);
  const tree = SYSTEM_TREES.find((t) => isSameOrInside(dir, t));
  if (tree !== undefined) {
    throw propError(where, 'hostDir', value, `is inside the system tree ${tree}, whose mount points the agent would publish and wipe`,
      'use a directory that holds only the volumes, e.g. "/mnt/disks/ssd"');
  }
  return dir;
}

/** The agent's own config mount: a class directory must not be it, contain it, or sit inside it. */
export function checkMountDirIsFree(value: string, where: string): void {
  if (pathsOverlap(value, PATHS.localConfigDir)) {
    throw propError(where, 'mountDir', value, `overlaps ${PATHS.localConfigDir}, where the agent's class map is mounted`, 'choose another mountDir');
  }
}

/**
 * namePattern: one glob matched against an entry name in the discovery directory. Only
 * `*` and `?` are wildcards (the agent treats everything else literally), so characters
 * that other glob dialects give a meaning are rejected instead of silently matching
 * nothing.
 */
export function checkNamePattern(value: string, where: string): void {
  const fix = 'use a single glob where only * and ? are wildcards, e.g. "nvme*" or "disk-?"';
  if (typeof value !== 'string' || value.length === 0 || value.length > 255) {
    throw propError(where, 'namePattern', value, 'is not 1-255 characters long', fix);
  }
  if (value.includes('/')) {
    throw propError(where, 'namePattern', value, 'contains \'/\' (it matches one entry name of hostDir, not a path)', fix);
  }
  const special = value.match(/[[\]{},!\\\0-\x1f]/);
  if (special) {
    throw propError(where, 'namePattern', value, `contains ${quote(special[0])}, which is not supported`, fix);
  }
}

/** A filesystem type name as mount(8) takes it (`ext4`, `xfs`, `btrfs`). */
export function checkFsType(value: string, where: string): void {
  if (!/^[a-z0-9][a-z0-9._-]{0,31}$/.test(value)) {
    throw propError(where, 'fsType', value, 'is not a filesystem type name', 'use e.g. "ext4" or "xfs"');
  }
}
