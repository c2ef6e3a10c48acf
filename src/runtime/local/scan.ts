/**
 * Reads a class's discovery directory: the first-level entries with their kind, device
 * identity and capacity. The decisions about them are discovery.ts's; this file only looks.
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { DeviceIdentity, deviceSizeBytes, devnoOf, readDeviceIdentity, SYSFS } from './device';
import { MountTable } from './mountinfo';

export type EntryKind = 'dir' | 'block' | 'other';

/** One first-level entry of a discovery directory. */
export interface ScannedEntry {
  readonly name: string;
  readonly kind: EntryKind;
  /** Path inside the agent's container. */
  readonly path: string;
  /** For `other`: what it is instead (a file, a dangling link ...). */
  readonly detail?: string;
  /** Block: the device; dir: the device of the filesystem mounted there (mount points only). */
  readonly identity?: DeviceIdentity;
  /** Block: device size; dir: statfs total size of the mounted filesystem (mount points only). */
  readonly capacityBytes?: bigint;
  /**
   * Dir (mount points only): the directory of the filesystem mounted there (mountinfo's
   * root; `/` for a whole filesystem), which tells apart bind mounts of one disk.
   */
  readonly mountRoot?: string;
}

/** The listing of one discovery directory. */
export interface Scan {
  /** The directory with symlinks resolved, as the mount table names it. */
  readonly dir: string;
  readonly entries: ScannedEntry[];
}

/**
 * Lists `mountDir`. Symlinks are followed only to find block devices (the by-id links an
 * administrator places for Block classes); a symlink to a directory is reported as `other`,
 * because the mount table, not a link, is what makes a directory a volume.
 */
export async function scanDirectory(mountDir: string, mounts: MountTable, sysRoot: string = SYSFS): Promise<Scan> {
  const dir = await fs.realpath(mountDir);
  const names = (await fs.readdir(dir)).sort();
  const identities = new Map<string, Promise<DeviceIdentity>>();
  const identityOf = (devno: string) => {
    if (!identities.has(devno)) identities.set(devno, readDeviceIdentity(devno, sysRoot));
    return identities.get(devno)!;
  };
  const entries: ScannedEntry[] = [];
  for (const name of names) {
    entries.push(await scanEntry(dir, name, mounts, identityOf, sysRoot));
  }
  return { dir, entries };
}

async function scanEntry(
  dir: string, name: string, mounts: MountTable,
  identityOf: (devno: string) => Promise<DeviceIdentity>, sysRoot: string,
): Promise<ScannedEntry> {
  const p = path.join(dir, name);
  try {
    const l = await fs.lstat(p, { bigint: true });
    if (l.isDirectory()) {
      const mount = mounts.mountAt(p);
      if (!mount) return { name, kind: 'dir', path: p };
      const sfs = await fs.statfs(p, { bigint: true });
      return { name, kind: 'dir', path: p, identity: await identityOf(devnoOf(l.dev)), capacityBytes: sfs.blocks * sfs.bsize, mountRoot: mount.root };
    }
    const s = l.isSymbolicLink() ? await followLink(p) : l;
    if (s === undefined) return { name, kind: 'other', path: p, detail: 'a dangling symlink' };
    if (s.isBlockDevice()) {
      const devno = devnoOf(s.rdev);
      const capacityBytes = await deviceSizeBytes(devno, sysRoot);
      return { name, kind: 'block', path: p, identity: await identityOf(devno), ...(capacityBytes !== undefined ? { capacityBytes } : {}) };
    }
    const what = s.isDirectory() ? 'a symlink to a directory (bind-mount the directory instead)' : s.isFile() ? 'a regular file' : 'neither a directory nor a block device';
    return { name, kind: 'other', path: p, detail: what };
  } catch (err) {
    return { name, kind: 'other', path: p, detail: `unreadable: ${(err as Error).message}` };
  }
}

async function followLink(p: string) {
  try {
    return await fs.stat(p, { bigint: true });
  } catch {
    return undefined;
  }
}
