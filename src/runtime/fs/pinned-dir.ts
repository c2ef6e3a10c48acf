/**
 * A directory held open by a file descriptor, and its entries addressed through it.
 *
 * Node has no openat/unlinkat. `/proc/self/fd/<fd>/<name>` gives the same guarantee: the
 * kernel resolves `/proc/self/fd/<fd>` to the held directory itself, wherever it has been
 * moved and whatever now sits at its old path, so `<name>` is looked up in exactly that
 * directory. A tenant who swaps a directory for a symlink between our check and our use
 * cannot redirect an open, unlink, rmdir or rename.
 *
 * Names are bytes: a tenant's names need not be UTF-8, and a name decoded to a string
 * (with U+FFFD for the bad bytes) no longer names the entry.
 */
import { BigIntStats, constants, promises as fsp } from 'fs';

// eslint-disable-next-line no-bitwise
const DIR_NOFOLLOW = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
// eslint-disable-next-line no-bitwise
const DIR_FOLLOW = constants.O_RDONLY | constants.O_DIRECTORY;
const SLASH = Buffer.from('/');

export class PinnedDir {
  /**
   * Opens a walk's starting directory. `follow` allows a symlink at `path` itself (an
   * operator-given root such as the export's mount point); below it nothing is followed.
   */
  static async open(path: string, follow = false): Promise<PinnedDir> {
    return PinnedDir.pin(await fsp.open(path, follow ? DIR_FOLLOW : DIR_NOFOLLOW), Buffer.from(path));
  }

  private static async pin(handle: fsp.FileHandle, path: Buffer): Promise<PinnedDir> {
    try {
      return new PinnedDir(handle, path, await handle.stat({ bigint: true }));
    } catch (error) {
      await handle.close().catch(() => undefined);
      throw error;
    }
  }

  private mountIdRead?: Promise<string | undefined>;

  private constructor(
    readonly handle: fsp.FileHandle,
    /** The path this directory was reached by (for messages and the mount table). */
    readonly path: Buffer,
    /** Its fstat when opened: device, inode, blocks. */
    readonly stat: BigIntStats,
  ) {}

  /** `name` inside exactly this directory, as a path the kernel resolves through the descriptor. */
  at(name: Buffer | string): Buffer {
    return Buffer.concat([Buffer.from(`/proc/self/fd/${this.handle.fd}/`), toBytes(name)]);
  }

  /** Where `name` is, by path (never used to reach it; for messages and the mount table). */
  pathOf(name: Buffer | string): Buffer {
    return Buffer.concat([this.path, SLASH, toBytes(name)]);
  }

  /**
   * Opens the child directory `name` without following a symlink. Fails with ELOOP when it
   * is a symlink, ENOTDIR when it is not a directory, ENOENT when it is gone.
   */
  async openChild(name: Buffer | string): Promise<PinnedDir> {
    return PinnedDir.pin(await fsp.open(this.at(name), DIR_NOFOLLOW), this.pathOf(name));
  }

  /** True when this is the directory `seen` (an lstat taken before opening it) describes. */
  is(seen: Pick<BigIntStats, 'dev' | 'ino'>): boolean {
    return this.stat.dev === seen.dev && this.stat.ino === seen.ino;
  }

  /**
   * True when `other` is on the same mount as this directory. The device alone does not
   * tell: a bind mount of the same filesystem has the same device, so the mount id the
   * kernel gives for each descriptor is compared too.
   */
  async sameMount(other: PinnedDir): Promise<boolean> {
    if (this.stat.dev !== other.stat.dev) return false;
    const [mine, theirs] = await Promise.all([this.mountId(), other.mountId()]);
    return mine === undefined || theirs === undefined || mine === theirs;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }

  /**
   * The id of the mount this directory is on, as the kernel gives it for the descriptor
   * (mountinfo's first field); undefined on kernels before 3.15.
   */
  mountId(): Promise<string | undefined> {
    this.mountIdRead ??= fsp.readFile(`/proc/self/fdinfo/${this.handle.fd}`, 'utf8').then(
      (info) => /^mnt_id:\s*(\d+)$/m.exec(info)?.[1],
      () => undefined, // kernels before 3.15: the device check stands alone
    );
    return this.mountIdRead;
  }
}

function toBytes(name: Buffer | string): Buffer {
  return typeof name === 'string' ? Buffer.from(name, 'utf8') : name;
}
