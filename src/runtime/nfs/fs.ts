/**
 * The file system executor: the only code that touches the NFS export.
 *
 * Every path below the root is walked one component at a time, and each directory is
 * pinned by an open file descriptor (opened with O_NOFOLLOW | O_DIRECTORY) before
 * anything inside it is touched. Children are addressed through `/proc/self/fd/<fd>/<name>`,
 * which the kernel resolves to the pinned directory itself, so a component swapped for a
 * symlink between our check and our use cannot redirect a mkdir, rename, unlink or rmdir
 * (Node has no mkdirat/unlinkat; this gives the same guarantee). A symlink anywhere on
 * the way is refused; inside a volume being deleted, a symlink is removed, never followed.
 */
import { constants, promises as fsp } from 'fs';
import * as path from 'path';
import { CrashJournal } from './journal';
import { ARCHIVE_PREFIX, CONTROLLER_DIR_PREFIX, MAX_SEGMENT_BYTES, resolveUnderRoot } from '../../contract/path-template';

export { ARCHIVE_PREFIX };
import { emptyTree } from '../fs/empty-tree';
import { PinnedDir } from '../fs/pinned-dir';
import { closeAll, entryKind, mkdirIfMissing } from '../fs/pinned-entries';
import { hasEntries } from '../fs/read-entries';
import { showPath } from '../fs/show-path';
import type { ArchiveResult, EnsureResult, RetainedDirectory, UnfinishedVolume, VolumeFs } from '../ports/volume-fs';

/** What went wrong, for metrics and for choosing the event text. */
export type FsErrorKind = 'invalid-path' | 'symlink' | 'not-a-directory' | 'name-too-long' | 'permission' | 'no-space' | 'io';

export class FsError extends Error {
  constructor(readonly kind: FsErrorKind, message: string, readonly code?: string) {
    super(message);
    this.name = 'FsError';
  }
}

/** Mode of the intermediate directories a nested pattern creates. */
const PARENT_MODE = 0o755;
// eslint-disable-next-line no-bitwise
const DIR_FOLLOW = constants.O_RDONLY | constants.O_DIRECTORY;
export class NfsRootFs implements VolumeFs {
  /** Fails when `/proc/self/fd` is not there (the controller only runs on Linux). */
  static async check(root: string): Promise<void> {
    const st = await fsp.stat(root).catch(() => undefined);
    if (!st?.isDirectory()) throw new FsError('invalid-path', `the NFS root ${root} does not exist or is not a directory: mount the export there`);
    const handle = await fsp.open(root, DIR_FOLLOW);
    try {
      await fsp.readdir(`/proc/self/fd/${handle.fd}`);
    } catch {
      throw new FsError('io', '/proc/self/fd is not available: the controller needs Linux with /proc mounted');
    } finally {
      await handle.close();
    }
  }

  /** The notes that outlive a crash (journal.ts); they live on the export next to the volumes. */
  private readonly journal = new CrashJournal({
    openRoot: () => this.openRoot(),
    openChild: (parent, name) => this.openChild(parent, name),
    wrap: (error, relativePath) => this.wrap(error, relativePath),
    checkPath: (relativePath) => {
      this.segments(relativePath);
    },
    invalidName: (pvName) => new FsError('invalid-path', `${JSON.stringify(pvName)} is not a PersistentVolume name`),
  });

  constructor(private readonly root: string) {}

  async ensureDirectory(relativePath: string, mode: number): Promise<EnsureResult> {
    const segments = this.segments(relativePath);
    if (segments[0].startsWith(CONTROLLER_DIR_PREFIX)) {
      throw new FsError('invalid-path', `${this.show(segments[0])} is reserved for the controller's own notes (prefix "${CONTROLLER_DIR_PREFIX}"): use another name or pathPattern`);
    }
    if (segments[0].startsWith(ARCHIVE_PREFIX)) {
      // Archives hold deleted claims' data, and a volume under such a name could be taken for
      // one (or an archive renamed onto it): never hand out, never make one for a claim.
      throw new FsError('invalid-path', `${this.show(segments[0])} has the prefix of archives ("${ARCHIVE_PREFIX}"); a volume never gets such a name: use another name or pathPattern`);
    }
    const held: PinnedDir[] = [];
    try {
      let dir = await this.openRoot();
      held.push(dir);
      let created = false;
      for (let i = 0; i < segments.length; i++) {
        const leaf = i === segments.length - 1;
        created = await mkdirIfMissing(dir, segments[i], leaf ? mode : PARENT_MODE);
        dir = await this.openChild(dir, segments[i]);
        held.push(dir);
        // mkdir's mode is cut by the umask; set it exactly. Parents we did not create and
        // volumes that already hold data keep their mode (a database may have chmod-ed its directory).
        if (created && !leaf) await dir.handle.chmod(PARENT_MODE);
      }
      if (created || !(await hasEntries(dir))) {
        await dir.handle.chmod(mode);
      }
      return { created };
    } catch (error) {
      throw this.wrap(error, relativePath);
    } finally {
      await closeAll(held);
    }
  }

  async removeDirectory(relativePath: string): Promise<'removed' | 'missing'> {
    const segments = this.segments(relativePath);
    const held: PinnedDir[] = [];
    try {
      const parent = await this.openParent(segments, held);
      if (!parent) return 'missing';
      const name = segments[segments.length - 1];
      const kind = await entryKind(parent, name);
      if (kind === 'missing') return 'missing';
      if (kind !== 'directory') {
        throw new FsError(kind === 'symlink' ? 'symlink' : 'not-a-directory',
          `${this.show(relativePath)} is ${kind === 'symlink' ? 'a symbolic link' : 'not a directory'}, not the volume directory this controller made: remove it on the server by hand`);
      }
      await this.removeTree(parent, name);
      return 'removed';
    } catch (error) {
      throw this.wrap(error, relativePath);
    } finally {
      await closeAll(held);
    }
  }

  async exists(relativePath: string): Promise<boolean> {
    const segments = this.segments(relativePath);
    const held: PinnedDir[] = [];
    try {
      const parent = await this.openParent(segments, held);
      return parent !== undefined && await entryKind(parent, segments[segments.length - 1]) !== 'missing';
    } catch (error) {
      throw this.wrap(error, relativePath);
    } finally {
      await closeAll(held);
    }
  }

  async archiveDirectory(relativePath: string, uniqueSuffix: string, isTaken: (name: string) => boolean = () => false): Promise<ArchiveResult> {
    const segments = this.segments(relativePath);
    const held: PinnedDir[] = [];
    try {
      const parent = await this.openParent(segments, held);
      if (!parent) return { outcome: 'missing' };
      const name = segments[segments.length - 1];
      const kind = await entryKind(parent, name);
      if (kind === 'missing') return { outcome: 'missing' };
      if (kind !== 'directory') {
        throw new FsError(kind === 'symlink' ? 'symlink' : 'not-a-directory',
          `${this.show(relativePath)} is ${kind === 'symlink' ? 'a symbolic link' : 'not a directory'}; refusing to archive it`);
      }
      const root = held[0];
      for (const candidate of archiveNames(relativePath, uniqueSuffix)) {
        // A live volume's directory (from before claims were kept away from the prefix) is
        // never the target, even when it is empty: its claim would receive this data.
        if (isTaken(candidate)) continue;
        // Claim the name by creating it: mkdir is atomic, so an earlier archive is never
        // replaced. rename() may replace an *empty* directory, which is the one we just made
        // (or one left by a crash between these two steps).
        const made = await mkdirIfMissing(root, candidate, 0o700);
        if (!made && !(await isEmptyDir(root, candidate))) continue;
        await fsp.rename(parent.at(name), root.at(candidate));
        return { outcome: 'archived', archivedAs: candidate };
      }
      throw new FsError('io', `no free archive name for ${this.show(relativePath)}`);
    } catch (error) {
      throw this.wrap(error, relativePath);
    } finally {
      await closeAll(held);
    }
  }

  async removeEmptyParents(relativePath: string): Promise<void> {
    const segments = this.segments(relativePath);
    if (segments.length < 2) return;
    const held: PinnedDir[] = [];
    try {
      let dir = await this.openRoot();
      held.push(dir);
      for (const segment of segments.slice(0, -1)) {
        const next = await this.openChild(dir, segment).catch(() => undefined);
        if (!next) break;
        dir = next;
        held.push(dir);
      }
      // held[i] is the directory holding segments[i]; remove from the deepest parent up.
      for (let i = held.length - 1; i >= 1; i--) {
        const removed = await fsp.rmdir(held[i - 1].at(segments[i - 1])).then(() => true, () => false);
        if (!removed) break;
      }
    } catch (error) {
      throw this.wrap(error, relativePath);
    } finally {
      await closeAll(held);
    }
  }

  async removeIfEmpty(relativePath: string): Promise<boolean> {
    const segments = this.segments(relativePath);
    const held: PinnedDir[] = [];
    try {
      const parent = await this.openParent(segments, held);
      if (!parent) return false;
      return await fsp.rmdir(parent.at(segments[segments.length - 1])).then(() => true, () => false);
    } finally {
      await closeAll(held);
    }
  }

  recordUnfinished(pvName: string, relativePath: string): Promise<void> {
    return this.journal.recordUnfinished(pvName, relativePath);
  }

  clearUnfinished(pvName: string): Promise<void> {
    return this.journal.clearUnfinished(pvName);
  }

  listUnfinished(): Promise<UnfinishedVolume[]> {
    return this.journal.listUnfinished();
  }

  recordRetained(record: RetainedDirectory): Promise<void> {
    return this.journal.recordRetained(record);
  }

  listRetained(): Promise<RetainedDirectory[]> {
    return this.journal.listRetained();
  }

  clearRetained(pvName: string): Promise<void> {
    return this.journal.clearRetained(pvName);
  }

  /** Validates a relative path and splits it; the lexical root check happens here. */
  private segments(relativePath: string): string[] {
    try {
      resolveUnderRoot(this.root, relativePath);
    } catch (error) {
      throw new FsError('invalid-path', (error as Error).message);
    }
    const segments = relativePath.split('/');
    for (const segment of segments) {
      if (segment === '' || segment === '.' || segment === '..') {
        throw new FsError('invalid-path', `path ${JSON.stringify(relativePath)} has an empty, "." or ".." component`);
      }
      if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) {
        throw new FsError('name-too-long', `directory name ${JSON.stringify(segment.slice(0, 40) + '...')} is longer than ${MAX_SEGMENT_BYTES} bytes`);
      }
    }
    return segments;
  }

  private async openRoot(): Promise<PinnedDir> {
    return PinnedDir.open(this.root, true);
  }

  /** Opens every directory above the last segment; undefined when one is missing. */
  private async openParent(segments: string[], held: PinnedDir[]): Promise<PinnedDir | undefined> {
    let dir = await this.openRoot();
    held.push(dir);
    for (const segment of segments.slice(0, -1)) {
      const kind = await entryKind(dir, segment);
      if (kind === 'missing') return undefined;
      dir = await this.openChild(dir, segment);
      held.push(dir);
    }
    return dir;
  }

  private async openChild(parent: PinnedDir, name: string): Promise<PinnedDir> {
    const display = showPath(parent.pathOf(name));
    try {
      return await parent.openChild(name);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR' || code === 'ELOOP') {
        const kind = await entryKind(parent, name);
        if (kind === 'symlink') {
          throw new FsError('symlink', `${display} is a symbolic link; the controller never follows links under the NFS root: remove the link on the server or use another pathPattern`);
        }
        throw new FsError('not-a-directory', `${display} exists and is not a directory: remove it on the server or use another pathPattern`);
      }
      throw error;
    }
  }

  /**
   * Deletes `name` inside `parent` and everything below it, without following a symlink
   * or entering another mount (../fs/empty-tree.ts).
   */
  private async removeTree(parent: PinnedDir, name: string): Promise<void> {
    const top = await this.openChild(parent, name);
    try {
      const { kept } = await emptyTree(top);
      if (kept.length > 0) {
        throw new FsError('io', `${kept.join(', ')} inside ${showPath(top.path)} is another mount; it was not entered and the volume is not removed: unmount it on the server`);
      }
    } finally {
      await top.close();
    }
    await fsp.rmdir(parent.at(name));
  }

  private show(relativePath: string): string {
    return showPath(path.posix.join(this.root, relativePath));
  }

  private wrap(error: unknown, relativePath: string): FsError {
    if (error instanceof FsError) return error;
    const e = error as NodeJS.ErrnoException;
    const where = this.show(relativePath);
    switch (e.code) {
      case 'ENAMETOOLONG':
        return new FsError('name-too-long', `a name in ${where} is too long for the file system: use shorter names or a shorter pathPattern`, e.code);
      case 'EACCES':
      case 'EPERM':
      case 'EROFS':
        return new FsError('permission', `permission denied writing ${where} (${e.code}, uid ${process.getuid?.() ?? '?'}): make the export writable for the controller; with root_squash, run it as the export's owner`, e.code);
      case 'ENOSPC':
      case 'EDQUOT':
        return new FsError('no-space', `no space left on the NFS export for ${where} (${e.code})`, e.code);
      case 'EINVAL':
      case 'EILSEQ':
        return new FsError('invalid-path', `the file system cannot hold the name ${where} (${e.code}): use plain names`, e.code);
      default:
        return new FsError('io', `${where}: ${describe(error)}`, e.code);
    }
  }
}

/** An error's text without the /proc/self/fd path Node names, which means nothing to a reader. */
function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const message = e?.message ?? String(error);
  return message.includes('/proc/self/fd/') ? `${e.syscall ?? 'access'} failed (${e.code ?? 'unknown error'})` : message;
}

/** Candidate archive names, first the plain one, then numbered ones. */
export function* archiveNames(relativePath: string, uniqueSuffix: string): Generator<string> {
  const flat = relativePath.replace(/\//g, '-');
  const tail = flat.includes(uniqueSuffix) ? '' : `-${uniqueSuffix}`;
  for (let n = 1; n <= 100; n++) {
    const counter = n === 1 ? '' : `-${n}`;
    const budget = MAX_SEGMENT_BYTES - Buffer.byteLength(ARCHIVE_PREFIX + tail + counter, 'utf8');
    yield ARCHIVE_PREFIX + truncateBytes(flat, budget) + tail + counter;
  }
}

function truncateBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch, 'utf8') > maxBytes) break;
    out += ch;
  }
  return out;
}

async function isEmptyDir(dir: PinnedDir, name: string): Promise<boolean> {
  if (await entryKind(dir, name) !== 'directory') return false;
  const child = await dir.openChild(name).catch(() => undefined);
  if (!child) return false;
  try {
    return !(await hasEntries(child));
  } finally {
    await child.close();
  }
}
