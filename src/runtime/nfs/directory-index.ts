/**
 * Which directory belongs to which volume, so a claim can never be handed a directory that
 * overlaps another claim's: the same path, one inside it, or one containing it (deleting
 * the outer one would take the inner one's data with it).
 *
 * Fed from the PV informer (every PV of ours records its directory) and from reservations
 * made while a volume is being provisioned, before its PV reaches the cache.
 */
import { pathsOverlap } from '../../contract/path-containment';

export interface Owner {
  readonly pvName: string;
  readonly relativePath: string;
}

export class DirectoryIndex {
  private readonly byVolume = new Map<string, string>();

  /** Records (or moves) a volume's directory. */
  set(pvName: string, relativePath: string): void {
    this.byVolume.set(pvName, relativePath);
  }

  remove(pvName: string): void {
    this.byVolume.delete(pvName);
  }

  get(pvName: string): string | undefined {
    return this.byVolume.get(pvName);
  }

  get size(): number {
    return this.byVolume.size;
  }

  /** Another volume whose directory overlaps `relativePath`, if any. */
  conflict(relativePath: string, pvName: string): Owner | undefined {
    for (const [other, otherPath] of this.byVolume) {
      if (other !== pvName && pathsOverlap(relativePath, otherPath)) return { pvName: other, relativePath: otherPath };
    }
    return undefined;
  }

  /** Checks and records in one step (callers run concurrently). Returns the conflict instead of reserving. */
  reserve(relativePath: string, pvName: string): Owner | undefined {
    const conflict = this.conflict(relativePath, pvName);
    if (!conflict) this.set(pvName, relativePath);
    return conflict;
  }
}

