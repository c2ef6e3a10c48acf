/**
 * The in-cluster server's resize backend: a claim's new size becomes an image that holds it
 * (claim + XFS log, see sizes.ts), grown online by the volume manager (truncate, `losetup -c`,
 * `xfs_growfs`). The resizer calls it before it touches the PV or the claim, so a grow that
 * fails leaves both at the old size and the claim's status saying why.
 */
import { imageRequestForClaim } from './sizes';
import type { VolumeManager } from './volume-manager';
import type { ResizeBackend } from '../nfs/resizer';

export function imageResizeBackend(volumes: Pick<VolumeManager, 'grow'>): ResizeBackend {
  return {
    grow: async (pv, bytes) => {
      await volumes.grow(pv, imageRequestForClaim(Number(bytes)));
    },
  };
}
