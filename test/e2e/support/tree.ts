/**
 * Snapshots of a directory tree on disk (without following symbolic links), to
 * prove what a controller did or did not write.
 */
import * as fs from 'fs';
import * as path from 'path';

export type EntryKind = 'dir' | 'file' | 'symlink' | 'other';

/** Relative path -> kind, for everything under `root` (the root itself excluded). */
export function snapshotTree(root: string): Map<string, EntryKind> {
  const out = new Map<string, EntryKind>();
  const walk = (dir: string, rel: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch (err) {
      // Removed while we looked (another test's controller at work).
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const kind: EntryKind = e.isSymbolicLink() ? 'symlink' : e.isDirectory() ? 'dir' : e.isFile() ? 'file' : 'other';
      out.set(r, kind);
      if (kind === 'dir') walk(path.join(dir, e.name), r);
    }
  };
  walk(root, '');
  return out;
}

export interface TreeDiff {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: string[];
}

/** What differs between two snapshots (sorted). */
export function diffTrees(before: Map<string, EntryKind>, after: Map<string, EntryKind>): TreeDiff {
  const added = [...after.keys()].filter((k) => !before.has(k)).sort();
  const removed = [...before.keys()].filter((k) => !after.has(k)).sort();
  const changed = [...after.keys()].filter((k) => before.has(k) && before.get(k) !== after.get(k)).sort();
  return { added, removed, changed };
}

/** Directories exactly `depth` levels below `root` (1 = its children), as relative paths. */
export function directoriesAtDepth(root: string, depth: number): string[] {
  return [...snapshotTree(root).entries()]
    .filter(([rel, kind]) => kind === 'dir' && rel.split('/').length === depth)
    .map(([rel]) => rel)
    .sort();
}
