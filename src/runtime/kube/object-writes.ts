/**
 * The merge patches and Events the NFS commands write, as plain JSON on the shared pool
 * (json-request.ts). Every patch says it is a JSON merge patch; a `resourceVersion` in a
 * patch body is a precondition (patch.ts). Answers are returned as parsed, without model
 * classes: callers read only metadata (uid, resourceVersion) from them.
 */
import type { CoreV1Event, V1PersistentVolume, V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { CONTENT_TYPES, JsonRequester } from './json-request';
import { withResourceVersion } from './patch';
import type { MergePatch } from '../ports/nfs-api';

/** Field manager of our patches (what `kubectl get -o yaml --show-managed-fields` names). */
export const FIELD_MANAGER = 'cdk8s-storage-controller';

const manager = `fieldManager=${encodeURIComponent(FIELD_MANAGER)}`;
const claimPath = (namespace: string, name: string) =>
  `/api/v1/namespaces/${encodeURIComponent(namespace)}/persistentvolumeclaims/${encodeURIComponent(name)}`;

/** Merge-patches a claim (metadata, spec); with a `resourceVersion` as a precondition. */
export function patchClaim(
  api: JsonRequester, namespace: string, name: string, patch: MergePatch, resourceVersion?: string,
): Promise<V1PersistentVolumeClaim> {
  return api.request('PATCH', `${claimPath(namespace, name)}?${manager}`, withResourceVersion(patch, resourceVersion), CONTENT_TYPES.mergePatch);
}

/** Merge-patches a claim's `status` subresource; with a `resourceVersion` as a precondition. */
export function patchClaimStatus(
  api: JsonRequester, namespace: string, name: string, patch: MergePatch, resourceVersion?: string,
): Promise<V1PersistentVolumeClaim> {
  return api.request('PATCH', `${claimPath(namespace, name)}/status?${manager}`, withResourceVersion(patch, resourceVersion), CONTENT_TYPES.mergePatch);
}

/** Merge-patches a PV. */
export function patchVolume(api: JsonRequester, name: string, patch: MergePatch): Promise<V1PersistentVolume> {
  return api.request('PATCH', `/api/v1/persistentvolumes/${encodeURIComponent(name)}?${manager}`, patch, CONTENT_TYPES.mergePatch);
}

/** Creates an Event (core/v1) in `namespace`. */
export async function createEvent(api: JsonRequester, namespace: string, event: CoreV1Event): Promise<void> {
  await api.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, event);
}

/** Merge-patches an Event (a repeat's count and time). */
export async function patchEvent(api: JsonRequester, namespace: string, name: string, patch: MergePatch): Promise<void> {
  await api.request('PATCH', `/api/v1/namespaces/${encodeURIComponent(namespace)}/events/${encodeURIComponent(name)}`, patch, CONTENT_TYPES.mergePatch);
}
