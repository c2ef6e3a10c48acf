/**
 * The size of a volume's image for a requested size. mkfs.xfs refuses filesystems under
 * 300 MB (smaller ones only through an fstests-only escape hatch), so smaller requests get
 * 300 MiB; sizes are whole MiB so the image, the loop device and the filesystem agree.
 */
export const MIB = 1024 * 1024;

/** The smallest image: what mkfs.xfs supports. */
export const MIN_IMAGE_BYTES = 300 * MIB;

/** The image size for a request: whole MiB, at least {@link MIN_IMAGE_BYTES}. */
export function imageSizeFor(requestBytes: number): number {
  return Math.max(MIN_IMAGE_BYTES, Math.ceil(requestBytes / MIB) * MIB);
}

/**
 * The image size a resize to `requestBytes` needs, or undefined when the image is that big
 * already (a request under the 300 MiB floor, or a repeated resize). Kubernetes itself
 * refuses a claim shrink, and an image never shrinks.
 */
export function growTarget(currentBytes: number, requestBytes: number): number | undefined {
  const target = imageSizeFor(requestBytes);
  return target > currentBytes ? target : undefined;
}

/**
 * What mkfs.xfs keeps for itself on these images: the internal log, 64 MiB for every image
 * from the 300 MiB minimum up to ~128 GiB and about 1/2048 of the filesystem past that.
 * Measured here: 300/600/1024 MiB images give a 236/536/960 MiB filesystem (`df` size).
 */
export const XFS_LOG_BYTES = 64 * MIB;

/**
 * The image bytes a claim of `claimBytes` asks the volume manager for, so that the
 * filesystem (`df` in a pod) is at least the claim's size: the request plus the log. Claims
 * up to 236 MiB get the 300 MiB minimum image (a 236 MiB filesystem).
 */
export function imageRequestForClaim(claimBytes: number): number {
  return claimBytes + XFS_LOG_BYTES + Math.ceil(claimBytes / 2048);
}
