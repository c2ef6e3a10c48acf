/**
 * The server's volumes: journal notes, records, export files and export ids, the same for
 * every `--quota` mode; the volume's data (a loop-mounted XFS image, a directory, a
 * directory under an XFS project quota) is its {@link VolumeBackend}'s. Every multi-step
 * change writes a journal note first and clears it last; {@link recover} (run before
 * ganesha starts) finishes or undoes whatever a crash cut short (recovery.ts decides what).
 */
import { randomBytes } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import type { VolumeBackend, VolumeUsage } from './backend';
import type { ExportControl } from './export-control';
import { exportBlock } from './ganesha-config';
import { isVolumeName, ServerLayout } from './layout';
import { liveRecords, ObservedVolume, planRecovery, RecoveryStep } from './recovery';
import { filesystemIdFor, JournalNote, nextExportId, VolumeRecord } from './volume-record';
import type { OnDeleteValue } from '../../contract/values';
import { exists } from '../fs/exists';
import { MountTable } from '../local/mountinfo';

export type { VolumeUsage } from './backend';

export interface NewVolume {
  /** Bytes asked of the backend ({@link VolumeManager.requestForClaim} of the claim's size). */
  readonly requestBytes: number;
  readonly onDelete: OnDeleteValue;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
}

export interface VolumeManagerOptions {
  readonly layout: ServerLayout;
  /** How each volume's data is kept and its size enforced (`--quota`). */
  readonly backend: VolumeBackend;
  /** The running ganesha's export manager; absent while ganesha is not running (start-up). */
  readonly exports?: ExportControl;
  /** Called for what recovery did and found, one line each (`error` for a volume it could not recover). */
  readonly report?: (message: string, fields: Record<string, unknown>, level?: 'info' | 'error') => void;
}

export class VolumeManager {
  private readonly layout: ServerLayout;
  private readonly backend: VolumeBackend;
  private exports?: ExportControl;
  /** Records of live volumes and creates in progress: their export ids (and project ids) are never handed out twice. */
  private readonly live = new Map<string, VolumeRecord>();
  /** Per-volume chain of operations: one change at a time per volume. */
  private readonly chains = new Map<string, Promise<unknown>>();

  constructor(private readonly options: VolumeManagerOptions) {
    this.layout = options.layout;
    this.backend = options.backend;
    this.exports = options.exports;
  }

  /** Connects the running ganesha (after recovery, once it serves). */
  attachExports(exports: ExportControl): void {
    this.exports = exports;
  }

  /** The request a claim of `claimBytes` makes of {@link create} and {@link grow} in this mode. */
  requestForClaim(claimBytes: number): number {
    return this.backend.requestForClaim(claimBytes);
  }

  /** Makes the layout's folders and checks the backing storage can do this mode (throws naming the fix). */
  async preflight(): Promise<void> {
    for (const dir of this.layout.directories) await fsp.mkdir(dir, { recursive: true });
    await this.backend.preflight();
  }

  /**
   * Finishes or undoes every change a crash cut short and makes every recorded volume
   * servable with its export file in place, so ganesha (started next) serves them all.
   */
  async recover(): Promise<RecoveryStep[]> {
    await this.preflight();
    // Half-written records and export files: the rename that would have published them never happened.
    for (const name of await fsp.readdir(this.layout.stagingDir)) await fsp.rm(path.join(this.layout.stagingDir, name), { force: true });
    const observed = await this.observe();
    for (const record of liveRecords(observed)) this.live.set(record.pv, record);
    const steps = planRecovery(observed);
    for (const step of steps) {
      try {
        await this.execute(step);
        this.options.report?.(`recovery: ${step.kind}`, { pv: step.pv });
      } catch (error) {
        await this.recoveryFailed(step, error);
      }
    }
    return steps;
  }

  /**
   * A grow that cannot be finished (say xfs_growfs keeps failing) must not keep the server,
   * and with it every other volume, from starting: it is given up, the volume served at its
   * recorded size, which its filesystem still has, and the claim's next resize attempt tries
   * again and reports why it fails. Any other step that fails fails the start: the command
   * exits, the kubelet starts it again and the next recovery retries (a loop device that is
   * briefly busy after a kill must not leave a volume unserved for good).
   */
  private async recoveryFailed(step: RecoveryStep, error: unknown): Promise<void> {
    if (step.kind !== 'finish-grow') throw error;
    await this.execute({ kind: 'serve', pv: step.pv, record: step.record });
    await this.clearNote(step.pv);
    this.options.report?.('recovery: could not finish a grow; served at its recorded size', { pv: step.pv, sizeBytes: step.record.sizeBytes, error: (error as Error).message }, 'error');
  }

  /**
   * Makes a volume: its data, record, export. Idempotent: a volume that exists is returned
   * as it is (its export added again if ganesha lost it).
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

      // Allocated with no await in between, so concurrent creates of other volumes see each other's ids.
      const exportId = nextExportId([...this.live.values()].map((r) => r.exportId));
      const record = this.backend.allocate({
        pv,
        sizeBytes: this.backend.sizeFor(spec.requestBytes),
        exportId,
        filesystemId: filesystemIdFor(exportId),
        onDelete: spec.onDelete,
        uid: spec.uid,
        gid: spec.gid,
        mode: spec.mode,
      }, this.live.values());
      this.live.set(pv, record);
      try {
        await this.writeNote(pv, { op: 'create', record });
        await fsp.mkdir(this.layout.volumeDir(pv));
        await this.backend.make(record);
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

  /** Grows a volume online to hold `requestBytes`; returns the record once the volume has the new size. */
  async grow(pv: string, requestBytes: number): Promise<VolumeRecord> {
    return this.serialized(pv, async () => {
      const record = await this.mustRecord(pv);
      const target = this.backend.growTarget(record.sizeBytes, requestBytes);
      if (target === undefined) return record;
      await this.writeNote(pv, { op: 'grow', sizeBytes: target });
      const grown = await this.growTo(record, target);
      await this.clearNote(pv);
      return grown;
    });
  }

  /** Removes a volume: unexport, detach, then DELETE, RETAIN or ARCHIVE its data as recorded. */
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

  /** How full the volume is, as its backend measures it. */
  async usage(pv: string): Promise<VolumeUsage> {
    return this.backend.usage(this.live.get(pv) ?? await this.mustRecord(pv));
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
      case 'undo-create': {
        const note = await this.readNote(step.pv);
        const record = note?.op === 'create' ? note.record : undefined;
        await this.unserve(step.pv, record?.exportId);
        await this.backend.release(step.pv, record, false);
        await fsp.rm(this.layout.volumeDir(step.pv), { recursive: true, force: true });
        this.live.delete(step.pv);
        await this.clearNote(step.pv);
        return;
      }
      case 'finish-grow':
        await this.backend.attach(step.record);
        await this.growTo(step.record, step.sizeBytes);
        await this.writeExportFile(step.record);
        await this.clearNote(step.pv);
        return;
      case 'finish-remove':
        await this.finishRemove(step.pv, step.record);
        return;
      case 'serve':
        await this.backend.attach(step.record);
        await this.writeExportFile(step.record);
        return;
      case 'clear-orphan':
        await this.unserve(step.pv);
        await this.dispose(step.pv, undefined, 'ARCHIVE');
        await fsp.rm(this.layout.volumeDir(step.pv), { recursive: true, force: true });
        await this.clearNote(step.pv);
        return;
      case 'report-missing-data':
        // Without its file ganesha does not serve the volume at all (never an empty stand-in).
        await fsp.rm(this.layout.exportFile(step.pv), { force: true });
        this.options.report?.('volume has a record but no data (image or directory): not served', { pv: step.pv });
        return;
    }
  }

  private async finishRemove(pv: string, record: VolumeRecord | undefined): Promise<void> {
    await this.unserve(pv, record?.exportId);
    await this.dispose(pv, record, record?.onDelete ?? 'ARCHIVE');
    await fsp.rm(this.layout.volumeDir(pv), { recursive: true, force: true });
    this.live.delete(pv);
    await this.clearNote(pv);
  }

  /** Export removed (running server and file), then the backend's detach (unmount ...). */
  private async unserve(pv: string, exportId?: number): Promise<void> {
    const id = exportId ?? (await this.readRecord(pv))?.exportId ?? (await this.readNote(pv).then((n) => n?.op === 'create' ? n.record.exportId : undefined));
    if (id !== undefined) await this.exports?.remove(id);
    await fsp.rm(this.layout.exportFile(pv), { force: true });
    await this.backend.detach(pv);
  }

  /**
   * The same for every mode: DELETE removes the volume's data, ARCHIVE moves it under
   * archived/, RETAIN moves the volume's folder (data and record) there whole. The backend
   * lets go of what it holds besides the data first.
   */
  private async dispose(pv: string, record: VolumeRecord | undefined, onDelete: OnDeleteValue): Promise<void> {
    await this.backend.release(pv, record, onDelete !== 'DELETE');
    const data = this.backend.dataPath(pv);
    if (!await exists(data)) return;
    const suffix = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
    switch (onDelete) {
      case 'DELETE':
        await fsp.rm(data, { recursive: true, force: true });
        return;
      case 'ARCHIVE':
        await fsp.rename(data, this.layout.archived(this.backend.archivedName(pv, suffix)));
        return;
      case 'RETAIN':
        await fsp.rename(this.layout.volumeDir(pv), this.layout.archived(`${pv}-retained-${suffix}`));
        return;
    }
  }

  private async growTo(record: VolumeRecord, sizeBytes: number): Promise<VolumeRecord> {
    await this.backend.grow(record, sizeBytes);
    const grown = { ...record, sizeBytes };
    await this.writeAtomically(this.layout.record(record.pv), JSON.stringify(grown));
    this.live.set(record.pv, grown);
    return grown;
  }

  /** Record, then export file: the record is what makes the volume recovered rather than undone. */
  private async publish(record: VolumeRecord): Promise<void> {
    await this.writeAtomically(this.layout.record(record.pv), JSON.stringify(record));
    await this.writeExportFile(record);
  }

  private async writeExportFile(record: VolumeRecord): Promise<void> {
    await this.writeAtomically(this.layout.exportFile(record.pv), exportBlock(record, this.backend.servedPath(record.pv)));
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
      data: await exists(this.backend.dataPath(pv)),
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

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await fsp.readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
