/**
 * The in-cluster server's resize backend: a claim's new size becomes what the volume's
 * backend must hold for it (a loop image: claim + XFS log, see sizes.ts), grown online by the
 * volume manager (loop image: truncate, `losetup -c`, `xfs_growfs`; XFS project: the new
 * limit; plain directory: the size recorded). The resizer calls it before it touches the PV or the claim, so a grow that
 * fails leaves both at the old size and the claim's status saying why.
 */
import type { VolumeManager } from './volume-manager';
import { formatQuantity } from '../../contract/quantity';
import type { ResizeBackend } from '../nfs/resizer';

/**
 * The largest claim a volume grows to: 4 PiB. The volume manager counts image bytes in
 * JavaScript numbers, exact up to 2^53 - 1 (8 PiB), and an image is the claim plus its log.
 */
export const MAX_GROW_BYTES = 2n ** 52n;

export function volumeResizeBackend(volumes: Pick<VolumeManager, 'grow' | 'requestForClaim'>): ResizeBackend {
  return {
    grow: async (pv, bytes) => {
      // Refused before the volume manager journals the grow: a size it can never reach must not
      // be left for its start-up recovery to finish.
      if (bytes > MAX_GROW_BYTES) {
        throw new Error(`${formatQuantity(bytes)} is more than a volume of this server can hold (at most ${formatQuantity(MAX_GROW_BYTES)}): `
          + `lower spec.resources.requests.storage to ${formatQuantity(MAX_GROW_BYTES)} or less`);
      }
      await volumes.grow(pv, volumes.requestForClaim(Number(bytes)));
    },
  };
}
