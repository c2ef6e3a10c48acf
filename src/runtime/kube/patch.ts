/**
 * Helpers for the merge patches client.ts sends (the ClaimPatcher port is in
 * ../ports/nfs-api.ts). A `resourceVersion` in a patch body is a precondition: the API
 * server answers 409 Conflict when the object has changed since it was read.
 */
import type { MergePatch } from '../ports/nfs-api';

/** The patch with `metadata.resourceVersion` set (a precondition), or unchanged without one. */
export function withResourceVersion(patch: MergePatch, resourceVersion: string | undefined): MergePatch {
  if (!resourceVersion) return patch;
  return { ...patch, metadata: { ...(patch.metadata ?? {}), resourceVersion } };
}
