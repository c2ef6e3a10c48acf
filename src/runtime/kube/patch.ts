/**
 * The patch calls the resizer and the usage reporter make, as a port (implemented in
 * client.ts). Every patch is a JSON merge patch: client-node would otherwise send the
 * JSON-Patch content type and the API server would refuse an object body.
 *
 * Optimistic concurrency: a `resourceVersion` in a patch body is a precondition; the API
 * server answers 409 Conflict when the object has changed since it was read. A merge patch
 * replaces lists whole (claim conditions), so every patch that writes a list carries the
 * resourceVersion of the object the list was computed from.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';

/** A JSON merge patch body. */
export type MergePatch = { metadata?: Record<string, unknown>; [key: string]: unknown };

export interface ClaimPatcher {
  /**
   * Merge-patches the claim's `status` subresource (metadata changes persist through it too).
   * With a `resourceVersion`, fails with 409 when the claim changed since.
   */
  patchClaimStatus(namespace: string, name: string, patch: MergePatch, resourceVersion?: string): Promise<V1PersistentVolumeClaim>;
  /** Merge-patches the claim itself (metadata, spec); with a `resourceVersion` as a precondition. */
  patchClaim(namespace: string, name: string, patch: MergePatch, resourceVersion?: string): Promise<V1PersistentVolumeClaim>;
  /** Merge-patches a PV. */
  patchVolume(name: string, patch: MergePatch): Promise<V1PersistentVolume>;
}

/** The patch with `metadata.resourceVersion` set (a precondition), or unchanged without one. */
export function withResourceVersion(patch: MergePatch, resourceVersion: string | undefined): MergePatch {
  if (!resourceVersion) return patch;
  return { ...patch, metadata: { ...(patch.metadata ?? {}), resourceVersion } };
}
