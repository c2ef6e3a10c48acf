/**
 * What the NFS reconcilers need from the export's file system (implemented by nfs/fs.ts).
 */

export interface EnsureResult {
  /** False when the directory already existed (a retry after a crash) and was reused. */
  readonly created: boolean;
}

export type ArchiveResult = { readonly outcome: 'archived'; readonly archivedAs: string } | { readonly outcome: 'missing' };

/** The operations the reconcilers need; tests and the controller use {@link NfsRootFs}. */
export interface VolumeFs {
  /** Creates `relativePath` (and missing parents) under the root, or reuses it if it is a directory. */
  ensureDirectory(relativePath: string, mode: number): Promise<EnsureResult>;
  /** Removes a volume directory and everything in it without following symlinks. */
  removeDirectory(relativePath: string): Promise<'removed' | 'missing'>;
  /** Whether anything is at `relativePath` (no symlink on the way is followed). */
  exists(relativePath: string): Promise<boolean>;
  /**
   * Moves a volume directory to a new `archived-...` name directly under the root. A name
   * for which `isTaken` says true (the directory of a live volume) is never used.
   */
  archiveDirectory(relativePath: string, uniqueSuffix: string, isTaken?: (name: string) => boolean): Promise<ArchiveResult>;
  /** Removes the now-empty parent directories of `relativePath` (a pattern's `ns/` level). */
  removeEmptyParents(relativePath: string): Promise<void>;
  /** Removes the directory only if it is empty (a claim deleted before its PV was made). */
  removeIfEmpty(relativePath: string): Promise<boolean>;
  /**
   * Notes on the export, before the directory is made, that volume `pvName` is being
   * provisioned into `relativePath`; kept until {@link clearUnfinished}. A controller
   * killed before the PV exists leaves the note, so the next one can remove the
   * directory if the claim went away meanwhile.
   */
  recordUnfinished(pvName: string, relativePath: string): Promise<void>;
  /** Forgets the note of `pvName` (its PV exists, or its directory was cleaned up). */
  clearUnfinished(pvName: string): Promise<void>;
  /** Every note left, e.g. by a controller that was killed. */
  listUnfinished(): Promise<UnfinishedVolume[]>;
  /**
   * Notes on the export which namespace and claim a directory kept by onDelete RETAIN was
   * made for (its PV, which said so, is deleted next), so that only a claim of that
   * namespace is ever handed it again. Replaces any older note about the same directory.
   */
  recordRetained(record: RetainedDirectory): Promise<void>;
  /** Every directory kept by RETAIN that has not been handed to a claim again. */
  listRetained(): Promise<RetainedDirectory[]>;
  /** Forgets the note of a kept directory (it was handed to a claim of its namespace). */
  clearRetained(pvName: string): Promise<void>;
}

/** A directory kept by onDelete RETAIN, and whom it was made for (see {@link VolumeFs.recordRetained}). */
export interface RetainedDirectory {
  /** The deleted PV the directory belonged to. */
  readonly pvName: string;
  readonly relativePath: string;
  readonly namespace: string;
  readonly claim: string;
}

/** A volume whose directory may exist while its PV does not (see {@link VolumeFs.recordUnfinished}). */
export interface UnfinishedVolume {
  readonly pvName: string;
  /**
   * The volume's directory. Undefined when only a note being written was found (the writer
   * was killed before the note was in place, so nothing was made for it yet).
   */
  readonly relativePath?: string;
}
