/**
 * Removes everything inside a pinned directory; the directory itself stays. The local
 * filesystem wipe and the NFS volume delete both use it. The tree belongs to a tenant who
 * may still be changing it while we work, so:
 *  - every entry is addressed through its pinned parent (pinned-dir.ts); a symlink, file or
 *    socket is unlinked, which removes the entry itself and never touches a target;
 *  - a directory is opened O_NOFOLLOW relative to its parent and must be the directory an
 *    lstat just showed (device and inode); otherwise it was swapped, is not entered, and is
 *    looked at again in the next pass;
 *  - nothing on another device or another mount (a bind mount of the same filesystem
 *    included) is entered or removed: it is reported as kept;
 *  - directories are streamed (read-entries.ts), and read again until a pass finds nothing
 *    to do, since entries can be missed while others are removed;
 *  - at most {@link MAX_PINNED_DEPTH} directories are held open: deeper ones are moved up
 *    into the top directory and emptied from there, so a tree deeper than PATH_MAX goes too.
 */
import { randomBytes } from 'crypto';
import { BigIntStats, promises as fsp } from 'fs';
import { PinnedDir } from './pinned-dir';
import { readEntries } from './read-entries';
import { errorAt, showPath } from './show-path';

/** Directories held open at once below the top (each also holds one open listing). */
export const MAX_PINNED_DEPTH = 32;
/** Name prefix of a deep directory moved up into the top directory. */
const MOVED_UP_PREFIX = '.cdk8s-storage-deep-';
/**
 * Passes over one directory that keep finding new or changed entries before we give up:
 * someone is writing as fast as we delete. The caller fails and retries later.
 */
const MAX_BUSY_PASSES = 100;
/** Unlinks in flight at once in one directory. */
const CONCURRENT_UNLINKS = 16;

export interface EmptyTreeOptions {
  /**
   * Whether `path` is a mount point by the mount table: a second opinion for a file
   * bind-mounted over a file, which no descriptor check sees before the unlink.
   */
  readonly isMountPoint?: (path: string) => boolean;
}

export interface EmptyTreeResult {
  /** Entries removed (files, links, directories ...). */
  readonly removed: number;
  /** Mounts found inside, left untouched (paths as shown in messages). */
  readonly kept: string[];
}

/** Empties `top`. Throws (with the path shown safely) on any failure but "it is a mount". */
export async function emptyTree(top: PinnedDir, options: EmptyTreeOptions = {}): Promise<EmptyTreeResult> {
  const walk = new TreeEmptier(top, options);
  await walk.empty(top, 0);
  return { removed: walk.removed, kept: [...walk.kept] };
}

/** What happened to one entry. `changed`: it was not what we looked at; the next pass sees it again. */
type Outcome = 'removed' | 'gone' | 'kept' | 'moved' | 'changed';

/** What one pass over a directory did. */
class Pass {
  keptInside = false;
  changed = false;
  moved = false;

  note(outcome: Outcome): void {
    this.keptInside ||= outcome === 'kept';
    this.moved ||= outcome === 'moved';
    this.changed ||= outcome === 'removed' || outcome === 'changed';
  }
}

class TreeEmptier {
  removed = 0;
  readonly kept = new Set<string>();

  constructor(private readonly top: PinnedDir, private readonly options: EmptyTreeOptions) {}

  /**
   * Empties `dir` (at `depth` below the top); true when something must stay inside it.
   * Entries the listing calls non-directories are unlinked {@link CONCURRENT_UNLINKS} at a
   * time (deleting is mostly waiting for the kernel); directories one at a time, so open
   * descriptors stay bounded. Every call on `dir` has ended when this returns or throws:
   * the caller then closes its descriptor, and a late call on a reused number would land
   * in whatever directory was opened next.
   */
  async empty(dir: PinnedDir, depth: number): Promise<boolean> {
    for (let busy = 0; ;) {
      const pass = new Pass();
      const unlinking: Array<Promise<void>> = [];
      const directories: Buffer[] = [];
      const settle = async () => {
        const failed = (await Promise.allSettled(unlinking.splice(0))).find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
        for (const name of directories.splice(0)) pass.note(await this.removeEntry(dir, name, depth));
      };
      try {
        for await (const entry of readEntries(dir)) {
          if (entry.directory) {
            directories.push(entry.name);
            await settle();
            continue;
          }
          // A directory after all (the listing was stale, or does not say): handled at the next settle.
          const unlinked = this.unlinkListed(dir, entry.name).then((o) => (o === 'directory' ? void directories.push(entry.name) : pass.note(o)));
          // Its failure is read at the next settle; until then it must not count as unhandled
          // (Node ends the process on an unhandled rejection while we await the listing).
          unlinked.catch(() => undefined);
          unlinking.push(unlinked);
          if (unlinking.length >= CONCURRENT_UNLINKS) await settle();
        }
        await settle();
      } catch (error) {
        await Promise.allSettled(unlinking);
        throw errorAt(error, dir.path); // a failed listing; errors below name their own path
      }
      if (!pass.changed && !pass.moved) return pass.keptInside;
      // Deep directories moved into the top are work we made ourselves, not a busy writer.
      if (!pass.moved && ++busy > MAX_BUSY_PASSES) {
        throw new Error(`${showPath(dir.path)} still had new or changed entries after ${MAX_BUSY_PASSES} passes: something is writing to it`);
      }
    }
  }

  /** An entry the listing calls a non-directory: unlinked without a look first. */
  private async unlinkListed(dir: PinnedDir, name: Buffer): Promise<Outcome | 'directory'> {
    if (this.isMountPoint(dir, name)) return this.keep(dir.pathOf(name));
    return this.unlink(dir, name);
  }

  /** Any entry, looked at first: removed if it is a file, emptied and removed if it is a directory. */
  private async removeEntry(dir: PinnedDir, name: Buffer, depth: number): Promise<Outcome> {
    if (this.isMountPoint(dir, name)) return this.keep(dir.pathOf(name));
    const seen = await fsp.lstat(dir.at(name), { bigint: true }).catch((error) => ignore(error, 'ENOENT', dir.pathOf(name)));
    if (!seen) return 'gone';
    if (seen.dev !== this.top.stat.dev) return this.keep(dir.pathOf(name));
    if (!seen.isDirectory()) {
      const unlinked = await this.unlink(dir, name);
      return unlinked === 'directory' ? 'changed' : unlinked;
    }
    if (depth + 1 > MAX_PINNED_DEPTH) return this.moveUp(dir, name);
    return this.removeDirectory(dir, name, seen, depth + 1);
  }

  private isMountPoint(dir: PinnedDir, name: Buffer): boolean {
    return this.options.isMountPoint?.(dir.pathOf(name).toString('utf8')) ?? false;
  }

  private async removeDirectory(parent: PinnedDir, name: Buffer, seen: BigIntStats, depth: number): Promise<Outcome> {
    let child: PinnedDir;
    try {
      child = await parent.openChild(name);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Gone, or swapped for a symlink or a file since the lstat: never entered.
      if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') return 'changed';
      throw errorAt(error, parent.pathOf(name));
    }
    let keptInside: boolean;
    try {
      if (!child.is(seen)) return 'changed'; // another directory was swapped in
      if (!(await child.sameMount(this.top))) return this.keep(child.path);
      keptInside = await this.empty(child, depth);
    } finally {
      await child.close();
    }
    try {
      await fsp.rmdir(parent.at(name));
      this.removed++;
      return 'removed';
    } catch (error) {
      switch ((error as NodeJS.ErrnoException).code) {
        case 'ENOENT':
          return 'gone';
        case 'ENOTEMPTY':
        case 'EEXIST':
          // Mounts below are reported already; otherwise something was added meanwhile.
          return keptInside ? 'kept' : 'changed';
        case 'EBUSY':
          return this.keep(parent.pathOf(name));
        case 'ENOTDIR':
          return 'changed';
        default:
          throw errorAt(error, parent.pathOf(name));
      }
    }
  }

  /** Moves a directory too deep to pin into the top, where a later pass of the top empties it. */
  private async moveUp(parent: PinnedDir, name: Buffer): Promise<Outcome> {
    try {
      await fsp.rename(parent.at(name), this.top.at(MOVED_UP_PREFIX + randomBytes(8).toString('hex')));
      return 'moved';
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return 'gone';
      if (code === 'EBUSY' || code === 'EXDEV') return this.keep(parent.pathOf(name)); // a mount point
      throw errorAt(error, parent.pathOf(name));
    }
  }

  /** Unlinks a non-directory; 'directory' when it turned out to be one (the listing was stale or unsure). */
  private async unlink(dir: PinnedDir, name: Buffer): Promise<Outcome | 'directory'> {
    try {
      await fsp.unlink(dir.at(name));
      this.removed++;
      return 'removed';
    } catch (error) {
      switch ((error as NodeJS.ErrnoException).code) {
        case 'ENOENT':
          return 'gone';
        case 'EISDIR':
          return 'directory';
        case 'EBUSY':
          return this.keep(dir.pathOf(name)); // a file bind-mounted over this one
        default:
          throw errorAt(error, dir.pathOf(name));
      }
    }
  }

  private keep(p: Buffer): 'kept' {
    this.kept.add(showPath(p));
    return 'kept';
  }
}

function ignore(error: unknown, code: string, p: Buffer): undefined {
  if ((error as NodeJS.ErrnoException).code === code) return undefined;
  throw errorAt(error, p);
}
