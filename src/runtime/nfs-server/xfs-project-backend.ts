/**
 * `--quota=xfs-project`: each volume is a directory (as with `--quota=none`) under an XFS
 * project quota of its own on a backing XFS mounted with prjquota; the project's hard block
 * limit is the volume's size. The commands and the id allocation are xfs-project-plan.ts's;
 * they run through the command runner like every other program the server runs.
 */
import { promises as fsp } from 'fs';
import type { VolumeUsage } from './backend';
import { DirectoryBackend } from './directory-backend';
import type { ServerLayout } from './layout';
import type { VolumeRecord } from './volume-record';
import { checkProjectQuotaMount, createCommands, growCommands, nextProjectId, releaseCommands, XfsQuotaArgs } from './xfs-project-plan';
import type { QuotaMode } from '../../contract/values';
import type { CommandRunner } from '../core/command';
import { exists } from '../fs/exists';
import { MountTable } from '../local/mountinfo';

export class XfsProjectBackend extends DirectoryBackend {
  override readonly mode: QuotaMode = 'xfs-project';
  /** The backing filesystem's mount point, found by {@link preflight}. */
  private filesystem?: string;

  /** `mounts` reads the mount table (this process's mountinfo unless a test gives another). */
  constructor(
    layout: ServerLayout,
    private readonly run: CommandRunner,
    private readonly mounts: () => Promise<MountTable> = () => MountTable.read(),
  ) {
    super(layout);
  }

  /** Refuses to start unless the data directory is on XFS mounted with prjquota (mountinfo, as the kernel reports it). */
  override async preflight(): Promise<void> {
    const dataDir = await fsp.realpath(this.layout.dataDir);
    this.filesystem = checkProjectQuotaMount(dataDir, (await this.mounts()).mountContaining(dataDir)).filesystem;
  }

  /** A project id no live volume (nor a create in progress) holds, kept in the record. */
  override allocate(record: VolumeRecord, live: Iterable<VolumeRecord>): VolumeRecord {
    return { ...record, projectId: nextProjectId([...live].map((r) => r.projectId)) };
  }

  override async make(record: VolumeRecord): Promise<void> {
    await super.make(record);
    await this.runAll(createCommands(this.fs(), this.layout.dataDirectory(record.pv), projectOf(record), record.sizeBytes));
  }

  /** Re-applies the recorded limit (the project id is on the directory already). */
  override async attach(record: VolumeRecord): Promise<void> {
    await this.runAll(growCommands(this.fs(), projectOf(record), record.sizeBytes));
  }

  override async grow(record: VolumeRecord, sizeBytes: number): Promise<void> {
    await this.runAll(growCommands(this.fs(), projectOf(record), sizeBytes));
  }

  override async release(pv: string, record: VolumeRecord | undefined, keep: boolean): Promise<void> {
    // Without a record the project id is unknown: the limit stays, harmless to any other volume.
    if (record?.projectId === undefined) return;
    const dir = this.layout.dataDirectory(pv);
    await this.runAll(releaseCommands(this.fs(), await exists(dir) ? dir : undefined, record.projectId, keep));
  }

  /**
   * statvfs of a directory that carries a project id with the inherit flag, on an XFS
   * mounted with prjquota, reports that project's limit as the size and its usage as the
   * used blocks (XFS does so for exactly this use): the volume's own figures, without a walk.
   */
  override async usage(record: VolumeRecord): Promise<VolumeUsage> {
    const s = await fsp.statfs(this.layout.dataDirectory(record.pv));
    return { capacityBytes: s.blocks * s.bsize, usedBytes: (s.blocks - s.bfree) * s.bsize, availableBytes: s.bavail * s.bsize };
  }

  private async runAll(commands: XfsQuotaArgs[]): Promise<void> {
    for (const args of commands) await this.run('xfs_quota', [...args]);
  }

  private fs(): string {
    if (!this.filesystem) throw new Error('the xfs-project preflight has not run: the backing filesystem is not known');
    return this.filesystem;
  }
}

function projectOf(record: VolumeRecord): number {
  if (record.projectId === undefined) throw new Error(`volume ${record.pv} has no XFS project id in its record`);
  return record.projectId;
}
