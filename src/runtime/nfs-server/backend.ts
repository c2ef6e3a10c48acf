/**
 * The seam between the volume manager and how a volume's size is kept (`--quota`): a loop
 * image per volume (loop-image-backend.ts), a plain directory (directory-backend.ts) or a
 * directory under an XFS project quota (xfs-project-backend.ts). The manager owns what is
 * the same for every mode (journal notes, records, export files, export ids, the order of
 * steps, onDelete RETAIN moving the volume's folder); a backend owns the volume's data.
 *
 * Every method is idempotent: recovery calls them again after a crash at any point.
 */
import type { VolumeRecord } from './volume-record';
import type { QuotaMode } from '../../contract/values';

export interface VolumeUsage {
  readonly capacityBytes: number;
  readonly usedBytes: number;
  readonly availableBytes: number;
}

export interface VolumeBackend {
  readonly mode: QuotaMode;

  /**
   * Checks, before anything is served, that the backing storage can do what this mode
   * needs; throws an error naming the fix when it cannot.
   */
  preflight(): Promise<void>;

  /** The bytes to ask {@link sizeFor} for, for a claim of `claimBytes` (a loop image adds XFS's own share). */
  requestForClaim(claimBytes: number): number;

  /** The size a new volume gets (and records) for a request of `requestBytes`. */
  sizeFor(requestBytes: number): number;

  /** The size a grow to `requestBytes` needs, or undefined when the volume has it already. */
  growTarget(currentBytes: number, requestBytes: number): number | undefined;

  /** Adds what this mode allocates per volume to a new record (a project id), given the live ones. */
  allocate(record: VolumeRecord, live: Iterable<VolumeRecord>): VolumeRecord;

  /** The directory ganesha exports for the volume. */
  servedPath(pv: string): string;

  /** The volume's data (image file or data directory): what onDelete keeps or removes. */
  dataPath(pv: string): string;

  /** The name onDelete ARCHIVE gives the data under archived/. */
  archivedName(pv: string, suffix: string): string;

  /** Makes the volume's data, ready to serve (its folder exists; the record is not written yet). */
  make(record: VolumeRecord): Promise<void>;

  /** Makes a recorded volume servable again after a restart (mount it; re-apply its limit). */
  attach(record: VolumeRecord): Promise<void>;

  /** Gives the volume `sizeBytes` (the caller records it once this resolves). */
  grow(record: VolumeRecord, sizeBytes: number): Promise<void>;

  /** Undoes {@link attach}: nothing of the volume may be served from the backing storage after. */
  detach(pv: string): Promise<void>;

  /**
   * Lets go of what the mode holds for the volume besides its data (a project's limit and
   * id), before its data is deleted (`keep` false) or kept under archived/ (`keep` true).
   * Without a record nothing is known to let go of.
   */
  release(pv: string, record: VolumeRecord | undefined, keep: boolean): Promise<void>;

  /** How full the volume is. */
  usage(record: VolumeRecord): Promise<VolumeUsage>;
}
