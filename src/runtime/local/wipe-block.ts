/**
 * Block volume cleanup: the guard (is this the published device, and is nothing using it?)
 * and the cleaners. The guard opens the device with O_EXCL, which the kernel refuses while
 * the device (or a partition of it) is mounted or claimed anywhere on the host, including
 * mounts this container cannot see; the mount table and sysfs holders give the clearer
 * message first.
 */
import { constants, promises as fs } from 'fs';
import type { FileHandle } from 'fs/promises';
import { DeviceIdentity, devnoOf, holdersOf, identityMismatch, partitionsOf, readDeviceIdentity, SYSFS } from './device';
import { MountTable } from './mountinfo';
import { BlockCleanerKind, DEFAULT_CLEANER_PASSES } from '../../contract/values';
import { CommandRunner, runCommand } from '../core/command';

/** A device that passed the guard, opened exclusively. */
export interface GuardedDevice {
  /** The device node with symlinks resolved. */
  readonly devicePath: string;
  readonly identity: DeviceIdentity;
  /** O_EXCL handle: while open, nothing can mount or claim the device. */
  readonly handle: FileHandle;
}

export type GuardResult = { readonly ok: true; readonly device: GuardedDevice } | { readonly ok: false; readonly message: string };

/** Checks that `entryPath` is the device `recorded` at publication and that nothing uses it. */
export async function guardBlockDevice(
  entryPath: string, recorded: DeviceIdentity, mounts: MountTable, sysRoot: string = SYSFS,
): Promise<GuardResult> {
  let devicePath: string;
  let rdev: bigint;
  try {
    devicePath = await fs.realpath(entryPath);
    const st = await fs.stat(devicePath, { bigint: true });
    if (!st.isBlockDevice()) return { ok: false, message: `${entryPath} is no longer a block device` };
    rdev = st.rdev;
  } catch (err) {
    return { ok: false, message: `${entryPath} cannot be resolved: ${(err as Error).message}` };
  }
  const devno = devnoOf(rdev);
  const identity = await readDeviceIdentity(devno, sysRoot);
  const mismatch = identityMismatch(recorded, identity);
  if (mismatch !== undefined) return { ok: false, message: `${entryPath} is not the device that was published (${mismatch})` };

  for (const dev of [devno, ...await partitionsOf(devno, sysRoot)]) {
    const where = mounts.mountsOf(dev);
    if (where.length > 0) return { ok: false, message: `device ${dev} of ${entryPath} is mounted at ${where.join(', ')}` };
    const holders = await holdersOf(dev, sysRoot);
    if (holders.length > 0) return { ok: false, message: `device ${dev} of ${entryPath} is held by ${holders.join(', ')}` };
  }

  let handle: FileHandle;
  try {
    // eslint-disable-next-line no-bitwise
    handle = await fs.open(devicePath, constants.O_RDWR | constants.O_EXCL);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EBUSY' ? 'it is in use (mounted or claimed elsewhere on the host)' : (err as Error).message;
    return { ok: false, message: `${entryPath} cannot be opened exclusively: ${why}` };
  }
  // The name could have been re-pointed between the checks and the open; the handle is what counts.
  const opened = await handle.stat({ bigint: true });
  if (opened.rdev !== rdev) {
    await handle.close();
    return { ok: false, message: `${entryPath} changed while it was being checked` };
  }
  return { ok: true, device: { devicePath, identity, handle } };
}

/** A one-line description of what a cleaner does, for events. */
export function describeCleaner(kind: BlockCleanerKind, passes?: number): string {
  switch (kind) {
    case 'QUICK_RESET': return 'QUICK_RESET (wipefs --all: erase filesystem, RAID and partition-table signatures)';
    case 'SHRED': return `SHRED (shred -n ${passes ?? DEFAULT_CLEANER_PASSES.SHRED} -z: random passes, then zeros)`;
    case 'ZERO': return `ZERO (${passes ?? DEFAULT_CLEANER_PASSES.ZERO} pass(es) of zeros over the whole device)`;
    case 'BLKDISCARD': return 'BLKDISCARD (blkdiscard: discard every block)';
  }
}

/**
 * Runs the cleaner on a guarded device and closes its handle. wipefs and blkdiscard take
 * their own O_EXCL open (and refuse a busy device), so the guard's handle is released just
 * before them; shred does not, so the guard's handle stays open while it runs; ZERO writes
 * through the guard's handle itself.
 */
export async function runBlockCleaner(
  device: GuardedDevice, kind: BlockCleanerKind, passes: number | undefined, run: CommandRunner = runCommand,
): Promise<string> {
  const { devicePath, handle } = device;
  try {
    switch (kind) {
      case 'QUICK_RESET':
        await handle.close();
        return await run('wipefs', ['--all', devicePath]);
      case 'BLKDISCARD':
        await handle.close();
        return await run('blkdiscard', [devicePath]);
      case 'SHRED':
        return await run('shred', ['-n', String(passes ?? DEFAULT_CLEANER_PASSES.SHRED), '-z', devicePath]);
      case 'ZERO':
        return await zeroDevice(handle, passes ?? DEFAULT_CLEANER_PASSES.ZERO);
    }
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function zeroDevice(handle: FileHandle, passes: number): Promise<string> {
  const chunk = Buffer.alloc(4 * 1024 * 1024);
  let size = 0;
  for (let pass = 0; pass < passes; pass++) {
    let position = 0;
    for (;;) {
      // Writing until the device ends (a short or ENOSPC write) needs no size lookup.
      let written: number;
      try {
        ({ bytesWritten: written } = await handle.write(chunk, 0, chunk.length, position));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
        throw err;
      }
      position += written;
      if (written < chunk.length) break;
    }
    await handle.datasync();
    size = position;
  }
  return `wrote zeros over ${size} bytes, ${passes} pass(es)`;
}
