/**
 * `--quota=none`: each volume is a plain directory on the backing filesystem, exported on
 * its own like subdir mode's directories. Its size is recorded (the PV's capacity, grown by
 * a resize) but not enforced. Usage is the walk subdir mode uses (nfs/usage.ts): statvfs of
 * a directory reports the whole backing filesystem, not the volume.
 *
 * The volume's directory is `volumes/<pv>/data`, beside its record, so onDelete RETAIN
 * keeps both by moving the one folder. ganesha's VFS backend serves sibling exports of one
 * filesystem; its file handles carry the export id and the kernel's handle of the file,
 * both stable across restarts.
 */
import { promises as fsp } from 'fs';
import type { VolumeBackend, VolumeUsage } from './backend';
import type { ServerLayout } from './layout';
import type { VolumeRecord } from './volume-record';
import type { QuotaMode } from '../../contract/values';
import { Limiter } from '../core/limiter';
import { walkVolume } from '../nfs/usage';

/** File system calls in flight at once while one volume is measured on request. */
const WALK_CONCURRENCY = 16;

export class DirectoryBackend implements VolumeBackend {
  readonly mode: QuotaMode = 'none';

  constructor(protected readonly layout: ServerLayout) {}

  /** Any backing filesystem holds directories. */
  async preflight(): Promise<void> {}

  /** Nothing of a plain directory is overhead: the claim is the size. */
  requestForClaim(claimBytes: number): number {
    return claimBytes;
  }

  sizeFor(requestBytes: number): number {
    return requestBytes;
  }

  growTarget(currentBytes: number, requestBytes: number): number | undefined {
    return requestBytes > currentBytes ? requestBytes : undefined;
  }

  allocate(record: VolumeRecord, _live: Iterable<VolumeRecord>): VolumeRecord {
    return record;
  }

  servedPath(pv: string): string {
    return this.layout.dataDirectory(pv);
  }

  dataPath(pv: string): string {
    return this.layout.dataDirectory(pv);
  }

  archivedName(pv: string, suffix: string): string {
    return `${pv}-${suffix}`;
  }

  async make(record: VolumeRecord): Promise<void> {
    const dir = this.layout.dataDirectory(record.pv);
    await fsp.mkdir(dir, { recursive: true });
    await fsp.chown(dir, record.uid, record.gid);
    // chmod, not mkdir's mode: the umask would take bits away.
    await fsp.chmod(dir, record.mode);
  }

  /** A directory needs nothing to be served again. */
  async attach(_record: VolumeRecord): Promise<void> {}

  /** The size is recorded only (the caller writes the record). */
  async grow(_record: VolumeRecord, _sizeBytes: number): Promise<void> {}

  /** Nothing is mounted: without its export file the directory is not served. */
  async detach(_pv: string): Promise<void> {}

  async release(_pv: string, _record: VolumeRecord | undefined, _keep: boolean): Promise<void> {}

  /** A full walk of the directory (allocated blocks, as `du`); the capacity is the recorded size. */
  async usage(record: VolumeRecord): Promise<VolumeUsage> {
    const walked = await walkVolume(this.layout.volumesDir, this.layout.dataDirectoryBelowVolumes(record.pv), {
      limiter: new Limiter(WALK_CONCURRENCY),
      deadline: Infinity,
      now: Date.now,
    });
    const usedBytes = Number(walked.bytes);
    return { capacityBytes: record.sizeBytes, usedBytes, availableBytes: Math.max(0, record.sizeBytes - usedBytes) };
  }
}
