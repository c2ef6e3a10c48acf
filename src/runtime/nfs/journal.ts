/**
 * The crash journal on the export: notes that outlive the controller, so a run killed at
 * any line leaves what the next one needs.
 * - Unfinished notes: one per volume being provisioned, written before its directory is
 *   made and cleared once its PV exists; a note left behind names a directory that may
 *   have no PV (nfs/unfinished.ts decides what becomes of it).
 * - Retained notes: one per directory kept by onDelete RETAIN, naming the namespace and
 *   claim it was made for, so only a claim of that namespace is ever handed it again.
 *
 * Each note is a small file named after the PV, in a folder directly under the root that
 * exists only while notes do. A note is written aside (`.<pv>`) and renamed into place, so
 * a crash never leaves half a note. Folders and notes are reached through pinned
 * directories (../fs/pinned-dir.ts): no link is followed, and anything that is not a note
 * we could have written is skipped.
 */
import { constants, promises as fsp } from 'fs';
import { CONTROLLER_DIR_PREFIX } from '../../contract/path-template';
import type { PinnedDir } from '../fs/pinned-dir';
import { closeAll, entryKind, mkdirIfMissing, unlinkIfThere } from '../fs/pinned-entries';
import type { RetainedDirectory, UnfinishedVolume } from '../ports/volume-fs';

/**
 * Directory under the root holding one note per volume being provisioned (file name = PV
 * name, content = its directory). It exists only while notes do; no volume may use the name.
 */
export const UNFINISHED_DIR = `${CONTROLLER_DIR_PREFIX}unfinished`;
/**
 * Directory under the root holding one note per directory kept by RETAIN (file name = the
 * deleted PV's name, content = JSON: directory, namespace, claim). It exists only while
 * notes do; no volume may use the name.
 */
export const RETAINED_DIR = `${CONTROLLER_DIR_PREFIX}retained`;

// eslint-disable-next-line no-bitwise
const NOTE_WRITE = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
// eslint-disable-next-line no-bitwise
const NOTE_READ = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
/** PV names are `pvc-<uid>`: anything else in a notes folder is not ours to read. */
const NOTE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** What the journal needs from the file system executor that owns the root (nfs/fs.ts). */
export interface JournalAccess {
  /** The root, pinned. */
  openRoot(): Promise<PinnedDir>;
  /** A child directory, pinned without following a link (an error naming what is there instead). */
  openChild(parent: PinnedDir, name: string): Promise<PinnedDir>;
  /** The error as the executor reports it, naming `relativePath`. */
  wrap(error: unknown, relativePath: string): Error;
  /** Throws when `relativePath` could not be a volume directory. */
  checkPath(relativePath: string): void;
  /** Throws when `pvName` is not a PersistentVolume name. */
  invalidName(pvName: string): Error;
}

export class CrashJournal {
  constructor(private readonly access: JournalAccess) {}

  /** Notes that volume `pvName` is being provisioned into `relativePath` (before the directory is made). */
  async recordUnfinished(pvName: string, relativePath: string): Promise<void> {
    this.checkNoteName(pvName);
    await this.write(UNFINISHED_DIR, pvName, relativePath);
  }

  /** Forgets the note of `pvName` (its PV exists, or its directory was cleaned up). */
  async clearUnfinished(pvName: string): Promise<void> {
    this.checkNoteName(pvName);
    await this.remove(UNFINISHED_DIR, pvName);
  }

  /** Every unfinished note left, e.g. by a controller that was killed. */
  async listUnfinished(): Promise<UnfinishedVolume[]> {
    return this.inFolder(UNFINISHED_DIR, [], async (notes) => {
      const found: UnfinishedVolume[] = [];
      const names = (await fsp.readdir(notes.at('.'))).sort();
      const present = new Set(names);
      for (const name of names) {
        // A note still being written with none in place: its writer was killed before the
        // rename. (Next to a whole note it is a rewrite in progress, and the whole one counts.)
        const writing = name.startsWith('.') ? name.slice(1) : undefined;
        if (writing !== undefined && NOTE_NAME.test(writing) && !present.has(writing)) {
          found.push({ pvName: writing });
          continue;
        }
        if (!NOTE_NAME.test(name)) continue;
        const relativePath = await readNote(notes, name);
        if (relativePath === undefined || !this.isVolumePath(relativePath)) continue; // not a note we could have written
        found.push({ pvName: name, relativePath });
      }
      return found;
    });
  }

  /**
   * Notes whom a directory kept by RETAIN was made for (its PV is deleted next). The newest
   * owner of a directory is the only one: an older note about the same directory goes.
   */
  async recordRetained(record: RetainedDirectory): Promise<void> {
    this.checkNoteName(record.pvName);
    this.access.checkPath(record.relativePath);
    const content = JSON.stringify({ directory: record.relativePath, namespace: record.namespace, claim: record.claim });
    await this.write(RETAINED_DIR, record.pvName, content, async (notes) => {
      for (const older of await this.readRetained(notes)) {
        if (older.relativePath === record.relativePath && older.pvName !== record.pvName) await unlinkIfThere(notes, older.pvName);
      }
    });
  }

  /** Every directory kept by RETAIN that has not been handed to a claim again. */
  async listRetained(): Promise<RetainedDirectory[]> {
    return this.inFolder(RETAINED_DIR, [], (notes) => this.readRetained(notes));
  }

  /** Forgets the note of a kept directory (it was handed to a claim of its namespace). */
  async clearRetained(pvName: string): Promise<void> {
    this.checkNoteName(pvName);
    await this.remove(RETAINED_DIR, pvName);
  }

  /** Writes a note aside and renames it into place, making its folder first. */
  private async write(folder: string, pvName: string, content: string, beforeWrite?: (notes: PinnedDir) => Promise<void>): Promise<void> {
    // Another worker may remove the emptied notes folder between our mkdir and open: retry.
    for (let attempt = 1; ; attempt++) {
      const held: PinnedDir[] = [];
      try {
        const root = await this.access.openRoot();
        held.push(root);
        await mkdirIfMissing(root, folder, 0o700);
        const notes = await this.access.openChild(root, folder);
        held.push(notes);
        await beforeWrite?.(notes);
        // Written aside and renamed into place: a retry rewrites the note, and a crash
        // halfway through a rewrite must not leave an empty note in place of the whole one.
        const file = await fsp.open(notes.at(writingName(pvName)), NOTE_WRITE, 0o600);
        try {
          await file.writeFile(content, 'utf8');
        } finally {
          await file.close();
        }
        await fsp.rename(notes.at(writingName(pvName)), notes.at(pvName));
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 5) throw this.access.wrap(error, folder);
      } finally {
        await closeAll(held);
      }
    }
  }

  /** Removes a note (and one being written), and the folder with its last note. */
  private async remove(folder: string, pvName: string): Promise<void> {
    const held: PinnedDir[] = [];
    try {
      const root = await this.access.openRoot();
      held.push(root);
      if (await entryKind(root, folder) === 'missing') return;
      const notes = await this.access.openChild(root, folder);
      held.push(notes);
      await unlinkIfThere(notes, pvName);
      await unlinkIfThere(notes, writingName(pvName));
      // Gone with its last note, so an idle export shows nothing of ours but the volumes.
      await fsp.rmdir(root.at(folder)).catch(() => undefined);
    } catch (error) {
      throw this.access.wrap(error, folder);
    } finally {
      await closeAll(held);
    }
  }

  /** Runs `read` on the pinned folder; `none` when there is no folder. */
  private async inFolder<T>(folder: string, none: T, read: (notes: PinnedDir) => Promise<T>): Promise<T> {
    const held: PinnedDir[] = [];
    try {
      const root = await this.access.openRoot();
      held.push(root);
      if (await entryKind(root, folder) === 'missing') return none;
      const notes = await this.access.openChild(root, folder);
      held.push(notes);
      return await read(notes);
    } catch (error) {
      throw this.access.wrap(error, folder);
    } finally {
      await closeAll(held);
    }
  }

  /** The whole, well-formed notes in the kept-directories folder; anything else is skipped, never followed. */
  private async readRetained(notes: PinnedDir): Promise<RetainedDirectory[]> {
    const found: RetainedDirectory[] = [];
    for (const name of (await fsp.readdir(notes.at('.'))).sort()) {
      if (!NOTE_NAME.test(name)) continue;
      const record = parseRetained(name, await readNote(notes, name));
      if (record && this.isVolumePath(record.relativePath)) found.push(record);
    }
    return found;
  }

  private isVolumePath(relativePath: string): boolean {
    try {
      this.access.checkPath(relativePath);
      return true;
    } catch {
      return false;
    }
  }

  private checkNoteName(pvName: string): void {
    if (!NOTE_NAME.test(pvName)) throw this.access.invalidName(pvName);
  }
}

/** Name of a note while it is being written (no PV name starts with a dot). */
function writingName(pvName: string): string {
  return `.${pvName}`;
}

/** A note's content; undefined for anything but a small regular file (never follows a link, never blocks on a FIFO). */
async function readNote(dir: PinnedDir, name: string): Promise<string | undefined> {
  const file = await fsp.open(dir.at(name), NOTE_READ).catch(() => undefined);
  if (!file) return undefined;
  try {
    const st = await file.stat();
    if (!st.isFile() || st.size > 8192) return undefined;
    return await file.readFile('utf8');
  } finally {
    await file.close();
  }
}

/** A kept directory's note, or undefined when the content is not one we could have written. */
function parseRetained(pvName: string, content: string | undefined): RetainedDirectory | undefined {
  if (content === undefined) return undefined;
  try {
    const { directory, namespace, claim } = JSON.parse(content);
    if (typeof directory !== 'string' || typeof namespace !== 'string' || typeof claim !== 'string') return undefined;
    if (namespace === '' || claim === '') return undefined;
    return { pvName, relativePath: directory, namespace, claim };
  } catch {
    return undefined;
  }
}
