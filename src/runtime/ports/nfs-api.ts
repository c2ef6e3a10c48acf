/**
 * What the NFS command and its reconcilers need from the API server, as narrow interfaces
 * (implemented by ../kube/client.ts; unit tests use an in-memory API).
 *
 * Patches: every patch is a JSON merge patch. Optimistic concurrency: a `resourceVersion`
 * in a patch body is a precondition; the API server answers 409 Conflict when the object
 * has changed since it was read. A merge patch replaces lists whole (claim conditions), so
 * every patch that writes a list carries the resourceVersion of the object the list was
 * computed from.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import type { EventPort } from './events';
import type { LeasePort } from './leases';
import type { ListWatchPort } from './list-watch';

/** A read of an informer's cache. */
export interface Lookup<T> {
  get(name: string, namespace?: string): T | undefined;
  list(): T[];
}

/** The API writes the reconciler makes. */
export interface VolumeWriter {
  /** Creates the PV; 'exists' when a PV of that name is already there (an earlier attempt made it). */
  createVolume(pv: V1PersistentVolume): Promise<'created' | 'exists'>;
  /** Deletes the PV if it still has this uid; 'gone' when it no longer exists. */
  deleteVolume(name: string, uid: string | undefined): Promise<'deleted' | 'gone'>;
}

/** A JSON merge patch body. */
export type MergePatch = { metadata?: Record<string, unknown>; [key: string]: unknown };

/** The patch calls the resizer and the usage reporter make. */
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

/** Everything the `nfs` command needs from the API server. */
export interface ClusterPorts {
  claims(): ListWatchPort<V1PersistentVolumeClaim>;
  volumes(): ListWatchPort<V1PersistentVolume>;
  storageClasses(): ListWatchPort<V1StorageClass>;
  volumeWriter(): VolumeWriter;
  claimPatcher(): ClaimPatcher;
  eventPort(): EventPort;
  leasePort(namespace: string, name: string): LeasePort;
}

/** What the `nfs-server` command needs besides: its own Service, whose cluster IP the PVs name. */
export interface ServerClusterPorts extends ClusterPorts {
  /** The Service's `spec.clusterIP`; undefined when the Service does not exist or has none (headless). */
  serviceClusterIP(namespace: string, name: string): Promise<string | undefined>;
}
