/**
 * How the in-cluster NFS server enforces the size of each volume.
 *
 * The values are the contract's QUOTA_MODES (src/contract/values.ts), the `--quota` flag of
 * the `nfs-server` command; a unit test holds the two equal, since a jsii enum cannot be
 * computed from a list.
 */
export enum NfsQuota {
  /**
   * One XFS image file per volume on the backing storage, loop-mounted and exported: a hard
   * limit (writes past it fail with "no space left"), grown online when the claim grows, and
   * `df` in a pod shows the claim's size. Works on any backing filesystem. Loop devices need a
   * privileged server pod.
   */
  LOOP_IMAGE = 'loop-image',
  /**
   * One XFS project quota per volume: the backing storage must be XFS mounted with
   * `prjquota` (a hostPath you prepared, or a class whose volumes are). The limit is the
   * claim's size and grows with it. Needs kernel quota support; no loop devices.
   */
  XFS_PROJECT = 'xfs-project',
  /**
   * Plain directories on the backing storage: the size is recorded, not enforced (like
   * subdirectory mode on an external server).
   */
  NONE = 'none',
}
