import { MountTable } from '../../../src/runtime/local/mountinfo';
import { FsWipeResult, openVolumeRoot, wipeFilesystem } from '../../../src/runtime/local/wipe-fs';

/** Wipes the volume mounted at `mountPoint` as cleanup does: opened once, emptied through that descriptor. */
export async function wipeAt(mountPoint: string, mounts: MountTable): Promise<FsWipeResult> {
  const top = await openVolumeRoot(mountPoint);
  try {
    return await wipeFilesystem(top, mounts);
  } finally {
    await top.close();
  }
}
