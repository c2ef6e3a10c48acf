/**
 * Baseline for bench/delete-memory.ts: "whole-directory readdir", the NFS delete's tree
 * removal before the shared walker (src/runtime/nfs/fs.ts `removeTree` as of commit
 * effd601), reproduced here. Directories are pinned by descriptor as there, but each one is
 * read whole with `readdir` (one array of every name), and every entry is `lstat`ed before
 * it is unlinked. The depth handling (moving deep directories up) is left out: the
 * benchmark's tree is two levels deep.
 */
import { constants, promises as fsp } from 'fs';

// eslint-disable-next-line no-bitwise
const DIR_NOFOLLOW = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** Removes everything inside `dir` (the directory stays); returns how many entries went. */
export async function removeTreeWithReaddir(dir: string): Promise<number> {
  const top = await fsp.open(dir, DIR_NOFOLLOW);
  try {
    return await emptyInto(top);
  } finally {
    await top.close();
  }
}

async function emptyInto(dir: fsp.FileHandle): Promise<number> {
  const at = (name: string) => `/proc/self/fd/${dir.fd}/${name}`;
  let removed = 0;
  for (const entry of await fsp.readdir(at('.'))) {
    const st = await fsp.lstat(at(entry)).catch(() => undefined);
    if (!st) continue;
    if (!st.isDirectory()) {
      await fsp.unlink(at(entry));
    } else {
      const child = await fsp.open(at(entry), DIR_NOFOLLOW);
      try {
        removed += await emptyInto(child);
      } finally {
        await child.close();
      }
      await fsp.rmdir(at(entry));
    }
    removed++;
  }
  return removed;
}
