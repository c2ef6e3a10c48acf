/**
 * The server's volumes: one XFS image per volume, loop-mounted (`mount -o loop` sets
 * autoclear, so a loop device never outlives its mount or the pod), exported by ganesha.
 * Every multi-step change writes a journal note first and clears it last; {@link recover}
 * (run before ganesha starts) finishes or undoes whatever a crash cut short
 * (recovery.ts decides what).
 */
import { randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import type { ExportControl } from './export-control';
import { exportBlock } from './ganesha-config';
import { isVolumeName, ServerLayout } from './layout';
import { liveExportIds, ObservedVolume, planRecovery, RecoveryStep } from './recovery';
import { growTarget, imageSizeFor } from './sizes';
import { filesystemIdFor, JournalNote, nextExportId, VolumeRecord } from './volume-record';
import type { OnDeleteValue } from '../../contract/values';
import type { CommandRunner } from '../core/command';
import { MountTable } from '../local/mountinfo';

export interface NewVolume {
  readonly requestBytes: number;
  readonly onDelete: OnDeleteValue;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
}

export interface VolumeUsage {
  readonly capacityBytes: number;
  readonly usedBytes: number;
  readonly availableBytes: number;
}

export interface VolumeManagerOptions {
  readonly layout: ServerLayout;
  readonly run: CommandRunner;
  /** The running ganesha's export manager; absent while ganesha is not running (start-up). */
  readonly exports?: ExportControl;
  /** Allocate image blocks up front (`fallocate`) instead of leaving images sparse. */
  readonly preallocate: boolean;
  /** Called for what recovery did and found, one line each. */
  readonly report?: (message: string, fields: Record<string, unknown>) => void;
}

export class VolumeManager {
  private readonly layout: ServerLayout;
  private readonly run: CommandRunner;
  private exports?: ExportControl;
  /** Export ids of live volumes and creates in progress: never handed out twice. */
  private readonly liveIds = new Set<number>();
  /** Per-volume chain of operations: one change at a time per volume. */
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly options: VolumeManagerOptions) {
    this.layout = options.layout;
    this.run = options.run;
    this.exports = options.exports;
  }

  /** Connects the running ganesha (after recovery, once it serves). */
  attachExports(exports: ExportControl): void {
    this.exports = exports;
  }

  /**
   * Finishes or undoes every change a crash cut short and mounts every recorded volume with
   * its export file in place, so ganesha (started next) serves them all.
   */
  async recover(): Promise<RecoveryStep[]> {
    for (const dir of this.layout.directories) await fsp.mkdir(dir, { recursive: true });
    // Half-written records and export files: the rename that would have published them never happened.
    for (const name of await fsp.readdir(this.layout.stagingDir)) await fsp.rm(path.join(this.layout.stagingDir, name), { force: true });
    const observed = await this.observe();
    for (const id of liveExportIds(observed)) this.liveIds.add(id);
    const steps = planRecovery(observed);
    for (const step of steps) {
      await this.execute(step);
      this.options.report?.(`recovery: ${step.kind}`, { pv: step.pv });
    }
    return steps;
  }

  /**
   * Makes a volume: image, filesystem, mount, export. Idempotent: a volume that exists is
   * returned as it is (its export added again if ganesha lost it).
   */
  async create(pv: string, spec: NewVolume): Promise<VolumeRecord> {
    return this.serialized(pv, async () => {
      // A change cut short (a create that failed half-way, say) is finished or undone first.
      if (await this.readNote(pv)) await this.execute(planRecovery([await this.observeOne(pv)])[0]);
      const existing = await this.readRecord(pv);
      if (existing) {
        await this.exports?.add(this.layout.exportFile(pv), existing.exportId);
        return existing;
      }

      const exportId = nextExportId(this.liveIds);
      this.liveIds.add(exportId);
      const record: VolumeRecord = {
        pv,
        sizeBytes: imageSizeFor(spec.requestBytes),
        exportId,
        filesystemId: filesystemIdFor(exportId),
        onDelete: spec.onDelete,
        uid: spec.uid,
        gid: spec.gid,
        mode: spec.mode,
      };
      try {
        await this.writeNote(pv, { op: 'create', record });
        await fsp.mkdir(this.layout.volumeDir(pv));
        await this.sizeImage(this.layout.image(pv), record.sizeBytes, 'wx');
        await this.run('mkfs.xfs', ['-q', '-f', this.layout.image(pv)]);
        await this.mount(record);
        await this.publish(record);
        await this.exports?.add(this.layout.exportFile(pv), exportId);
        await this.clearNote(pv);
        return record;
      } catch (error) {
        // Leave the note: recovery (or the next create of this volume) undoes what was made.
        throw new Error(`creating volume ${pv}: ${(error as Error).message}`);
      }
    });
  }

  /**
   * Grows a volume online to hold `requestBytes`: image, loop device, filesystem, record,
   * in that order; returns the record once the filesystem has the new size.
   */
  async grow(pv: string, requestBytes: number): Promise<VolumeRecord> {
    return this.serialized(pv, async () => {
      const record = await this.mustRecord(pv);
      const target = growTarget(record.sizeBytes, requestBytes);
      if (target === undefined) return record;
      await this.writeNote(pv, { op: 'grow', sizeBytes: target });
      const grown = await this.growTo(record, target);
      await this.clearNote(pv);
      return grown;
    });
  }

  /** Removes a volume: unexport, unmount, then DELETE, RETAIN or ARCHIVE its image as recorded. */
  async remove(pv: string): Promise<'removed' | 'missing'> {
    return this.serialized(pv, async () => {
      const observed = await this.observeOne(pv);
      if (!observed.record && !observed.note && !observed.volumeDir && !observed.mounted && !observed.exportFile && !observed.mountpoint) return 'missing';
      if (observed.note?.op === 'create') {
        await this.execute({ kind: 'undo-create', pv });
        return 'removed';
      }
      await this.writeNote(pv, { op: 'remove' });
      await this.finishRemove(pv, observed.record);
      return 'removed';
    });
  }

  /** The volume's filesystem as statvfs sees it: exact and cheap. */
  async usage(pv: string): Promise<VolumeUsage> {
    const s = await fsp.statfs(this.layout.mountpoint(pv));
    return { capacityBytes: s.blocks * s.bsize, usedBytes: (s.blocks - s.bfree) * s.bsize, availableBytes: s.bavail * s.bsize };
  }

  /** The record of a live volume, if there is one. */
  async get(pv: string): Promise<VolumeRecord | undefined> {
    return this.readRecord(pv);
  }

  /** Names of the volumes with a record. */
  async list(): Promise<string[]> {
    return (await fsp.readdir(this.layout.volumesDir)).filter(isVolumeName).sort();
  }

  private async execute(step: RecoveryStep): Promise<void> {
    switch (step.kind) {
      case 'undo-create':
        await this.unserve(step.pv);
        await fsp.rm(this.layout.volumeDir(step.pv), { recursive: true, force: true });
        await this.releaseId(step.pv);
        await this.clearNote(step.pv);
        return;
      case 'finish-grow':
        await this.mount(step.record);
        await this.growTo(step.record, step.sizeBytes);
        await this.writeExportFile(step.record);
        await this.clearNote(step.pv);
        return;
      case 'finish-remove':
        await this.finishRemove(step.pv, step.record);
        return;
      case 'serve':
        await this.mount(step.record);
        await this.writeExportFile(step.record);
        return;
      case 'clear-orphan':
        await this.unserve(step.pv);
        await this.disposeImage(step.pv, 'ARCHIVE');
        await fsp.rm(this.layout.volumeDir(step.pv), { recursive: true, force: true });
        await this.clearNote(step.pv);
        return;
      case 'report-missing-image':
        // Without its file ganesha does not export the (empty, immutable) mountpoint in the image's stead.
        await fsp.rm(this.layout.exportFile(step.pv), { force: true });
        this.options.report?.('volume has a record but no image: not served', { pv: step.pv });
        return;
    }
  }

  private async finishRemove(pv: string, record: VolumeRecord | undefined): Promise<void> {
    await this.unserve(pv, record?.exportId);
    await this.disposeImage(pv, record?.onDelete ?? 'ARCHIVE');
    await fsp.rm(this.layout.volumeDir(pv), { recursive: true, force: true });
    if (record) this.liveIds.delete(record.exportId);
    await this.clearNote(pv);
  }

  /** Export removed (running server and file), filesystem unmounted, mountpoint gone. */
  private async unserve(pv: string, exportId?: number): Promise<void> {
    const id = exportId ?? (await this.readRecord(pv))?.exportId ?? (await this.readNote(pv).then((n) => n?.op === 'create' ? n.record.exportId : undefined));
    if (id !== undefined) await this.exports?.remove(id);
    await fsp.rm(this.layout.exportFile(pv), { force: true });
    const mountpoint = this.layout.mountpoint(pv);
    if ((await MountTable.read()).isMountPoint(mountpoint)) await this.run('umount', [mountpoint]);
    if (await exists(mountpoint)) {
      await this.run('chattr', ['-i', mountpoint]);
      await fsp.rmdir(mountpoint);
    }
  }

  /** DELETE unlinks the image, ARCHIVE moves it under archived/, RETAIN moves the volume's folder there whole. */
  private async disposeImage(pv: string, onDelete: OnDeleteValue): Promise<void> {
    const image = this.layout.image(pv);
    if (!await exists(image)) return;
    const suffix = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
    switch (onDelete) {
      case 'DELETE':
        await fsp.rm(image, { force: true });
        return;
      case 'ARCHIVE':
        await fsp.rename(image, this.layout.archivedImage(pv, suffix));
        return;
      case 'RETAIN':
        await fsp.rename(this.layout.volumeDir(pv), path.join(this.layout.archivedDir, `${pv}-retained-${suffix}`));
        return;
    }
  }

  /** Mounts the image on its (immutable while empty) mountpoint, unless it is mounted already. */
  private async mount(record: VolumeRecord): Promise<void> {
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

  private async growTo(record: VolumeRecord, sizeBytes: number): Promise<VolumeRecord> {
    const image = this.layout.image(record.pv);
    const mountpoint = this.layout.mountpoint(record.pv);
    if ((await fsp.stat(image)).size < sizeBytes) await this.sizeImage(image, sizeBytes, 'r+');
    const loop = (await MountTable.read()).mountAt(mountpoint)?.source;
    if (!loop?.startsWith('/dev/loop')) throw new Error(`volume ${record.pv} is not loop-mounted at ${mountpoint}`);
    await this.run('losetup', ['-c', loop]);
    await this.run('xfs_growfs', [mountpoint]);
    const grown = { ...record, sizeBytes };
    await this.writeAtomically(this.layout.record(record.pv), JSON.stringify(grown));
    return grown;
  }

  /** Gives the image file `sizeBytes`: sparse (truncate), or allocated when preallocating. */
  private async sizeImage(image: string, sizeBytes: number, flags: 'wx' | 'r+'): Promise<void> {
    const handle = await fsp.open(image, flags, 0o600);
    try {
      await handle.truncate(sizeBytes);
    } finally {
      await handle.close();
    }
    if (this.options.preallocate) await this.run('fallocate', ['-l', String(sizeBytes), image]);
  }

  /** Record, then export file: the record is what makes the volume recovered rather than undone. */
  private async publish(record: VolumeRecord): Promise<void> {
    await this.writeAtomically(this.layout.record(record.pv), JSON.stringify(record));
    await this.writeExportFile(record);
  }

  private async writeExportFile(record: VolumeRecord): Promise<void> {
    await this.writeAtomically(this.layout.exportFile(record.pv), exportBlock(record, this.layout.mountpoint(record.pv)));
  }

  private async releaseId(pv: string): Promise<void> {
    const note = await this.readNote(pv);
    if (note?.op === 'create') this.liveIds.delete(note.record.exportId);
  }

  private async observe(): Promise<ObservedVolume[]> {
    const names = new Set<string>();
    for (const name of await fsp.readdir(this.layout.volumesDir)) names.add(name);
    for (const name of await fsp.readdir(this.layout.mountsDir)) names.add(name);
    for (const name of await fsp.readdir(this.layout.exportsDir)) names.add(name.replace(/\.conf$/, ''));
    for (const name of await fsp.readdir(this.layout.journalDir)) names.add(name.replace(/\.json$/, ''));
    const table = await MountTable.read();
    for (const m of table.mountsBelow(this.layout.mountsDir)) names.add(path.basename(m));
    const valid = [...names].filter((name) => {
      if (isVolumeName(name)) return true;
      this.options.report?.('skipping an entry that is not a volume name', { name });
      return false;
    });
    return Promise.all(valid.map((pv) => this.observeOne(pv, table)));
  }

  private async observeOne(pv: string, table?: MountTable): Promise<ObservedVolume> {
    const mounts = table ?? await MountTable.read();
    return {
      pv,
      note: await this.readNote(pv),
      record: await this.readRecord(pv),
      volumeDir: await exists(this.layout.volumeDir(pv)),
      image: await exists(this.layout.image(pv)),
      mounted: mounts.isMountPoint(this.layout.mountpoint(pv)),
      mountpoint: await exists(this.layout.mountpoint(pv)),
      exportFile: await exists(this.layout.exportFile(pv)),
    };
  }

  private async mustRecord(pv: string): Promise<VolumeRecord> {
    const record = await this.readRecord(pv);
    if (!record) throw new Error(`volume ${pv} does not exist on this server`);
    return record;
  }

  private readRecord(pv: string): Promise<VolumeRecord | undefined> {
    return readJson<VolumeRecord>(this.layout.record(pv));
  }

  private readNote(pv: string): Promise<JournalNote | undefined> {
    return readJson<JournalNote>(this.layout.note(pv));
  }

  private writeNote(pv: string, note: JournalNote): Promise<void> {
    return this.writeAtomically(this.layout.note(pv), JSON.stringify(note));
  }

  private async clearNote(pv: string): Promise<void> {
    await fsp.rm(this.layout.note(pv), { force: true });
  }

  /** Writes `text` aside in staging/, flushed, and renames it over `target` (same filesystem). */
  private async writeAtomically(target: string, text: string): Promise<void> {
    const aside = path.join(this.layout.stagingDir, `${path.basename(target)}.${randomBytes(6).toString('hex')}`);
    const handle = await fsp.open(aside, 'wx', 0o644);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fsp.rename(aside, target);
  }

  private serialized<T>(pv: string, work: () => Promise<T>): Promise<T> {
    const previous = this.chains.get(pv) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.chains.set(pv, next);
    void next.catch(() => undefined).then(() => {
      if (this.chains.get(pv) === next) this.chains.delete(pv);
    });
    return next;
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
