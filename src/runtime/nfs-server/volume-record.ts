/**
 * What the server keeps about each volume and each change in progress. Records and notes
 * are written aside and renamed into place, so a crash never leaves half of one.
 */
import type { OnDeleteValue } from '../../contract/values';

/** `<data>/volumes/<pv>/volume.json`: everything serving and deleting the volume needs. */
export interface VolumeRecord {
  readonly pv: string;
  /** The volume's size, bytes: its image file, its project's limit, or (`--quota=none`) the size recorded only. */
  readonly sizeBytes: number;
  /** ganesha Export_Id (1-65535): never the id of another live volume. */
  readonly exportId: number;
  /**
   * ganesha Filesystem_id (`major.minor`) the export presents: fixed for the volume's life,
   * so clients' file handles stay valid across restarts and moves.
   */
  readonly filesystemId: string;
  /** What removal does with the image (recorded when the volume is made, like subdir mode). */
  readonly onDelete: OnDeleteValue;
  /** Owner and mode of the filesystem's root directory. */
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  /** XFS project id of the volume (`--quota=xfs-project` only): never that of another live volume. */
  readonly projectId?: number;
}

/** `<data>/journal/<pv>.json`: a multi-step change that a crash may have cut short. */
export type JournalNote =
  /** Making the volume: undone at start-up (its PV does not exist yet; provisioning retries). */
  | { readonly op: 'create'; readonly record: VolumeRecord }
  /** Growing the image to `sizeBytes`: finished at start-up (every step is idempotent). */
  | { readonly op: 'grow'; readonly sizeBytes: number }
  /** Removing the volume: finished at start-up (its PV is being deleted). */
  | { readonly op: 'remove' };

/** Export ids ganesha accepts for our exports (0 is its pseudo root). */
export const MAX_EXPORT_ID = 65535;

/**
 * The export id for a new volume: one above the highest in use, so a just-removed id is not
 * handed out again at once; the lowest free one when that passes the maximum.
 *
 * @throws Error when every id is taken.
 */
export function nextExportId(inUse: Iterable<number>): number {
  const taken = new Set(inUse);
  const highest = Math.max(0, ...taken);
  if (highest < MAX_EXPORT_ID) return highest + 1;
  for (let id = 1; id <= MAX_EXPORT_ID; id++) {
    if (!taken.has(id)) return id;
  }
  throw new Error(`every export id (1-${MAX_EXPORT_ID}) is in use: remove volumes before making more`);
}

/** The Filesystem_id of the volume with export id `exportId`: unique while the id is. */
export function filesystemIdFor(exportId: number): string {
  return `${exportId}.${exportId}`;
}
