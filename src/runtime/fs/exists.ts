/** Whether something is at a path, without following a symbolic link there. */
import { promises as fsp } from 'fs';

/** True if `p` names anything (a link counts as itself); errors other than ENOENT are thrown. */
export async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}
