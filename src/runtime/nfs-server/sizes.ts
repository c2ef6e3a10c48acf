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
