/**
 * The start-up reconcile's decisions: given what a killed server left on the backing
 * storage (journal notes, records, data, mounts, export files), what to do with each
 * volume before ganesha starts, so nothing leaks (image, mount, loop device, project limit,
 * export) and every recorded volume is served again. The same for every `--quota` mode (a
 * mode without mounts never observes one). Pure: the volume manager observes and executes.
 */
import type { JournalNote, VolumeRecord } from './volume-record';

/** What the server finds of one volume name on its backing storage and in its mount table. */
export interface ObservedVolume {
  readonly pv: string;
  readonly note?: JournalNote;
  readonly record?: VolumeRecord;
  /** `<data>/volumes/<pv>` exists (data, record or both may be in it). */
  readonly volumeDir: boolean;
  /** The volume's data exists: its image file (loop-image) or its data directory (none, xfs-project). */
  readonly data: boolean;
  /** Something is mounted on `<data>/mounts/<pv>`. */
  readonly mounted: boolean;
  readonly mountpoint: boolean;
  readonly exportFile: boolean;
}

export type RecoveryStep =
  /** A create cut short: take away everything it made (its PV does not exist; provisioning retries). */
  | { readonly kind: 'undo-create'; readonly pv: string }
  /** A grow cut short: attach (mount), then grow to the noted size and record it. */
  | { readonly kind: 'finish-grow'; readonly pv: string; readonly record: VolumeRecord; readonly sizeBytes: number }
  /** A removal cut short: finish it with the recorded onDelete (ARCHIVE when the record is gone already). */
  | { readonly kind: 'finish-remove'; readonly pv: string; readonly record?: VolumeRecord }
  /** A recorded volume: attach it (mount) and write its export file, so ganesha serves it when it starts. */
  | { readonly kind: 'serve'; readonly pv: string; readonly record: VolumeRecord }
  /**
   * Parts with neither record nor note (nothing this server writes leaves them; someone
   * edited the backing storage): unmount and unexport them; data is archived, never
   * deleted, since nothing says it may be.
   */
  | { readonly kind: 'clear-orphan'; readonly pv: string }
  /** A record whose data is gone: nothing can be served; its export file goes, the rest is reported and left for a person. */
  | { readonly kind: 'report-missing-data'; readonly pv: string; readonly record: VolumeRecord };

/** One step per volume name, in name order. */
export function planRecovery(observed: readonly ObservedVolume[]): RecoveryStep[] {
  return [...observed].sort((a, b) => a.pv.localeCompare(b.pv)).flatMap((v): RecoveryStep[] => {
    const { pv, note, record } = v;
    if (note?.op === 'create') return [{ kind: 'undo-create', pv }];
    if (note?.op === 'remove') return [{ kind: 'finish-remove', pv, record }];
    if (note?.op === 'grow') {
      // The record is written before a grow's note is cleared and removed last of all, so a
      // grow note without one means the volume is being removed by hand: leave it to that.
      if (!record) return [{ kind: 'clear-orphan', pv }];
      if (!v.data) return [{ kind: 'report-missing-data', pv, record }];
      return [{ kind: 'finish-grow', pv, record, sizeBytes: Math.max(note.sizeBytes, record.sizeBytes) }];
    }
    if (record) return v.data ? [{ kind: 'serve', pv, record }] : [{ kind: 'report-missing-data', pv, record }];
    if (v.volumeDir || v.mounted || v.mountpoint || v.exportFile) return [{ kind: 'clear-orphan', pv }];
    return [];
  });
}

/** Records of the volumes that are (or, after recovery, may be) live: what holds export and project ids. */
export function liveRecords(observed: readonly ObservedVolume[]): VolumeRecord[] {
  return observed.flatMap((v) => {
    if (v.note?.op === 'create') return [v.note.record];
    return v.record ? [v.record] : [];
  });
}

/** Export ids held by volumes that are (or, after recovery, may be) live. */
export function liveExportIds(observed: readonly ObservedVolume[]): number[] {
  return liveRecords(observed).map((r) => r.exportId);
}
