/**
 * `--quota=loop-image`: each volume is an XFS image file loop-mounted on its own mountpoint,
 * so its size is a hard limit on any backing filesystem. `mount -o loop` sets autoclear, so
 * a loop device never outlives its mount or the pod's mount namespace.
 */
import { promises as fsp } from 'fs';
import type { VolumeBackend, VolumeUsage } from './backend';
import type { ServerLayout } from './layout';
import { growTarget, imageRequestForClaim, imageSizeFor } from './sizes';
import type { VolumeRecord } from './volume-record';
import type { CommandRunner } from '../core/command';
import { exists } from '../fs/exists';
import { MountTable } from '../local/mountinfo';

export class LoopImageBackend implements VolumeBackend {
  readonly mode = 'loop-image' as const;

  /** `preallocate`: allocate image blocks up front (`fallocate`) instead of leaving images sparse. */
  constructor(private readonly layout: ServerLayout, private readonly run: CommandRunner, private readonly preallocate: boolean) {}

  /** Any backing filesystem holds image files. */
  async preflight(): Promise<void> {}

  /** The claim plus XFS's log, so the filesystem (`df` in a pod) holds the claim. */
  requestForClaim(claimBytes: number): number {
    return imageRequestForClaim(claimBytes);
  }

  /** Whole MiB, at least the 300 MiB mkfs.xfs supports. */
  sizeFor(requestBytes: number): number {
    return imageSizeFor(requestBytes);
  }

  growTarget(currentBytes: number, requestBytes: number): number | undefined {
    return growTarget(currentBytes, requestBytes);
  }

  allocate(record: VolumeRecord): VolumeRecord {
    return record;
  }

  servedPath(pv: string): string {
    return this.layout.mountpoint(pv);
  }

  dataPath(pv: string): string {
    return this.layout.image(pv);
  }

  archivedName(pv: string, suffix: string): string {
    return `${pv}-${suffix}.img`;
  }

  async make(record: VolumeRecord): Promise<void> {
    await this.sizeImage(this.layout.image(record.pv), record.sizeBytes, 'wx');
    await this.run('mkfs.xfs', ['-q', '-f', this.layout.image(record.pv)]);
    await this.attach(record);
  }

  /** Mounts the image on its (immutable while empty) mountpoint, unless it is mounted already. */
  async attach(record: VolumeRecord): Promise<void> {
    const mountpoint = this.layout.mountpoint(record.pv);
    if ((await MountTable.read()).isMountPoint(mountpoint)) return;
    if (!await exists(mountpoint)) {
      await fsp.mkdir(mountpoint);
      // If the image is ever not mounted here, ganesha would serve this directory on the
      // backing disk, unlimited; immutable, it refuses every write instead.
      await this.run('chattr', ['+i', mountpoint]);
    }
    await this.run('mount', ['-t', 'xfs', '-o', 'loop', this.layout.image(record.pv), mountpoint]);
    await fsp.chown(mountpoint, record.uid, record.gid);
    await fsp.chmod(mountpoint, record.mode);
  }

  /** Image, loop device, filesystem, in that order (XFS grows online). */
  async grow(record: VolumeRecord, sizeBytes: number): Promise<void> {
    const image = this.layout.image(record.pv);
    const mountpoint = this.layout.mountpoint(record.pv);
    if ((await fsp.stat(image)).size < sizeBytes) await this.sizeImage(image, sizeBytes, 'r+');
    const loop = (await MountTable.read()).mountAt(mountpoint)?.source;
    if (!loop?.startsWith('/dev/loop')) throw new Error(`volume ${record.pv} is not loop-mounted at ${mountpoint}`);
    await this.run('losetup', ['-c', loop]);
    await this.run('xfs_growfs', [mountpoint]);
  }

  /** Unmounts the image and removes its mountpoint. */
  async detach(pv: string): Promise<void> {
    const mountpoint = this.layout.mountpoint(pv);
    if ((await MountTable.read()).isMountPoint(mountpoint)) await this.run('umount', [mountpoint]);
    if (await exists(mountpoint)) {
      await this.run('chattr', ['-i', mountpoint]);
      await fsp.rmdir(mountpoint);
    }
  }

  /** The image is all there is. */
  async release(): Promise<void> {}

  /** statvfs of the volume's own filesystem: exact and cheap, nothing is walked. */
  async usage(record: VolumeRecord): Promise<VolumeUsage> {
    const s = await fsp.statfs(this.layout.mountpoint(record.pv));
    return { capacityBytes: s.blocks * s.bsize, usedBytes: (s.blocks - s.bfree) * s.bsize, availableBytes: s.bavail * s.bsize };
  }

  /** Gives the image file `sizeBytes`: sparse (truncate), or allocated when preallocating. */
  private async sizeImage(image: string, sizeBytes: number, flags: 'wx' | 'r+'): Promise<void> {
    const handle = await fsp.open(image, flags, 0o600);
    try {
      await handle.truncate(sizeBytes);
    } finally {
      await handle.close();
    }
    if (this.preallocate) await this.run('fallocate', ['-l', String(sizeBytes), image]);
  }
}
