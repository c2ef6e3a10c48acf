/**
 * Small operations on the entries of a pinned directory (pinned-dir.ts), none of which
 * follows a symlink: what is at a name, make a directory unless something is there,
 * remove a file unless it is already gone.
 */
import { promises as fsp } from 'fs';
import type { PinnedDir } from './pinned-dir';

/** What is at `name` in `dir`, by lstat (a symlink is reported, not followed). */
export async function entryKind(dir: PinnedDir, name: string): Promise<'missing' | 'directory' | 'symlink' | 'other'> {
  try {
    const st = await fsp.lstat(dir.at(name));
    if (st.isSymbolicLink()) return 'symlink';
    return st.isDirectory() ? 'directory' : 'other';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
}

/**
 * mkdir that treats an existing entry as "not created": false when something is already
 * there (the caller opens it without following a link next, which refuses anything else).
 */
export async function mkdirIfMissing(dir: PinnedDir, name: string, mode: number): Promise<boolean> {
  try {
    await fsp.mkdir(dir.at(name), mode);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Unlinks `name` in `dir`; nothing there is not an error. */
export async function unlinkIfThere(dir: PinnedDir, name: string): Promise<void> {
  await fsp.unlink(dir.at(name)).catch((error) => {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  });
}

/** Closes every held directory, ignoring close errors (the work is done or has failed already). */
export async function closeAll(held: PinnedDir[]): Promise<void> {
  await Promise.all(held.map((d) => d.close().catch(() => undefined)));
}
