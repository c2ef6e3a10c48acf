/**
 * Streams the entries of a pinned directory a few at a time. `readdir` builds one array of
 * every name; for a directory with a million entries that is tens of MiB in a controller
 * whose memory limit is 256Mi. Names come as bytes (see pinned-dir.ts).
 */
import { promises as fsp } from 'fs';
import { PinnedDir } from './pinned-dir';

/** Entries the kernel hands over per read; the memory a listing holds stays this small. */
const ENTRIES_PER_READ = 128;

export interface DirEntry {
  readonly name: Buffer;
  /**
   * What the listing said the entry was when it was read: a hint only, the entry can be
   * swapped at any time. False also when the file system does not say (DT_UNKNOWN).
   */
  readonly directory: boolean;
}

/** Runs a file system call; lets a caller bound how many run at once (the usage walk passes core/limiter.ts's Limiter). */
export type Gate = <T>(call: () => Promise<T>) => Promise<T>;

const direct: Gate = (call) => call();

// Node reads names as bytes with the 'buffer' encoding; its types only list text encodings.
const AS_BYTES = { bufferSize: ENTRIES_PER_READ, encoding: 'buffer' as BufferEncoding };

/**
 * The entries of `dir` (without `.` and `..`). An entry added or removed while the listing
 * is read may or may not be seen, and getdents may skip entries when others are removed
 * during the read: a walker that removes entries reads again until a read finds nothing to do.
 */
export async function* readEntries(dir: PinnedDir, gate: Gate = direct): AsyncGenerator<DirEntry> {
  const listing = await gate(() => fsp.opendir(dir.at('.'), AS_BYTES));
  try {
    for (;;) {
      const entry = await gate(() => listing.read());
      if (entry === null) return;
      yield { name: entry.name as unknown as Buffer, directory: entry.isDirectory() };
    }
  } finally {
    await listing.close().catch(() => undefined);
  }
}

/** True when `dir` has at least one entry (reads one entry, not the whole listing). */
export async function hasEntries(dir: PinnedDir): Promise<boolean> {
  for await (const _ of readEntries(dir)) return true;
  return false;
}
